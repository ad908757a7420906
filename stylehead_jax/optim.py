"""Optimizers and learning-rate schedules from a config block, and the standard
measurements of an update (one place for every stage and both players of a GAN).

A block (configs/common.py: `optimizer()`) holds:
  name: "adamw" | "adam" | "sgd"; lr; b1, b2, eps (Adam); momentum, nesterov (SGD);
  weight_decay: decoupled for adamw, added to the gradient (L2) for sgd; adam takes none;
  grad_clip_norm: clip the gradients' global norm to this first (0: no clipping);
  schedule: "constant" | "warmup_constant" | "warmup_cosine" | "piecewise";
  warmup_steps: linear warm-up from 0 (warmup_*);
  end_lr_fraction: where the cosine ends, a fraction of lr (warmup_cosine);
  decay_steps, decay_factor: lr times decay_factor at each of these steps (piecewise:
    "x0.1 at epochs 25 and 40" is decay_steps = (25 E, 40 E), decay_factor = 0.1).

  opt = optim.make(config.optimizer, config.total_steps)
  opt_state = opt.init(params)
  params, opt_state, measurements = opt.apply(params, opt_state, grads, step)
"""

from __future__ import annotations

import dataclasses

import jax
import optax

from stylehead_jax.errors import ConfigError

NAMES = ("adamw", "adam", "sgd")
SCHEDULES = ("constant", "warmup_constant", "warmup_cosine", "piecewise")


def make_schedule(opt_config, total_steps: int) -> optax.Schedule | float:
  """The learning rate by step (a float for "constant": optax then keeps no count)."""
  lr, kind = opt_config.lr, opt_config.schedule
  if kind == "constant":
    return lr
  if kind == "warmup_constant":
    return optax.join_schedules(
        [optax.linear_schedule(0.0, lr, max(1, opt_config.warmup_steps)),
         optax.constant_schedule(lr)], [opt_config.warmup_steps])
  if kind == "warmup_cosine":
    return optax.warmup_cosine_decay_schedule(
        0.0, lr, opt_config.warmup_steps, max(total_steps, opt_config.warmup_steps + 1),
        end_value=lr * opt_config.end_lr_fraction)
  if kind == "piecewise":
    return optax.piecewise_constant_schedule(
        lr, {int(step): opt_config.decay_factor for step in opt_config.decay_steps})
  raise ConfigError(f"optimizer.schedule={kind!r}: one of {SCHEDULES}")


def make_transform(opt_config, schedule) -> optax.GradientTransformation:
  """Clipping, weight decay and the update rule of `opt_config`, chained."""
  name, decay = opt_config.name, opt_config.weight_decay
  if name == "adamw":
    rule = optax.adamw(schedule, b1=opt_config.b1, b2=opt_config.b2, eps=opt_config.eps,
                       weight_decay=decay)
  elif name == "adam":
    if decay:
      raise ConfigError("optimizer.weight_decay with name='adam': use 'adamw' (decoupled)")
    rule = optax.adam(schedule, b1=opt_config.b1, b2=opt_config.b2, eps=opt_config.eps)
  elif name == "sgd":
    rule = optax.sgd(schedule, momentum=opt_config.momentum or None,
                     nesterov=opt_config.nesterov)
  else:
    raise ConfigError(f"optimizer.name={name!r}: one of {NAMES}")
  parts = []
  if opt_config.grad_clip_norm:
    parts.append(optax.clip_by_global_norm(opt_config.grad_clip_norm))
  if decay and name == "sgd":
    parts.append(optax.add_decayed_weights(decay))
  parts.append(rule)
  return parts[0] if len(parts) == 1 else optax.chain(*parts)


@dataclasses.dataclass(frozen=True)
class Optimizer:
  """An optax transformation with its schedule, and the update every stage runs."""
  tx: optax.GradientTransformation
  schedule: optax.Schedule | float

  def init(self, params):
    return self.tx.init(params)

  def learning_rate(self, step):
    return self.schedule(step) if callable(self.schedule) else self.schedule

  def apply(self, params, opt_state, grads, step):
    """(params, opt_state, {grad_norm, param_norm, learning_rate}) after one update."""
    updates, opt_state = self.tx.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    return params, opt_state, {"grad_norm": optax.global_norm(grads),
                               "param_norm": optax.global_norm(params),
                               "learning_rate": jax.numpy.asarray(self.learning_rate(step))}


def make(opt_config, total_steps: int = 0) -> Optimizer:
  """The Optimizer of a config block (module docstring); total_steps sets the cosine's
  length."""
  schedule = make_schedule(opt_config, total_steps)
  return Optimizer(make_transform(opt_config, schedule), schedule)
