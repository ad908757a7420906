"""Intermediate Generator: the warped appearance volume -> the Intermediate Style Pattern I_o.

The volume f_s warped by the dense flow (W(f_s, w), models/style_mapping.py) is flattened
over depth into a 2-D feature map, masked by the occlusion map, refined by residual
blocks and upsampled `len(widths)` times back to the input's size, then `extra_up`
more times by sub-pixel convolution (256 px in -> 512 px out in the full config). A
sigmoid gives the decoded image in [0, 1]. With `candidates` > 0, further channels give
softmax weights w_0..w_n per pixel that blend the decoded image with n candidate images
(models/style_mapping.py: the source image warped by the same flow, and by the
landmarks): I_o = w_0 decoded + sum_i w_i candidate_i (layers.blend). The network need
not redraw what only moves (hair, background) and spends its capacity on what the
sources do not show. `prior_logits` (one per weight, fixed) set where the blend starts:
zeros start uniform; a large last entry starts the map at its last candidate.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax

from stylehead_jax.models import layers


class IntermediateGenerator(nn.Module):
  features: int = 256  # of the 2-D map after the depth is flattened
  num_blocks: int = 6
  widths: Sequence[int] = (128, 64)  # one 2x Up block each (undoes the encoder's Downs)
  extra_up: int = 0  # further 2x sub-pixel upsamplings (output / input size)
  extra_width: int = 32
  candidates: int = 1  # images the decoded one is blended with
  prior_logits: Sequence[float] | None = None  # added to the blend logits (None: zeros)

  @nn.compact
  def __call__(self, warped: jax.Array, occlusion: jax.Array):
    """warped (B, D, h, w, C), occlusion (B, h, w, 1) -> the decoded image (B, H, W, 3) in
    [0, 1] and the blend weights (B, H, W, candidates + 1) (None without candidates)."""
    b, d, h, w, c = warped.shape
    x = warped.transpose(0, 2, 3, 1, 4).reshape(b, h, w, d * c)
    x = layers.conv(self.features, 3, name="from_volume")(x) * occlusion
    for i in range(self.num_blocks):
      x = layers.ResBlock(name=f"res_{i}")(x)
    for i, width in enumerate(self.widths):
      x = layers.Up(width, name=f"up_{i}")(x)
    for i in range(self.extra_up):
      x = layers.PixelShuffleUp(self.extra_width, name=f"subpixel_{i}")(x)
    return layers.image_head(x, self.candidates, self.prior_logits)
