"""Convolution blocks the image networks share (no network here): 2-D or 3-D by the
length of the kernel, GroupNorm (no batch statistics to carry or synchronise), kernels
boxed with their logical axes so config.sharding_rules can split the widest ones over
the mesh's "model" axis."""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from stylehead_jax.models import partitioning

GROUPS = 32


def conv(features: int, kernel: int = 3, *, dims: int = 2, stride: int = 1,
         name: str | None = None, use_bias: bool = True, head: bool = False) -> nn.Conv:
  """A 'SAME' convolution with a boxed kernel (spatial axes unnamed). A `head` (an output
  of a few channels: an image, masks, logits) keeps its output axis whole, so it never
  has to divide by the model axis."""
  names = (None,) * dims + ("conv_in", None if head else "conv_out")
  return nn.Conv(features, (kernel,) * dims, strides=(stride,) * dims, padding="SAME",
                 use_bias=use_bias, kernel_init=partitioning.kernel(names), name=name)


def norm(features: int, name: str | None = None) -> nn.GroupNorm:
  """GroupNorm with up to GROUPS groups (as many as divide `features`)."""
  return nn.GroupNorm(num_groups=math.gcd(GROUPS, features), name=name)


class ResBlock(nn.Module):
  """x + conv(relu(norm(conv(relu(norm(x)))))), channels kept."""
  dims: int = 2

  @nn.compact
  def __call__(self, x):
    features = x.shape[-1]
    y = conv(features, dims=self.dims, name="conv_0")(nn.relu(norm(features, "norm_0")(x)))
    y = conv(features, dims=self.dims, name="conv_1")(nn.relu(norm(features, "norm_1")(y)))
    return x + y


class Down(nn.Module):
  """conv, norm, relu, 2x average pooling over the spatial axes (only H and W of a
  volume with `keep_depth`)."""
  features: int
  dims: int = 2
  keep_depth: bool = False

  @nn.compact
  def __call__(self, x):
    x = nn.relu(norm(self.features, "norm")(conv(self.features, dims=self.dims,
                                                  name="conv")(x)))
    window = (1,) * (self.dims == 3 and self.keep_depth) + (2,) * (
        self.dims - (self.dims == 3 and self.keep_depth))
    return nn.avg_pool(x, window, strides=window)


class Up(nn.Module):
  """2x nearest upsampling over the spatial axes (all of them, or only H and W of a
  volume with `keep_depth`), conv, norm, relu."""
  features: int
  dims: int = 2
  keep_depth: bool = False

  @nn.compact
  def __call__(self, x):
    for axis in range(1 + (self.dims == 3 and self.keep_depth), 1 + self.dims):
      x = jnp.repeat(x, 2, axis=axis)
    return nn.relu(norm(self.features, "norm")(conv(self.features, dims=self.dims,
                                                     name="conv")(x)))


class PixelShuffleUp(nn.Module):
  """conv to 4x the channels, then depth-to-space 2x (sub-pixel upsampling), relu."""
  features: int

  @nn.compact
  def __call__(self, x):
    x = conv(4 * self.features, name="conv")(x)
    b, h, w, _ = x.shape
    x = x.reshape(b, h, w, 2, 2, self.features).transpose(0, 1, 3, 2, 4, 5)
    return nn.relu(norm(self.features, "norm")(x.reshape(b, 2 * h, 2 * w, self.features)))


class Hourglass(nn.Module):
  """U-Net of `len(widths)` Down blocks and as many Up blocks with skip concatenation
  (2-D or 3-D; a volume's depth is kept, only H and W are halved). Returns the input
  concatenated with the decoded features (FOMM's hourglass)."""
  widths: tuple[int, ...]
  dims: int = 2

  @nn.compact
  def __call__(self, x):
    skips = [x]
    for i, width in enumerate(self.widths):
      x = Down(width, dims=self.dims, keep_depth=True, name=f"down_{i}")(x)
      skips.append(x)
    skips.pop()
    for i, width in reversed(list(enumerate(self.widths))):
      x = Up(width, dims=self.dims, keep_depth=True, name=f"up_{i}")(x)
      x = jnp.concatenate([x, skips[i]], -1)
    return x


def to_unit(x: jax.Array) -> jax.Array:
  """uint8 images (or floats in [0, 255]) -> float32 in [0, 1]."""
  return x.astype(jnp.float32) / 255.0
