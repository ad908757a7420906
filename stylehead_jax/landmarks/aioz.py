"""Landmarks as the paper's released metric code measures them (the `aioz` protocol of
stylehead_jax/metrics/style.py): whole frames resampled to 29.97 fps, resized to 512 x 512,
dlib without smoothing."""

from __future__ import annotations

import cv2
import numpy as np

from stylehead_jax import media
from stylehead_jax.landmarks import tracking

FPS = 29.97
RESOLUTION = 512  # the released scripts' resize, not our crop size (media.CROP_SIZE)


def track(frames: np.ndarray, fps: float, backend, progress: str | None = None) -> np.ndarray:
  """Landmarks of `frames` (at `fps`) as the released metric code measures them: frames
  resampled to 29.97 fps (sample-and-hold), each whole frame resized to 512 x 512
  (INTER_AREA), dlib run on it without smoothing; frames without a face get their
  neighbours' interpolation."""
  idx = media.resample_indices(len(frames), fps, FPS)
  size = (RESOLUTION, RESOLUTION)
  resized = np.stack([cv2.resize(frames[i], size, interpolation=cv2.INTER_AREA) for i in idx])
  raw, detected = tracking.detect_track(resized, backend, progress)
  if not detected.any():
    raise ValueError("no face in any frame")
  return tracking.interpolate(raw, detected)
