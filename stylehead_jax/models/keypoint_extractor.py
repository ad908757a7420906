"""Keypoint Extractor: a portrait I -> canonical 3-D keypoints c_k (K x 3).

c_k carries the identity's geometry only (pose and expression are the Pose-Expression
network's, models/pose_expression.py): equations (1) and (2) (models/style_mapping.py)
pose the source's c_k twice, with the source's and with the reference's pose.

As face-vid2vid: an encoder turns I into a feature map of `depth` x K channels per cell,
read as K heatmaps over a (depth, h, w) volume; a softmax over each volume and the
expectation of the cell coordinates give c_k in [-1, 1]^3 (x, y as the image, z along
the depth). Expectations are smooth in the image, which the equivariance loss needs.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from stylehead_jax.models import layers
from stylehead_jax.render import sampling


class KeypointExtractor(nn.Module):
  num_keypoints: int = 15
  widths: Sequence[int] = (32, 64, 128, 256)  # one 2x Down block each
  depth: int = 16  # heatmap depth bins
  temperature: float = 0.1  # softmax temperature of the heatmaps

  @nn.compact
  def __call__(self, image: jax.Array) -> jax.Array:
    """image (B, H, W, 3) in [0, 1] -> c_k (B, K, 3)."""
    x = layers.conv(self.widths[0], 7, name="stem")(image)
    for i, width in enumerate(self.widths):
      x = layers.Down(width, name=f"down_{i}")(x)
      x = layers.ResBlock(name=f"res_{i}")(x)
    b, h, w, _ = x.shape
    logits = layers.conv(self.num_keypoints * self.depth, 3, name="heatmaps", head=True)(x)
    logits = logits.reshape(b, h, w, self.depth, self.num_keypoints).transpose(0, 3, 1, 2, 4)
    heat = jax.nn.softmax(logits.reshape(b, -1, self.num_keypoints) / self.temperature, 1)
    grid = sampling.identity_grid((self.depth, h, w)).reshape(-1, 3)  # (x, y, z)
    return jnp.einsum("bnk,nc->bkc", heat, grid)
