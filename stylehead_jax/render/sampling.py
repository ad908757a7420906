"""Linear sampling of images (bilinear) and feature volumes (trilinear) in pure XLA.

Coordinates are normalised to [-1, 1] per axis and ordered (x, y) for images and
(x, y, z) for volumes, z along the volume's depth axis; a pixel's centre is at
(2 i + 1) / n - 1 (the half-pixel convention of `align_corners=False`). Values are
(B, H, W, C) or (B, D, H, W, C); points outside read zeros. Gathers and weighted sums
only: no custom kernels, so the same code runs and differentiates (in the values and
the coordinates) on CPU, GPU and TPU.

Random deformations for the equivariance loss: `random_transform` draws an affine map
plus a thin-plate spline (radial basis r^2 log r on a grid of control points).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp


def identity_grid(shape) -> jax.Array:
  """(*shape, n) coordinates of the pixel centres of a grid of spatial `shape` (H, W) or
  (D, H, W): component 0 is x (the last axis), 1 is y, 2 is z."""
  axes = [(2 * jnp.arange(n, dtype=jnp.float32) + 1) / n - 1 for n in shape]
  return jnp.stack(jnp.meshgrid(*axes, indexing="ij")[::-1], -1)


def normalised(points, size: int):
  """Pixel positions (..., 2+) in a square image of `size` pixels -> normalised (x, y)."""
  return (2 * points[..., :2] + 1) / size - 1


def resize(images: jax.Array, size: int, method: str = "linear") -> jax.Array:
  """(B, H, W, C) images -> (B, size, size, C): antialiased linear (or "nearest", for
  labels); the input itself where it is that size already."""
  if images.shape[1] == size and images.shape[2] == size:
    return images
  return jax.image.resize(images, images.shape[:1] + (size, size) + images.shape[3:], method,
                          antialias=method == "linear")


def sample(values: jax.Array, coords: jax.Array) -> jax.Array:
  """Linear interpolation of `values` (B, *spatial, C) at `coords` (B, *out, n), n the
  number of spatial axes (2: bilinear, 3: trilinear) -> (B, *out, C)."""
  spatial = values.shape[1:-1]
  n = len(spatial)
  if coords.shape[-1] != n:
    raise ValueError(f"{n} spatial axes need coordinates with {n} components, got "
                     f"{coords.shape[-1]}")
  batch, channels = values.shape[0], values.shape[-1]
  flat = values.reshape(batch, -1, channels)
  out_shape = coords.shape[1:-1]
  coords = coords.reshape(batch, -1, n)
  # Continuous index along each axis of `values` (axis a holds component n - 1 - a).
  index = [((coords[..., n - 1 - a] + 1) * spatial[a] - 1) / 2 for a in range(n)]
  low = [jnp.floor(i) for i in index]
  out = jnp.zeros((batch, coords.shape[1], channels), values.dtype)
  for corner in itertools.product((0, 1), repeat=n):
    weight = jnp.ones_like(index[0])
    flat_index = jnp.zeros(index[0].shape, jnp.int32)
    for a, offset in enumerate(corner):
      p = low[a] + offset
      inside = (p >= 0) & (p <= spatial[a] - 1)
      weight = weight * jnp.where(inside, 1 - jnp.abs(index[a] - p), 0.0)
      flat_index = flat_index * spatial[a] + jnp.clip(p, 0, spatial[a] - 1).astype(jnp.int32)
    gathered = jnp.take_along_axis(flat, flat_index[..., None], axis=1)
    out = out + gathered * weight[..., None].astype(values.dtype)
  return out.reshape((batch,) + out_shape + (channels,))


def warp_image(image: jax.Array, transform) -> jax.Array:
  """image (B, H, W, C) resampled so that output pixel p shows input point transform(p);
  transform maps (B, N, 2) coordinates to (B, N, 2)."""
  batch, height, width = image.shape[:3]
  grid = jnp.broadcast_to(identity_grid((height, width)), (batch, height, width, 2))
  source = transform(grid.reshape(batch, -1, 2)).reshape(grid.shape)
  return sample(image, source)


def _tps_basis(points: jax.Array, control: jax.Array) -> jax.Array:
  """U(r) = r^2 log r between points (B, N, 2) and control points (P, 2) -> (B, N, P)."""
  r2 = jnp.sum((points[:, :, None] - control[None, None]) ** 2, -1)
  return 0.5 * r2 * jnp.log(r2 + 1e-9)  # r^2 log r = r^2 log(r^2) / 2


def random_transform(rng, batch: int, *, affine_sigma: float, tps_sigma: float,
                     tps_points: int = 5):
  """A random deformation per example: the affine map identity + N(0, affine_sigma) on
  its 2 x 3 matrix, plus a thin-plate spline whose `tps_points` x `tps_points` control
  weights are N(0, tps_sigma). Returns transform(coords (B, N, 2)) -> (B, N, 2)."""
  affine_rng, tps_rng = jax.random.split(rng)
  theta = jnp.eye(2, 3)[None] + affine_sigma * jax.random.normal(affine_rng, (batch, 2, 3))
  control = identity_grid((tps_points, tps_points)).reshape(-1, 2)
  weights = tps_sigma * jax.random.normal(tps_rng, (batch, tps_points ** 2, 2))

  def transform(coords):
    out = jnp.einsum("bij,bnj->bni", theta[..., :2], coords) + theta[:, None, :, 2]
    if tps_sigma:
      out = out + jnp.einsum("bnp,bpi->bni", _tps_basis(coords, control), weights)
    return out

  return transform
