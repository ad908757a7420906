"""Every metric of a generated track against a reference (and a style reference), in one
dict: what eval/metrics.py prints and stylehead_jax.evaluate writes."""

from __future__ import annotations

import numpy as np

from stylehead_jax.metrics import distances
from stylehead_jax.metrics import mouth
from stylehead_jax.metrics import sharpness
from stylehead_jax.metrics import style

# Name, direction and unit of each figure, in the order of the printed table.
UNITS = {
    "lmd": ("lower", "px, summed over 20 mouth points"),
    "d_l": ("lower", "px"),
    "d_v": ("lower", "px / frame"),
    "d_a": ("lower", "px^2"),
    "mouth_open_p95_ratio": ("1", "generated / reference (metrics/mouth.py)"),
    "mouth_open_share_ratio": ("1", "generated / reference, frames open > 0.12 IOD"),
    "mouth_opening_r": ("higher", "Pearson r of the inner-mouth openings"),
    "sld": ("lower", "% IOD (clean) | x-extent x 100 (aioz)"),
    "slv": ("lower", "% IOD / frame (clean) | x-extent x 100 (aioz)"),
    "smd": ("lower", "% IOD^2 (clean) | px (aioz)"),
    "cpbd": ("higher", "[0, 1]"),
    "emotion_consistency": ("higher", "fraction of frames (metrics/emotion.py)"),
}


def compare(generated, reference, style_reference=None, generated_frames=None,
            settings: style.StyleSettings = style.StyleSettings(),
            progress: bool = False) -> dict:
  """All metrics. Tracks (T, 68, 2|3) in pixels; `generated_frames` (T, H, W, 3) for CPBD.

  Frame-aligned metrics (LMD, D-L, D-V, D-A, the mouth's) use both tracks trimmed to the
  shorter;
  the style metrics compare the generated track with `style_reference` (the reference
  when None), each cut into its own windows (see metrics.style).
  """
  generated, reference = np.asarray(generated), np.asarray(reference)
  g, r = distances.trim(generated, reference)
  out = {
      "frames_compared": len(g),
      "trimmed": len(generated) != len(reference),
      "lmd": distances.lmd(g, r),
      "d_l": distances.landmark_distance(g, r),
      "d_v": distances.velocity_distance(g, r),
      "d_a": distances.area_difference(g, r),
      **mouth.measures(g, r),
  }
  target = reference if style_reference is None else np.asarray(style_reference)
  out.update(style.style_metrics(target, generated, settings))
  if generated_frames is not None:
    out["cpbd"] = sharpness.mean_cpbd(generated_frames, progress="CPBD" if progress else None)
  return out
