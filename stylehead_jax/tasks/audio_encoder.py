"""Stage audio_encoder: APC over log-mels, L1 on the frame `config.apc_shift` ahead.

Evaluation reports the L1 of the prediction and of the copy-last-frame baseline (predict
frame t + n as frame t) on held-out windows: an encoder that learned nothing about how
speech moves cannot beat the baseline.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from stylehead_jax import media
from stylehead_jax import optim
from stylehead_jax.models import audio_encoder as apc
from stylehead_jax.tasks import base

def make_model(config) -> apc.APCEncoder:
  return apc.APCEncoder(**config.model)


def make_optimizer(config) -> optim.Optimizer:
  return optim.make(config.optimizer, config.total_steps)


def init(config, rng, batch):
  """Fresh state {step, params, opt_state}; params keep their logical-axis boxes."""
  params = make_model(config).init(rng, _inputs(batch))["params"]
  return {"step": jnp.zeros((), jnp.int32), "params": params,
          "opt_state": make_optimizer(config).init(params)}


def _inputs(batch):
  return media.normalize_log_mel(batch["log_mel"])


def _l1(prediction, x, shift, weights):
  """Mean |prediction[t] - x[t + shift]| over frames, weighted per example."""
  err = jnp.abs(prediction[:, :-shift] - x[:, shift:]).mean(axis=(1, 2))
  return (err * weights).sum(), weights.sum()


def loss_fn(params, batch, config):
  x = _inputs(batch)
  prediction, _ = make_model(config).apply({"params": params}, x)
  total, count = _l1(prediction, x, config.apc_shift, jnp.ones(x.shape[0]))
  return total / count


def train_step(state, batch, rng, *, config):
  del rng  # APC has no dropout or sampling: the step is deterministic given the batch.
  loss, grads = jax.value_and_grad(loss_fn)(state["params"], batch, config)
  params, opt_state, measurements = make_optimizer(config).apply(
      state["params"], state["opt_state"], grads, state["step"])
  return ({"step": state["step"] + 1, "params": params, "opt_state": opt_state},
          dict(loss=loss, **measurements))


def eval_step(state, batch, *, config):
  """Sums over the batch's real (mask = 1) windows."""
  x = _inputs(batch)
  prediction, _ = make_model(config).apply({"params": state["params"]}, x)
  n = config.apc_shift
  l1, count = _l1(prediction, x, n, batch["mask"])
  copy_l1, _ = _l1(x, x, n, batch["mask"])
  return {"l1": l1, "copy_baseline_l1": copy_l1, "count": count}


def eval_images(state, batch, *, config, num=2, zoom=2):
  """Normalised log-mels, low frequencies at the bottom: target above, prediction below."""
  x = _inputs(batch)[:num]
  prediction, _ = make_model(config).apply({"params": state["params"]}, x)
  n = config.apc_shift
  as_image = lambda mel: jnp.flip(jnp.swapaxes(mel, 1, 2), axis=1)  # (num, mels, L)
  gap = jnp.ones((x.shape[0], 2, x.shape[1] - n))
  image = jnp.concatenate([as_image(x[:, n:]), gap, as_image(prediction[:, :-n])], axis=1)
  image = jnp.clip((image + 1.5) / 4.0, 0.0, 1.0)
  image = jnp.repeat(jnp.repeat(image, zoom, axis=1), zoom, axis=2)
  return {"log_mel_target_above_prediction": jnp.repeat(image[..., None], 3, axis=-1)}


STAGE = base.Stage(name="audio_encoder", init=init, train_step=train_step,
                   eval_step=eval_step, eval_images=eval_images)
