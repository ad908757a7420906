"""Style-side tools: style references (references), their key motion templates
(templates), their amplitude given to generated motion (amplitude), and manifold
projection of audio features (manifold)."""
