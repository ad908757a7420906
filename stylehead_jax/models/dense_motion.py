"""Dense motion: sparse correspondences C_k -> C̄_k -> a dense 3-D flow and an occlusion map.

For every point z of the reference's (driving) volume, keypoint k proposes the source
point T_k(z) = R_s R_d^-1 (z - C̄_k) + C_k (its first-order motion: the head's rotation
about the keypoint); the identity T_0(z) = z covers the background. The network sees,
per proposal, the source volume (compressed to `compressed` channels) sampled at T_k and
the difference of Gaussian heatmaps G(z; C̄_k) - G(z; C_k) (FOMM, face-vid2vid); a 3-D
hourglass predicts softmax masks m_k over the K + 1 proposals, and the flow is
sum_k m_k T_k(z). With a `guide` (a 2-D flow from outside, e.g. the piecewise-affine warp
of the 68 landmarks, render/warp.landmark_flow) it is one more proposal, the same x, y at
every depth, with no heatmap of its own. The occlusion map (sigmoid, per pixel of the 2-D
output) says where the source shows nothing usable (the inside of an opening mouth, a
turned-away cheek).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from stylehead_jax.models import layers
from stylehead_jax.render import sampling


def heatmaps(keypoints: jax.Array, grid: jax.Array, variance: float) -> jax.Array:
  """Gaussians exp(-|z - C_k|^2 / (2 variance)) of keypoints (B, K, 3) on a grid
  (D, H, W, 3) -> (B, D, H, W, K)."""
  d2 = jnp.sum((grid[None, :, :, :, None, :] - keypoints[:, None, None, None]) ** 2, -1)
  return jnp.exp(-0.5 * d2 / variance)


def proposals(grid: jax.Array, source_kp: jax.Array, driving_kp: jax.Array,
              source_rotation: jax.Array, driving_rotation: jax.Array) -> jax.Array:
  """T_k(z) for the identity (k = 0) and every keypoint: (B, K + 1, D, H, W, 3) source
  coordinates of the grid's points (D, H, W, 3)."""
  relative = jnp.einsum("bij,bkj->bik", source_rotation, driving_rotation)  # R_s R_d^T
  offset = grid[None, None] - driving_kp[:, :, None, None, None]
  moved = jnp.einsum("bij,bkdhwj->bkdhwi", relative, offset) + source_kp[:, :, None, None, None]
  identity = jnp.broadcast_to(grid, (moved.shape[0], 1) + grid.shape)
  return jnp.concatenate([identity, moved], 1)


class DenseMotion(nn.Module):
  widths: Sequence[int] = (64, 128, 256, 512, 1024)  # the 3-D hourglass
  compressed: int = 5  # channels of the source volume each proposal carries
  variance: float = 0.01  # of the keypoint Gaussians, in normalised units squared

  @nn.compact
  def __call__(self, volume, source_kp, driving_kp, source_rotation, driving_rotation,
               guide=None):
    """volume f_s (B, D, H, W, C), keypoints C_k, C̄_k (B, K, 3), rotations R_s, R_d
    (B, 3, 3), optional guide (B, H, W, 2) -> {"flow": (B, D, H, W, 3) source
    coordinates, "occlusion": (B, H, W, 1), "masks": (B, D, H, W, proposals)}."""
    b, d, h, w, _ = volume.shape
    grid = sampling.identity_grid((d, h, w))
    moves = proposals(grid, source_kp, driving_kp, source_rotation, driving_rotation)
    if guide is not None:
      guided = jnp.concatenate([jnp.broadcast_to(guide[:, None], (b, d, h, w, 2)),
                                jnp.broadcast_to(grid[None, ..., 2:], (b, d, h, w, 1))], -1)
      moves = jnp.concatenate([moves, guided[:, None]], 1)
    k1 = moves.shape[1]
    small = layers.conv(self.compressed, 1, dims=3, name="compress", head=True)(volume)
    small = nn.relu(layers.norm(self.compressed, "compress_norm")(small))
    deformed = sampling.sample(
        jnp.repeat(small, k1, 0), moves.reshape(b * k1, d, h, w, 3)
    ).reshape(b, k1, d, h, w, self.compressed)
    heat = heatmaps(driving_kp, grid, self.variance) - heatmaps(source_kp, grid, self.variance)
    none = jnp.zeros_like(heat[..., :1])  # the identity and the guide have no keypoint
    heat = jnp.concatenate([none, heat] + [none] * (guide is not None), -1)
    inputs = jnp.concatenate([deformed.transpose(0, 2, 3, 4, 1, 5).reshape(
        b, d, h, w, k1 * self.compressed), heat], -1)
    x = layers.Hourglass(tuple(self.widths), dims=3, name="hourglass")(inputs)
    masks = jax.nn.softmax(layers.conv(k1, 3, dims=3, name="masks", head=True)(x), -1)
    flow = jnp.einsum("bdhwk,bkdhwc->bdhwc", masks, moves)
    flat = x.transpose(0, 2, 3, 1, 4).reshape(b, h, w, d * x.shape[-1])
    occlusion = jax.nn.sigmoid(layers.conv(1, 3, name="occlusion", head=True)(flat))
    return {"flow": flow, "occlusion": occlusion, "masks": masks}
