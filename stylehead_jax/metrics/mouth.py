"""Mouth amplitude: does a generated mouth open as wide and as often as the truth's?

Frame-aligned distances (LMD) and the correlation of the opening say when a mouth moves,
not how far: a mouth that opens a tenth as wide at the right moments scores a high r. These
measures compare the distribution of the opening over a clip instead.

The opening is the inner-mouth gap |p62 - p66| (the middle of the inner lips, 2-D) over the
eye distance |p36 - p45|, the figure ../shared/data/real_more/SOURCES.md measures its clips
with; a mouth counts as open above OPEN_THRESHOLD eye distances (teeth or the cavity show).

Per clip, generated against truth:
- mouth_open_median_ratio, mouth_open_p95_ratio: the median and the 95th percentile of the
  opening over the clip, generated / truth;
- mouth_open_share_ratio: the share of frames open above OPEN_THRESHOLD, generated / truth
  (NaN where the truth never opens that far: such a clip counts by its p95 ratio);
- mouth_opening_r: the Pearson r of the two openings frame by frame;
- the figures themselves: mouth_open_p95, mouth_open_share (generated) and
  mouth_open_truth_p95, mouth_open_truth_share.

What an open mouth shows (`interior_measures`, on frames): inside the inner-lip polygon
(60-67) of a frame, the mean luma of its brightest tenth of pixels over the median luma of
the lips (the outer-lip polygon 48-59 less the inner one) is `teeth`, of its darkest tenth
`cavity`. A renderer that only stretches the closed lips gives both near 1 (the interior is
lip-coloured); teeth are brighter than the lips, the cavity darker. Over the frames where
the truth is open above OPEN_THRESHOLD: mouth_teeth_ratio and mouth_cavity_ratio, the
medians of the generated frames' figures over the truth's (NaN where the truth never
opens), and the figures themselves (mouth_teeth, mouth_cavity, mouth_truth_teeth,
mouth_truth_cavity).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.landmarks import regions
from stylehead_jax.metrics import sharpness
from stylehead_jax.metrics import sync

UPPER, LOWER = 62, 66  # inner lips, middle
OPEN_THRESHOLD = 0.12  # eye distances
MIN_TRUTH = 1e-3  # eye distances: a truth figure below this gives NaN, not a ratio
DECILE = 0.1  # the brightest and darkest tenth of the mouth's interior
MIN_PIXELS = 10  # fewer pixels inside the inner lips (or in the lips): no figure


def opening(landmarks):
  """(..., T) inner-mouth opening in eye distances (module doc) of (..., T, 68, 2|3)
  landmarks: float64 numpy, or for a jax array (traced: style_transfer's L_keep) a jax
  array."""
  if isinstance(landmarks, jax.Array):
    xp = jnp
  else:
    xp, landmarks = np, np.asarray(landmarks, np.float64)
  gap = xp.linalg.norm(landmarks[..., LOWER, :2] - landmarks[..., UPPER, :2], axis=-1)
  return gap / xp.maximum(lmk.interocular(landmarks), 1e-6)


def width(landmarks) -> np.ndarray:
  """(..., T) the mouth's width, corner to corner |p48 - p54| (2-D), in eye distances, of
  (..., T, 68, 2|3) landmarks: how wide the lips are drawn (a 10 % wider mouth moves the
  dlib identity descriptor by 0.1-0.17 on the real portraits: style/amplitude.py)."""
  landmarks = np.asarray(landmarks, np.float64)
  span = np.linalg.norm(landmarks[..., lmk.RIGHT_MOUTH_CORNER, :2]
                        - landmarks[..., lmk.LEFT_MOUTH_CORNER, :2], axis=-1)
  return span / np.maximum(lmk.interocular(landmarks), 1e-6)


def _figures(o: np.ndarray) -> tuple[float, float, float]:
  return float(np.median(o)), float(np.percentile(o, 95)), float((o > OPEN_THRESHOLD).mean())


def amplitude(landmarks) -> dict[str, float]:
  """One track's (T, 68, 2|3) opening: its median, 95th percentile and share of frames
  open above OPEN_THRESHOLD, the figures `measures` compares (a video without a truth)."""
  median, p95, share = _figures(opening(landmarks))
  return {"mouth_open_median": median, "mouth_open_p95": p95, "mouth_open_share": share}


def _ratio(generated: float, truth: float, floor: float = MIN_TRUTH) -> float:
  return float(generated / truth) if truth > floor else float("nan")


def measures(generated, truth) -> dict[str, float]:
  """The module doc's figures of generated against truth landmarks (T, 68, 2|3) of one
  clip; the two tracks are cut to the shorter."""
  g, t = opening(generated), opening(truth)
  n = min(len(g), len(t))
  if n < 2:
    raise ValueError(f"mouth measures need at least 2 frames, got {n}")
  g, t = g[:n], t[:n]
  (g_median, g_p95, g_share), (t_median, t_p95, t_share) = _figures(g), _figures(t)
  return {"mouth_open_median_ratio": _ratio(g_median, t_median),
          "mouth_open_p95_ratio": _ratio(g_p95, t_p95),
          "mouth_open_share_ratio": _ratio(g_share, t_share, floor=0.0),
          "mouth_opening_r": sync.pearson(g, t),
          "mouth_open_p95": g_p95, "mouth_open_share": g_share,
          "mouth_open_truth_p95": t_p95, "mouth_open_truth_share": t_share}


def interior(frame, landmarks) -> tuple[float, float]:
  """(teeth, cavity) of one RGB frame (H, W, 3) with its landmarks (68, 2|3) in its
  pixels (module doc); NaNs where the inner lips or the lips hold under MIN_PIXELS."""
  luma = sharpness.grey(frame)
  points = np.asarray(landmarks)
  inner = regions.polygon_mask(points[lmk.INNER_LIPS], *luma.shape)
  lips = regions.polygon_mask(points[lmk.OUTER_LIPS], *luma.shape) & ~inner
  if inner.sum() < MIN_PIXELS or lips.sum() < MIN_PIXELS:
    return float("nan"), float("nan")
  inside = np.sort(luma[inner])
  k = max(1, int(round(DECILE * len(inside))))
  lip = max(float(np.median(luma[lips])), 1.0)
  return float(inside[-k:].mean() / lip), float(inside[:k].mean() / lip)


def interior_measures(frames, landmarks, truth_frames, truth_landmarks) -> dict[str, float]:
  """Teeth and cavity (module doc) of generated frames (T, H, W, 3) with the landmarks that
  drove them against the truth's, over the frames where the truth is open; both cut to
  the shorter."""
  n = min(len(frames), len(truth_frames))
  open_frames = np.flatnonzero(opening(np.asarray(truth_landmarks)[:n]) > OPEN_THRESHOLD)
  if not len(open_frames):
    return dict.fromkeys(("mouth_teeth_ratio", "mouth_cavity_ratio", "mouth_teeth",
                          "mouth_cavity", "mouth_truth_teeth", "mouth_truth_cavity"),
                         float("nan")) | {"mouth_open_frames": 0}
  gen = np.array([interior(frames[t], landmarks[t]) for t in open_frames])
  truth = np.array([interior(truth_frames[t], truth_landmarks[t]) for t in open_frames])
  (teeth, cavity), (t_teeth, t_cavity) = np.nanmedian(gen, 0), np.nanmedian(truth, 0)
  return {"mouth_teeth_ratio": _ratio(teeth, t_teeth),
          "mouth_cavity_ratio": _ratio(cavity, t_cavity),
          "mouth_teeth": float(teeth), "mouth_cavity": float(cavity),
          "mouth_truth_teeth": float(t_teeth), "mouth_truth_cavity": float(t_cavity),
          "mouth_open_frames": len(open_frames)}
