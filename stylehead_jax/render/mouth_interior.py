"""A drawn mouth interior for the warp renderer: teeth and the dark of an open mouth.

Piecewise-affine warping opens a closed mouth by stretching the lips and the line between
them (render/warp.py): the gap fills with lip colour, never with teeth or the cavity, and
a face tracker reads the pink gap as a mouth barely open. Where a frame's inner lips open
wider than the portrait's, this draws inside the inner-lip polygon (landmarks 60-67):
  - the cavity, the lips' median colour times CAVITY, darker under the upper teeth;
  - a row of upper teeth under the upper inner lip, UPPER_TEETH of the gap high (at most
    UPPER_TEETH_MAX of the mouth's width), and a lower row of LOWER_TEETH (at most
    LOWER_TEETH_MAX), TEETH times the lips' luma, near white, TOOTH of the mouth's width
    apart, shaded towards the corners and fading into the cavity there.
TEETH and CAVITY are the medians, over the real clips' train split (data_prep/
real_clips.py) on frames open above metrics/mouth.OPEN_THRESHOLD, of the inner mouth's
brightest and darkest tenth of luma over the lips' median (metrics/mouth.interior), so
the interior takes its brightness and the cavity its hue from the portrait's own lips.
It is drawn with full weight once the gap exceeds the portrait's by RAMP eye distances,
and not at all where the portrait's own mouth is open (above SOURCE_OPEN) or shows
teeth: the warp then stretches a real interior. No training and no weights: the warp's
baseline with a mouth, not a learned renderer.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import interpolate

from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.landmarks import regions
from stylehead_jax.metrics import mouth
from stylehead_jax.metrics import sharpness

TEETH, CAVITY = 1.48, 0.19  # luma over the lips' median luma (module doc)
TEETH_TINT = np.array([1.0, 0.98, 0.94])  # teeth are near white, a little warm
BLUR = 0.015  # of the mouth's width: the drawn interior is as soft as the photo
UPPER_TEETH, UPPER_TEETH_MAX = 0.35, 0.14  # of the gap's height; of the mouth's width
LOWER_TEETH, LOWER_TEETH_MAX = 0.12, 0.05
TOOTH = 0.12  # a tooth's width over the mouth's; the gaps between them darken by GAP_DARK
GAP_DARK = 0.25
TEETH_SPAN = 0.8  # teeth reach this share of the half-width from the middle, then fade
RAMP = 0.06  # eye distances of opening beyond the portrait's to full weight
SOURCE_OPEN = 0.1  # eye distances: a portrait open this wide keeps its own interior,
# as does one open SOURCE_TEETH_OPEN whose inner mouth's brightest tenth is SOURCE_TEETH
# over its lips (teeth; a narrower gap's brightest pixels are the lips' own highlights).
SOURCE_TEETH_OPEN, SOURCE_TEETH = 0.05, 1.3
_UPPER = np.array([0, 1, 2, 3, 4])  # of the inner lips (60-67): left corner to right
_LOWER = np.array([0, 7, 6, 5, 4])


def lip_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
  """The median RGB (3,) of the lips (outer minus inner polygon) of an image (H, W, 3)."""
  points = np.asarray(landmarks)[:, :2]
  h, w = image.shape[:2]
  lips = (regions.polygon_mask(points[lmk.OUTER_LIPS], h, w)
          & ~regions.polygon_mask(points[lmk.INNER_LIPS], h, w))
  if lips.sum() < mouth.MIN_PIXELS:
    return np.array([150.0, 90.0, 90.0])  # lips too small to see: a neutral lip colour
  return np.median(image[lips].astype(np.float64), 0)


def _lip_line(points: np.ndarray, x: np.ndarray) -> np.ndarray:
  """A lip's inner edge at x: the monotone cubic through its landmarks (the polygon's
  corners would show as corners of the drawn mouth), held flat beyond its ends."""
  order = np.argsort(points[:, 0], kind="stable")
  xs, ys = points[order, 0], points[order, 1]
  keep = np.concatenate([[True], np.diff(xs) > 1e-3])
  xs, ys = xs[keep], ys[keep]
  if len(xs) < 2:
    return np.full_like(x, ys.mean())
  return interpolate.PchipInterpolator(xs, ys)(np.clip(x, xs[0], xs[-1]))


def _interior(points: np.ndarray, x: np.ndarray, y: np.ndarray, lips: np.ndarray,
              luma: float):
  """The interior's RGB (H, W, 3) and coverage (H, W) at pixel centres x (W,), y (H,) of
  one frame's inner lips (8, 2), for lips of colour `lips` (3,) and luma `luma`."""
  upper, lower = _lip_line(points[_UPPER], x), _lip_line(points[_LOWER], x)
  left, right = points[0, 0], points[4, 0]
  width = max(right - left, 1.0)
  lower = np.maximum(lower, upper)
  gap = lower - upper
  middle, half = (left + right) / 2, width / 2
  across = np.clip(np.abs(x - middle) / half, 0, 1)  # 0 in the middle, 1 at a corner
  rows = y[:, None]
  inside = (np.clip(rows - upper + 0.5, 0, 1) * np.clip(lower - rows + 0.5, 0, 1)
            * np.clip(half - np.abs(x - middle) + 0.5, 0, 1))
  top = upper + np.minimum(UPPER_TEETH * gap, UPPER_TEETH_MAX * width)
  bottom = lower - np.minimum(LOWER_TEETH * gap, LOWER_TEETH_MAX * width)
  # Soft edges, a pixel wide: the upper row's lower edge, the lower row's upper edge.
  teeth = np.maximum(np.clip(top - rows + 0.5, 0, 1), np.clip(rows - bottom + 0.5, 0, 1))
  teeth *= np.clip((1.0 - across) / (1.0 - TEETH_SPAN), 0.0, 1.0)
  teeth_rgb = np.minimum(TEETH * luma * TEETH_TINT, 255.0)
  phase = (x - middle) / (TOOTH * width)  # a gap between the two front teeth at 0
  gaps = 1.0 - GAP_DARK * np.clip(1.0 - np.abs(phase - np.round(phase)) / 0.15, 0, 1)
  teeth_rgb = teeth_rgb[None, None] * ((1.0 - 0.35 * across ** 2) * gaps)[None, :, None]
  depth = np.clip((rows - upper) / np.maximum(gap, 1.0), 0, 1)  # 0 upper lip .. 1 lower
  cavity_rgb = (CAVITY * lips)[None, None] * (0.8 + 0.6 * depth ** 2)[..., None]
  colour = teeth[..., None] * teeth_rgb + (1 - teeth[..., None]) * cavity_rgb
  return colour, inside


