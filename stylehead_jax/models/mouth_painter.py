"""Mouth Painter: the warped portrait's mouth crop -> the mouth drawn at the frame's size.

Ours, not the paper's (Real faces issue: the mouth at native resolution over the warp).
Piecewise-affine warping (render/warp.py) keeps the portrait's pixels, so its identity
and sharpness, but opens a closed mouth by stretching the lips: no teeth, no cavity. The
painter sees a crop around the mouth of the warped frame, the same crop around the
portrait's own mouth (its lips, its teeth where they show) and masks of the lips'
polygons, and draws the crop again: a U-Net (layers.Hourglass) whose decoded image is
blended with the warped crop by per-pixel weights (layers.image_head), which start at
the warp (`prior_logits`), so that it redraws only what the warp cannot show. Fully
convolutional: it runs on crops of any side divisible by 2^len(widths), at the pixels of
the frame it draws on (render/mouth_painter.py crops, composites and pastes).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from stylehead_jax.models import layers


class MouthPainter(nn.Module):
  stem: int = 24
  widths: Sequence[int] = (24, 48, 96)  # the Hourglass's Down blocks
  prior_logits: Sequence[float] = (0.0, 2.0)  # decoded, warped: start near the warp

  @nn.compact
  def __call__(self, warped: jax.Array, source: jax.Array, masks: jax.Array) -> dict:
    """warped, source (B, C, C, 3) in [0, 1], masks (B, C, C, M) -> {"image": the drawn
    crop (B, C, C, 3), "decoded": the network's own image, "weights" (B, C, C, 2): the
    decoded image's and the warped crop's shares}."""
    x = jnp.concatenate([warped, source, masks], -1)
    x = nn.relu(layers.norm(self.stem, "stem_norm")(layers.conv(self.stem, 7, name="stem")(x)))
    x = layers.Hourglass(tuple(self.widths), name="hourglass")(x)
    x = nn.relu(layers.norm(self.stem, "out_norm")(layers.conv(self.stem, name="out")(x)))
    decoded, weights = layers.image_head(x, candidates=1, prior_logits=self.prior_logits)
    return {"image": layers.blend(decoded, weights, [warped]), "decoded": decoded,
            "weights": weights}


def make(config) -> MouthPainter:
  """The painter of a run's config (config.model: stem, widths, prior_logits)."""
  m = config.model
  return MouthPainter(stem=m.stem, widths=tuple(m.widths), prior_logits=tuple(m.prior_logits))
