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


def blend_weights(logits: jax.Array, prior_logits=None) -> jax.Array:
  """Per-pixel softmax weights (..., n) of n blended images from a head's logits, a fixed
  `prior_logits` (n,) added first (where the blend starts; None: zeros, uniform)."""
  if prior_logits is not None:
    if len(prior_logits) != logits.shape[-1]:
      raise ValueError(f"prior_logits has {len(prior_logits)} entries, the blend "
                       f"{logits.shape[-1]}")
    logits = logits + jnp.asarray(prior_logits, logits.dtype)
  return jax.nn.softmax(logits, -1)


def image_head(x: jax.Array, candidates: int = 0, prior_logits=None):
  """An image generator's last layer (call it inside the generator's compact method): a
  7 x 7 convolution "to_image" -> the decoded image (sigmoid, in [0, 1]) and, with
  `candidates`, the blend weights of it and the candidates (blend_weights), else None."""
  out = conv(3 + (candidates + 1 if candidates else 0), 7, name="to_image", head=True)(x)
  decoded = nn.sigmoid(out[..., :3])
  return decoded, (blend_weights(out[..., 3:], prior_logits) if candidates else None)


def blend(decoded: jax.Array, weights: jax.Array, candidates) -> jax.Array:
  """w_0 decoded + sum_i w_i candidate_i: a generator's decoded image (B, H, W, 3) blended
  with candidate images of its size by blend_weights (B, H, W, 1 + len(candidates))."""
  return weights[..., :1] * decoded + sum(
      weights[..., i + 1:i + 2] * c for i, c in enumerate(candidates))


def to_unit(x: jax.Array) -> jax.Array:
  """uint8 images (or floats in [0, 255]) -> float32 in [0, 1]."""
  return x.astype(jnp.float32) / 255.0
