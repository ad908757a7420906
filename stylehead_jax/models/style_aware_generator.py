"""Style-Aware Generator: the facial map of a frame and the 4 ISP images -> the frame I'.

Inputs at the model's input size, concatenated along channels: the facial map
(landmarks/facial_map: the frame's landmark polylines, phi_mg's at inference), the four
Intermediate Style Patterns (I_s in the style reference's key poses None/M/R/O,
models/style_mapping.py) and, as `candidates`, further images (frames.py: I_s warped to
the frame's landmarks). An encoder-decoder with skips (Live Speech Portraits'
image-to-image network with candidate images; GroupNorm, no batch statistics): `widths`
Down blocks, `num_blocks` residual blocks, as many Up blocks each concatenating its skip,
then `extra_up` sub-pixel 2x upsamplings to the output size. A sigmoid gives the decoded
image; with candidates, softmax weights per pixel blend it with them (layers.blend,
the Intermediate Generator's rule), so what only moves need not be redrawn.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from stylehead_jax.models import layers
from stylehead_jax.render import sampling


class StyleAwareGenerator(nn.Module):
  widths: Sequence[int] = (64, 128, 256, 512)
  num_blocks: int = 6
  extra_up: int = 0  # output size / input size = 2^extra_up
  extra_width: int = 32
  candidates: int = 0  # images blended with the decoded one
  prior_logits: Sequence[float] | None = None  # layers.blend_weights

  @nn.compact
  def __call__(self, facial_map: jax.Array, isps: jax.Array, candidates=()):
    """facial_map (B, H, W, 3), isps (B, 4, H, W, 3), `candidates` images (B, H', W', 3)
    at the output size (H' = H 2^extra_up), all in [0, 1] -> {"image": I' (B, H', W', 3),
    "weights" (B, H', W', 1 + candidates) or None}."""
    if len(candidates) != self.candidates:
      raise ValueError(f"the generator blends {self.candidates} candidates, got "
                       f"{len(candidates)}")
    b, n, h, w, c = isps.shape
    x = jnp.concatenate([facial_map, isps.transpose(0, 2, 3, 1, 4).reshape(b, h, w, n * c)]
                        + [sampling.resize(i, h) for i in candidates], -1) * 2 - 1
    x = nn.relu(layers.norm(self.widths[0], "stem_norm")(
        layers.conv(self.widths[0], 7, name="stem")(x)))
    skips = []
    for i, width in enumerate(self.widths[1:]):
      skips.append(x)
      x = layers.Down(width, name=f"down_{i}")(x)
    for i in range(self.num_blocks):
      x = layers.ResBlock(name=f"res_{i}")(x)
    for i, width in reversed(list(enumerate(self.widths[:-1]))):
      x = layers.Up(width, name=f"up_{i}")(x)
      x = jnp.concatenate([x, skips[i]], -1)
    for i in range(self.extra_up):
      x = layers.PixelShuffleUp(self.extra_width, name=f"subpixel_{i}")(x)
    decoded, weights = layers.image_head(x, self.candidates, self.prior_logits)
    image = decoded if weights is None else layers.blend(decoded, weights, candidates)
    return {"image": image, "weights": weights}

