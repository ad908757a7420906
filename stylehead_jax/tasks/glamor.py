"""Stage glamor: GLAMOR-Net (models/glamor.py) on context-aware emotion examples.

Inputs (`model_inputs`): face and context images scaled to [-1, 1]; for the variants that
hide the face (models.glamor.MASKED_VARIANTS) every context pixel whose centre lies in the
face box is set to 0. Training flips each example left-right with probability 1/2
(`config.flip`), box included. Loss: softmax cross-entropy. Optimizer: SGD with momentum,
the learning rate times 0.1 at each of `config.lr_decay_steps` (the authors: epochs 25
and 40 of 60).

Evaluated by the "emotion" evaluator (stylehead_jax/evaluators/emotion.py): accuracy,
per class, on clear and ambiguous faces, and the attention's mass on the context cues.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from stylehead_jax import emotion_classifier
from stylehead_jax import optim
from stylehead_jax.models import glamor
from stylehead_jax.tasks import base


def make_optimizer(config) -> optim.Optimizer:
  return optim.make(config.optimizer, config.total_steps)


def flip(batch, rng):
  """Each example mirrored left-right with probability 1/2 (images, box, cue mask)."""
  n = batch["label"].shape[0]
  flipped = jax.random.bernoulli(rng, 0.5, (n,))
  out = dict(batch)
  pick = lambda a, b: jnp.where(flipped.reshape((n,) + (1,) * (a.ndim - 1)), b, a)
  for key in ("face", "context", "cue_mask"):
    if key in batch:
      out[key] = pick(batch[key], batch[key][:, :, ::-1])
  y0, x0, y1, x1 = (batch["face_box"][:, i] for i in range(4))
  out["face_box"] = pick(batch["face_box"], jnp.stack([y0, 1 - x1, y1, 1 - x0], -1))
  return out


def init(config, rng, batch):
  """Fresh state {step, params, batch_stats, opt_state}."""
  face, context = glamor.model_inputs(batch, config.model.variant)
  variables = emotion_classifier.make_model(config).init(rng, face, context, train=False)
  params = variables["params"]
  return {"step": jnp.zeros((), jnp.int32), "params": params,
          "batch_stats": variables["batch_stats"],
          "opt_state": make_optimizer(config).init(params)}


def train_step(state, batch, rng, *, config):
  flip_rng, dropout_rng = jax.random.split(rng)
  if config.flip:
    batch = flip(batch, flip_rng)
  face, context = glamor.model_inputs(batch, config.model.variant)
  model = emotion_classifier.make_model(config)

  def loss_fn(params):
    (logits, _), updates = model.apply(
        {"params": params, "batch_stats": state["batch_stats"]}, face, context, train=True,
        rngs={"dropout": dropout_rng}, mutable=["batch_stats"])
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"]).mean()
    return loss, (logits, updates["batch_stats"])

  (loss, (logits, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      state["params"])
  params, opt_state, measurements = make_optimizer(config).apply(
      state["params"], state["opt_state"], grads, state["step"])
  measurements = dict(loss=loss, accuracy=(logits.argmax(-1) == batch["label"]).mean(),
                      **measurements)
  return {"step": state["step"] + 1, "params": params, "batch_stats": batch_stats,
          "opt_state": opt_state}, measurements


STAGE = base.Stage(name="glamor", init=init, train_step=train_step)
