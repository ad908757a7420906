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
"""

from __future__ import annotations

import numpy as np

from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.metrics import sync

UPPER, LOWER = 62, 66  # inner lips, middle
OPEN_THRESHOLD = 0.12  # eye distances
MIN_TRUTH = 1e-3  # eye distances: a truth figure below this gives NaN, not a ratio


def opening(landmarks) -> np.ndarray:
  """(T,) inner-mouth opening in eye distances (module doc) of (T, 68, 2|3) landmarks."""
  landmarks = np.asarray(landmarks, np.float64)
  gap = np.linalg.norm(landmarks[..., LOWER, :2] - landmarks[..., UPPER, :2], axis=-1)
  return gap / np.maximum(lmk.interocular(landmarks), 1e-6)


def _figures(o: np.ndarray) -> tuple[float, float, float]:
  return float(np.median(o)), float(np.percentile(o, 95)), float((o > OPEN_THRESHOLD).mean())


def _ratio(generated: float, truth: float, floor: float = MIN_TRUTH) -> float:
  return generated / truth if truth > floor else float("nan")


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
