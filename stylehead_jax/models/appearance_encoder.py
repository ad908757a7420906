"""Appearance encoder: the source portrait I_s -> a 3-D feature volume f_s (face-vid2vid).

2-D convolutions halve the image `len(widths)` times; a 1 x 1 convolution then gives
depth x channels features per cell, read as a (depth, h, w, channels) volume that 3-D
residual blocks refine. The dense-motion network (models/dense_motion.py) warps this
volume from the source's keypoints C_k to the reference's C̄_k.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax

from stylehead_jax.models import layers


class AppearanceEncoder(nn.Module):
  widths: Sequence[int] = (128, 256)  # one 2x Down block each
  depth: int = 16
  channels: int = 32  # per depth slice of the volume
  num_blocks: int = 6  # 3-D residual blocks

  @nn.compact
  def __call__(self, image: jax.Array) -> jax.Array:
    """image (B, H, W, 3) in [0, 1] -> f_s (B, depth, H / 2^n, W / 2^n, channels)."""
    x = layers.conv(self.widths[0] // 2, 7, name="stem")(image)
    for i, width in enumerate(self.widths):
      x = layers.Down(width, name=f"down_{i}")(x)
    x = layers.conv(self.depth * self.channels, 1, name="to_volume")(x)
    b, h, w, _ = x.shape
    x = x.reshape(b, h, w, self.depth, self.channels).transpose(0, 3, 1, 2, 4)
    for i in range(self.num_blocks):
      x = layers.ResBlock(dims=3, name=f"res_{i}")(x)
    return x
