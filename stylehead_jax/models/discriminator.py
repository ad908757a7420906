"""Multi-scale PatchGAN discriminator (pix2pixHD): the same patch network at `scales`
resolutions (the image, then halved by average pooling), each returning its patch logits
and its intermediate features (for the feature-matching loss, losses.feature_matching).
An optional condition (say a facial map) is concatenated with the image's channels."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from stylehead_jax.models import layers


class PatchDiscriminator(nn.Module):
  """Strided 4 x 4 convolutions with leaky ReLUs and GroupNorm -> a map of patch logits."""
  widths: Sequence[int] = (64, 128, 256, 512)

  @nn.compact
  def __call__(self, x) -> tuple[jax.Array, list[jax.Array]]:
    features = []
    for i, width in enumerate(self.widths):
      x = layers.conv(width, 4, stride=2 if i < len(self.widths) - 1 else 1, name=f"conv_{i}")(x)
      if i:
        x = layers.norm(width, f"norm_{i}")(x)
      x = nn.leaky_relu(x, 0.2)
      features.append(x)
    return layers.conv(1, 4, name="logits", head=True)(x), features


class MultiScaleDiscriminator(nn.Module):
  scales: int = 2
  widths: Sequence[int] = (64, 128, 256, 512)

  @nn.compact
  def __call__(self, image: jax.Array, condition: jax.Array | None = None):
    """image (B, H, W, 3) in [0, 1] [, condition (B, H, W, c)] -> [(logits, features)]
    per scale, finest first."""
    x = image * 2 - 1
    if condition is not None:
      x = jnp.concatenate([x, condition], -1)
    out = []
    for s in range(self.scales):
      out.append(PatchDiscriminator(self.widths, name=f"scale_{s}")(x))
      x = nn.avg_pool(x, (3, 3), strides=(2, 2), padding="SAME")
    return out