class Interior:
  """The interior drawn on warps of one portrait (H, W, 3) with its landmarks (68, 2+):
  what it needs of the portrait (its opening, whether it keeps its own interior, its lips'
  colour) measured once, for every chunk of frames after."""

  def __init__(self, portrait: np.ndarray, portrait_landmarks: np.ndarray):
    self.opening = float(mouth.opening(np.asarray(portrait_landmarks)[None])[0])
    teeth, _ = mouth.interior(portrait, portrait_landmarks)  # NaN (no inner mouth): False
    self.keeps_own = (self.opening >= SOURCE_OPEN
                      or (self.opening >= SOURCE_TEETH_OPEN and teeth >= SOURCE_TEETH))
    self.lips = lip_colour(portrait, portrait_landmarks)
    self.luma = float(sharpness.grey(self.lips.astype(np.uint8)[None, None])[0, 0])

  def weights(self, landmarks: np.ndarray) -> np.ndarray:
    """(T,) how much of the interior each frame of `landmarks` (T, 68, 2+) shows (module
    doc), in [0, 1]: none where the portrait keeps its own."""
    if self.keeps_own:
      return np.zeros(len(landmarks))
    return np.clip((mouth.opening(landmarks) - self.opening) / RAMP, 0.0, 1.0)

  def draw(self, frames: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Frames (T, H, W, 3) uint8 of the portrait warped to `landmarks` (T, 68, 2+) with
    the interior drawn inside their inner lips (module doc); a copy."""
    out = np.array(frames, copy=True)
    amounts = self.weights(landmarks)
    h, w = out.shape[1:3]
    for t in np.flatnonzero(amounts > 0):
      points = np.asarray(landmarks[t], np.float64)[lmk.INNER_LIPS, :2]
      x0, y0 = np.maximum(np.floor(points.min(0)).astype(int) - 1, 0)
      x1, y1 = np.minimum(np.ceil(points.max(0)).astype(int) + 2, (w, h))
      if x1 - x0 < 2 or y1 - y0 < 2:
        continue
      colour, inside = _interior(points, np.arange(x0, x1, dtype=np.float64),
                                 np.arange(y0, y1, dtype=np.float64), self.lips, self.luma)
      colour = cv2.GaussianBlur(colour, (0, 0), BLUR * (x1 - x0))
      alpha = (inside * amounts[t])[..., None]
      box = out[t, y0:y1, x0:x1].astype(np.float64)
      out[t, y0:y1, x0:x1] = np.clip(alpha * colour + (1 - alpha) * box + 0.5, 0, 255)
    return out
