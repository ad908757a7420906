"""Losses shared by the stages: weighted L1 (L_sp), the Pearson r of series (L_keep,
L_mg's mouth timing), GAN losses, discriminator feature matching and gradient penalties
(by jax.grad). Pure jnp functions of arrays; each is
tested against a closed form or central finite differences (tests/test_losses.py).

GAN conventions: a discriminator (or critic) returns logits, higher meaning "real".
  hinge:           D: mean(relu(1 - real)) + mean(relu(1 + fake));  G: -mean(fake)
  least_squares:   D: mean((real - 1)^2) + mean(fake^2);             G: mean((fake - 1)^2)
  non_saturating:  D: mean(softplus(-real)) + mean(softplus(fake));  G: mean(softplus(-fake))
(D's two terms summed; the least-squares form is LSGAN's a = 0, b = c = 1; the
non-saturating one is the cross-entropy with sigmoid(logit) = P(real).)
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

GAN_LOSSES = ("hinge", "least_squares", "non_saturating")


def weighted_l1(prediction, target, weights):
  """sum(W |prediction - target|) / sum(W), W broadcast to the images' shape: the L_sp form
  (W from the region map: 5 mouth, 3 eyes, 1 skin, 0 elsewhere). A weight map (B, H, W, 1)
  over RGB images counts each pixel's three channels, so the value is the weighted mean
  per channel. 0 where every weight is 0."""
  weights = jnp.broadcast_to(jnp.asarray(weights, prediction.dtype), prediction.shape)
  total = weights.sum()
  return jnp.where(total > 0, (weights * jnp.abs(prediction - target)).sum()
                   / jnp.maximum(total, 1e-12), 0.0)


def pearson(a, b, weights=None, floor: float = 1e-30):
  """(...,) Pearson r over the last axis of series a and b (..., T), frames weighted by
  `weights` (..., T) (default all 1: valid frames), with the product of the two variances
  floored at `floor` (a flat series gives r 0)."""
  weights = jnp.ones_like(a) if weights is None else weights
  count = jnp.maximum(weights.sum(-1), 1e-12)
  mean = lambda x: (x * weights).sum(-1) / count
  a, b = a - mean(a)[..., None], b - mean(b)[..., None]
  return mean(a * b) * jax.lax.rsqrt(jnp.maximum(mean(a * a) * mean(b * b), floor))


def _check(kind: str) -> None:
  if kind not in GAN_LOSSES:
    raise ValueError(f"GAN loss {kind!r}: one of {GAN_LOSSES}")


def discriminator_loss(real_logits, fake_logits, kind: str = "hinge"):
  """The discriminator's loss on logits of real and generated inputs (module docstring)."""
  _check(kind)
  if kind == "hinge":
    return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))
  if kind == "least_squares":
    return jnp.mean((real_logits - 1.0) ** 2) + jnp.mean(fake_logits ** 2)
  return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


def generator_loss(fake_logits, kind: str = "hinge"):
  """The generator's adversarial loss on the discriminator's logits of its outputs."""
  _check(kind)
  if kind == "hinge":
    return -jnp.mean(fake_logits)
  if kind == "least_squares":
    return jnp.mean((fake_logits - 1.0) ** 2)
  return jnp.mean(jax.nn.softplus(-fake_logits))


def feature_matching(real_features, fake_features):
  """Mean over layers of mean |D_l(real) - D_l(fake)| (pix2pixHD's feature matching);
  the real features are constants (no gradient reaches the discriminator's real pass)."""
  real_features, fake_features = list(real_features), list(fake_features)
  if not real_features or len(real_features) != len(fake_features):
    raise ValueError(f"feature lists of {len(real_features)} and {len(fake_features)} layers")
  terms = [jnp.mean(jnp.abs(jax.lax.stop_gradient(r) - f))
           for r, f in zip(real_features, fake_features)]
  return sum(terms) / len(terms)


def interpolates(real, fake, gamma):
  """gamma real + (1 - gamma) fake, gamma broadcast per example (a scalar or (B,))."""
  gamma = jnp.asarray(gamma, real.dtype)
  if gamma.ndim:
    gamma = gamma.reshape(gamma.shape + (1,) * (real.ndim - gamma.ndim))
  return gamma * real + (1 - gamma) * fake


def _example_gradients(fn: Callable, x):
  """d fn(x)_i / d x_i per example, for fn mapping (B, ...) -> (B,) with examples
  independent (no batch statistics): the gradient of the sum is each example's own."""
  return jax.grad(lambda x: fn(x).sum())(x)


def _norms(grads):
  return jnp.sqrt((grads ** 2).sum(tuple(range(1, grads.ndim))) + 1e-12)


def gradient_penalty(fn: Callable, x, target: float = 1.0):
  """mean_i (|grad_x fn(x)_i| - target)^2 at the points x (B, ...): WGAN-GP's penalty
  (and L_r) at interpolates of real and generated examples."""
  return jnp.mean((_norms(_example_gradients(fn, x)) - target) ** 2)


def r1_penalty(fn: Callable, real):
  """mean_i |grad_x fn(x)_i|^2 at real examples (Mescheder et al.'s R1; the weight,
  gamma / 2 in the paper, is the caller's)."""
  grads = _example_gradients(fn, real)
  return jnp.mean((grads ** 2).sum(tuple(range(1, grads.ndim))))
