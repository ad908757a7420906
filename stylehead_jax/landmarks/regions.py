"""Region label maps from landmarks, and the weight mask W of the style-preserving loss L_sp.

Labels: 0 background, 1 skin, 2 eyes, 3 mouth. W = REGION_WEIGHTS[label]: 0, 1, 3, 5
(the paper's weights for elsewhere, skin, eyes, mouth). The skin polygon is the jaw line
closed over the forehead: the brows lifted by FOREHEAD_LIFT of the brow-to-chin height.
"""

import cv2
import numpy as np

from stylehead_jax.landmarks import conventions as lmk

BACKGROUND, SKIN, EYES, MOUTH = 0, 1, 2, 3
REGION_NAMES = ("background", "skin", "eyes", "mouth")
REGION_WEIGHTS = np.array([0.0, 1.0, 3.0, 5.0], np.float32)
FOREHEAD_LIFT = 0.35
_SUBPIXEL_BITS = 4


def _poly(points: np.ndarray, scale: float) -> np.ndarray:
  return np.round(points[:, :2] * scale * (1 << _SUBPIXEL_BITS)).astype(np.int32)


def skin_outline(landmarks: np.ndarray) -> np.ndarray:
  """Closed face outline (jaw, then the forehead above the brows), (27, 2)."""
  landmarks = np.asarray(landmarks, np.float32)
  brows = landmarks[lmk.BROWS][::-1, :2]
  height = landmarks[lmk.CHIN, 1] - brows[:, 1].mean()
  forehead = brows - np.array([0.0, FOREHEAD_LIFT * height], np.float32)
  return np.concatenate([landmarks[lmk.JAW, :2], forehead], axis=0)


def region_map(landmarks: np.ndarray, size: int, source_size: int | None = None) -> np.ndarray:
  """Label map (size, size) uint8 for one frame of landmarks.

  Args:
    landmarks: (68, 2|3) in pixels of a `source_size` crop (default: `size`).
    size: output resolution.
    source_size: resolution the landmarks are expressed in.
  """
  scale = size / (source_size or size)
  out = np.zeros((size, size), np.uint8)
  landmarks = np.asarray(landmarks, np.float32)
  cv2.fillPoly(out, [_poly(skin_outline(landmarks), scale)], SKIN, cv2.LINE_8, _SUBPIXEL_BITS)
  for eye in (lmk.LEFT_EYE, lmk.RIGHT_EYE):
    cv2.fillPoly(out, [_poly(landmarks[eye], scale)], EYES, cv2.LINE_8, _SUBPIXEL_BITS)
  cv2.fillPoly(out, [_poly(landmarks[lmk.OUTER_LIPS], scale)], MOUTH, cv2.LINE_8,
               _SUBPIXEL_BITS)
  return out


def polygon_mask(points: np.ndarray, height: int, width: int) -> np.ndarray:
  """(height, width) bool: the polygon of `points` (n, 2|3, in pixels) filled as
  `region_map` fills its regions (sub-pixel vertices)."""
  out = np.zeros((height, width), np.uint8)
  cv2.fillPoly(out, [_poly(np.asarray(points, np.float32), 1.0)], 1, cv2.LINE_8,
               _SUBPIXEL_BITS)
  return out.astype(bool)


def region_maps(track: np.ndarray, size: int, source_size: int | None = None) -> np.ndarray:
  """Label maps (T, size, size) uint8 for a landmark track (T, 68, 2|3)."""
  return np.stack([region_map(frame, size, source_size) for frame in track])


def weight_mask(labels: np.ndarray) -> np.ndarray:
  """The L_sp weight W (same shape as `labels`, float32): 0, 1, 3, 5 by region."""
  return REGION_WEIGHTS[np.asarray(labels)]
