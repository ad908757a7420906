"""Pixels from geometry: linear sampling of images and feature volumes (sampling.py) and
the training-free piecewise-affine renderer (warp.py)."""
