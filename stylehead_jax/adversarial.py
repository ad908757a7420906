"""Two players in one state: a generator and its critic (or discriminator).

The state is one pytree, so it shards, checkpoints and resumes as any other:
  {"step", "params", "opt_state", "critic_params", "critic_opt_state", ...}
(the generator's parameters are "params", so a generator loads and evaluates like a
single-player stage's; a stage adds its frozen parts, e.g. "audio_params").

Each update is a pure function a stage calls inside its jitted step:
  critic_update: `steps` descents of the critic's loss, the generator fixed (its outputs
    computed once by the caller and closed over). The style transfer critic and the
    image stages' discriminators.
  generator_update: one descent of the generator's loss through the (fixed) critic; with
    `critic_optimizer` the critic descends the same loss in the same step ("joint": no
    opposing objective, as style_transfer's joint mode).
The image stages' multi-scale conditional discriminators (models/discriminator.py) use
two more: `image_gan_terms` (the generator's GAN and feature-matching terms) and
`image_critic_update` (one step of the discriminator on real and generated images).
"""

from __future__ import annotations

from typing import Any, Callable

import jax

from stylehead_jax import losses
from stylehead_jax import optim


def init_state(params, critic_params, optimizer: optim.Optimizer,
               critic_optimizer: optim.Optimizer, **extra) -> dict:
  """A fresh two-player state at step 0 (extra: further entries, e.g. frozen parts)."""
  return {"step": jax.numpy.zeros((), jax.numpy.int32),
          "params": params, "opt_state": optimizer.init(params),
          "critic_params": critic_params,
          "critic_opt_state": critic_optimizer.init(critic_params), **extra}


def _prefixed(prefix: str, measurements: dict) -> dict:
  return {f"{prefix}{k}": v for k, v in measurements.items()}


def critic_update(state: dict, loss_fn: Callable, optimizer: optim.Optimizer, rng, *,
                  steps: int = 1) -> tuple[dict, Any, dict]:
  """`steps` optimizer steps of the critic on loss_fn(critic_params, rng) -> (loss, aux),
  step k drawing from fold_in(rng, k).

  Returns:
    (state with the new critic parameters and optimizer state, the last step's aux,
     {"critic_loss", "critic_grad_norm", "critic_param_norm", "critic_learning_rate"}
     of the last step).
  """
  if steps < 1:
    raise ValueError(f"critic_update needs at least one step, got {steps}")
  params, opt_state = state["critic_params"], state["critic_opt_state"]
  for k in range(steps):
    (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        params, jax.random.fold_in(rng, k))
    params, opt_state, measured = optimizer.apply(params, opt_state, grads, state["step"])
  measurements = _prefixed("critic_", dict(loss=loss, **measured))
  return dict(state, critic_params=params, critic_opt_state=opt_state), aux, measurements


def generator_update(state: dict, loss_fn: Callable, optimizer: optim.Optimizer, *,
                     critic_optimizer: optim.Optimizer | None = None
                     ) -> tuple[dict, Any, dict]:
  """One step of the generator on loss_fn(params, critic_params) -> (loss, aux), and
  of the critic on the same loss where `critic_optimizer` is given (joint).

  Returns:
    (state at step + 1, aux, {"loss", "grad_norm", "param_norm", "learning_rate"} and,
     when joint, the critic's "critic_*" of the same).
  """
  joint = critic_optimizer is not None
  (loss, aux), grads = jax.value_and_grad(loss_fn, argnums=(0, 1) if joint else 0,
                                          has_aux=True)(state["params"], state["critic_params"])
  grads, critic_grads = grads if joint else (grads, None)
  params, opt_state, measurements = optimizer.apply(
      state["params"], state["opt_state"], grads, state["step"])
  out = dict(state, step=state["step"] + 1, params=params, opt_state=opt_state)
  if joint:
    critic_params, critic_opt_state, measured = critic_optimizer.apply(
        state["critic_params"], state["critic_opt_state"], critic_grads, state["step"])
    out.update(critic_params=critic_params, critic_opt_state=critic_opt_state)
    measurements.update(_prefixed("critic_", measured))
  return out, aux, dict(loss=loss, **measurements)


def image_gan_terms(discriminator, critic_params, fake, real, condition, kind: str) -> dict:
  """{"gan", "feature_matching"} of images `fake` against `real` (B, H, W, 3) for a
  multi-scale discriminator (a list of (logits, features) per scale) conditioned on
  `condition`, each averaged over the scales."""
  fake_out = discriminator.apply({"params": critic_params}, fake, condition)
  real_out = discriminator.apply({"params": critic_params}, real, condition)
  return {"gan": sum(losses.generator_loss(f[0], kind) for f in fake_out) / len(fake_out),
          "feature_matching": sum(losses.feature_matching(r[1], f[1])
                                  for r, f in zip(real_out, fake_out)) / len(fake_out)}


def image_critic_update(state: dict, discriminator, real, fake, condition, kind: str,
                        optimizer: optim.Optimizer) -> tuple[dict, dict]:
  """One step of a multi-scale discriminator telling `real` from `fake` (gradients
  stopped) under `condition`: (state, its "critic_*" measurements)."""
  fake = jax.lax.stop_gradient(fake)

  def loss_fn(critic_params, rng):
    del rng
    real_out = discriminator.apply({"params": critic_params}, real, condition)
    fake_out = discriminator.apply({"params": critic_params}, fake, condition)
    return sum(losses.discriminator_loss(r[0], f[0], kind)
               for r, f in zip(real_out, fake_out)) / len(real_out), None

  state, _, measurements = critic_update(state, loss_fn, optimizer, jax.random.key(0))
  return state, measurements
