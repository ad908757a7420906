"""Style-side tools: manifold projection of audio features (and, later, key motion
templates)."""
