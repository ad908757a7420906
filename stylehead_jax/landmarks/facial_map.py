"""The facial map: landmark polylines rasterised at any resolution.

This is the Style-Aware Generator's motion input: each group of POLYLINES is drawn in its
own colour (PART_COLORS), antialiased, in the fixed order of `conventions.POLYLINES`, so
later groups (lips) are drawn over earlier ones (jaw).
"""

import cv2
import numpy as np

from stylehead_jax.landmarks import conventions as lmk

PART_COLORS = {
    "jaw": (255, 255, 255), "left_brow": (255, 160, 0), "right_brow": (255, 160, 0),
    "nose_bridge": (0, 200, 255), "nose_bottom": (0, 200, 255),
    "left_eye": (0, 255, 0), "right_eye": (0, 255, 0),
    "outer_lips": (255, 0, 96), "inner_lips": (255, 96, 255),
}
_SUBPIXEL_BITS = 4


def line_thickness(size: int) -> int:
  """Polyline thickness in pixels: 1 up to 256 px, growing linearly above."""
  return max(1, round(size / 256))


def render_facial_map(landmarks: np.ndarray, size: int,
                      source_size: int | None = None) -> np.ndarray:
  """Renders one frame's landmarks (68, 2|3) as a (size, size, 3) uint8 facial map.

  Args:
    landmarks: in pixels of a `source_size` crop (default: `size`).
    size: output resolution.
    source_size: resolution the landmarks are expressed in.
  """
  scale = size / (source_size or size) * (1 << _SUBPIXEL_BITS)
  out = np.zeros((size, size, 3), np.uint8)
  landmarks = np.asarray(landmarks, np.float32)
  for group, closed in lmk.POLYLINES:
    pts = np.round(landmarks[lmk.GROUPS[group], :2] * scale).astype(np.int32)
    cv2.polylines(out, [pts], closed, PART_COLORS[group], line_thickness(size), cv2.LINE_AA,
                  _SUBPIXEL_BITS)
  return out


def render_facial_maps(track: np.ndarray, size: int, source_size: int | None = None):
  """Facial maps (T, size, size, 3) uint8 for a track (T, 68, 2|3)."""
  return np.stack([render_facial_map(frame, size, source_size) for frame in track])
