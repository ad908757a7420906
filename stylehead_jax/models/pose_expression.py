"""Pose-Expression network: an image I -> head rotation R, translation tau and the
expression deltas eps_k of the K keypoints.

The angles (yaw, pitch, roll) are expectations over `num_bins` bins of `bin_degrees`
each, centred on 0 (Hopenet's 66 bins of 3 degrees over [-99, 99]): each angle is the
softmax-weighted mean of the bin centres, so it is differentiable and bounded. tau is
(x, y, z) in the keypoints' normalised frame; eps_k (K x 3) is unbounded. The angles
follow landmarks/pose.py (degrees; R = Rz(roll) Rx(pitch) Ry(yaw)), so the dataset's
tracked head pose can supervise them directly.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from stylehead_jax.models import layers
from stylehead_jax.models import partitioning


def bin_centres(num_bins: int, bin_degrees: float) -> jax.Array:
  """Centres of `num_bins` angle bins of `bin_degrees`, symmetric about 0."""
  return (jnp.arange(num_bins, dtype=jnp.float32) - (num_bins - 1) / 2) * bin_degrees


class PoseExpression(nn.Module):
  num_keypoints: int = 15
  widths: Sequence[int] = (32, 64, 128, 256)  # one 2x Down block each
  num_bins: int = 66
  bin_degrees: float = 3.0

  @nn.compact
  def __call__(self, image: jax.Array) -> dict[str, jax.Array]:
    """image (B, H, W, 3) in [0, 1] -> {"angles": (B, 3) yaw, pitch, roll in degrees,
    "translation": (B, 3) tau, "expression": (B, K, 3) eps_k}."""
    x = layers.conv(self.widths[0], 7, name="stem")(image)
    for i, width in enumerate(self.widths):
      x = layers.Down(width, name=f"down_{i}")(x)
      x = layers.ResBlock(name=f"res_{i}")(x)
    x = x.mean(axis=(1, 2))

    def head(features, name):
      return nn.Dense(features, name=name, kernel_init=partitioning.kernel(("embed", None)))(x)

    logits = head(3 * self.num_bins, "angle_logits").reshape(-1, 3, self.num_bins)
    angles = jax.nn.softmax(logits, -1) @ bin_centres(self.num_bins, self.bin_degrees)
    expression = head(3 * self.num_keypoints, "expression").reshape(-1, self.num_keypoints, 3)
    return {"angles": angles, "translation": head(3, "translation"),
            "expression": expression}
