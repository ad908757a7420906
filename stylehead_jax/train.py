"""Trains one stage: `python -m stylehead_jax.train --config configs/X.py[:arg] --workdir DIR`.

  python -m stylehead_jax.train --config configs/audio_encoder.py:runlocal --workdir /tmp/apc
  python -m stylehead_jax.train --config configs/audio_encoder.py --workdir gs://b/apc \\
      --config.batch_size=256 --config.data.data_dir=gs://b/tfds

The stage is `config.task` (a module of stylehead_jax.tasks). A re-run in the same
workdir resumes from its latest checkpoint; SIGTERM (preemption) saves and exits.
Notebooks call `train_and_evaluate(config, workdir)` directly.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging as std_logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads
import signal
import sys
import threading
import time
from typing import Any, Callable

from absl import app
from absl import flags
from absl import logging
import flax.linen as nn
import jax
from ml_collections import config_flags
import numpy as np
import tensorflow as tf
import tqdm

from stylehead_jax import checkpoint
from stylehead_jax import input_pipeline
from stylehead_jax import sharding
from stylehead_jax import tasks

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Stage config file, e.g. configs/audio_encoder.py:runlocal.",
    lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Checkpoints and summaries go here.")


class _Preemption:
  """Turns SIGTERM into a flag the loop checks after each step."""

  def __init__(self):
    self.requested = False
    self._previous = None

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def _handle(self, signum, frame):
    del signum, frame
    logging.warning("SIGTERM: will checkpoint and stop after this step")
    self.requested = True

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)


def _write_scalars(writer, step: int, scalars: dict[str, float]) -> None:
  with writer.as_default(step=step):
    for name, value in scalars.items():
      tf.summary.scalar(name, value)
  writer.flush()


def _write_images(writer, step: int, images: dict[str, np.ndarray]) -> None:
  with writer.as_default(step=step):
    for name, value in images.items():
      tf.summary.image(name, np.asarray(value, np.float32), max_outputs=len(value))
  writer.flush()


def evaluate(run: Setup, config, state) -> tuple[dict, dict]:
  """Runs the stage's evaluator over the eval split: (measurements, sample images)."""
  if hasattr(run.task, "evaluate"):  # the stage evaluates whole clips itself
    return run.task.evaluate(state, run.builder, config)
  totals, images = {}, {}
  for batch in input_pipeline.eval_batches(run.builder, config):
    batch = sharding.to_global(batch, run.batch_sharding)
    sums = jax.device_get(run.eval_step(state, batch))
    for k, v in sums.items():
      totals[k] = totals.get(k, 0.0) + float(v)
    if not images:
      images = jax.device_get(run.task.eval_images(state, batch, config=config))
  count = totals.pop("count", 0.0)
  if not count:
    raise ValueError(f"eval split {config.data.eval_split!r} has no window of "
                     f"{config.data.window_frames} frames")
  measurements = {k: v / count for k, v in totals.items()}
  measurements["num_windows"] = count
  return measurements, images


@dataclasses.dataclass
class Setup:
  """Everything a run builds before its first step (train.py and bench/ share it)."""
  task: Any
  mesh: Any
  builder: Any
  batch_sharding: Any
  state_sharding: Any
  abstract_state: Any  # restore target: shapes, dtypes and shardings of the state
  init: Callable[[], Any]  # -> a freshly initialised, sharded state
  train_step: Callable[..., Any]  # (state, batch, rng) -> (state, measurements)
  eval_step: Callable[..., Any] | None  # (state, batch) -> sums of measurements
  train_rng: jax.Array


def train_batches(task, builder, config, start_step: int = 0):
  """The stage's own training stream where it has one (say windows of one reference
  clip), else config.data's through input_pipeline.train_batches."""
  batches = getattr(task, "train_batches", input_pipeline.train_batches)
  return batches(builder, config, start_step=start_step)


def _with_pretrained(task, config, state):
  """A fresh state with the stage's pretrained parts loaded (e.g. a frozen encoder)."""
  return task.load_pretrained(state, config) if hasattr(task, "load_pretrained") else state


def setup(config) -> Setup:
  """Mesh, input, model and optimizer, shardings and compiled steps for `config.task`."""
  task = tasks.get(config.task)
  rules = config.sharding_rules

  # Mesh.
  mesh = sharding.make_mesh(config.mesh)
  dp = sharding.data_parallel_size(mesh, rules)
  for name in ("batch_size", "eval_batch_size"):
    if config[name] % dp:
      raise ValueError(f"config.{name}={config[name]} is not divisible by the {dp} data shards")
  logging.info("mesh %s over %d devices", dict(mesh.shape), jax.device_count())

  # Input.
  builder = input_pipeline.get_builder(config.data) if config.data.name else None
  batch_sharding = sharding.batch_sharding(mesh, rules)
  example = sharding.to_global(next(train_batches(task, builder, config)), batch_sharding)

  # Model and optimizer: the state's shapes and logical axes, without allocating.
  init_rng, train_rng = jax.random.split(jax.random.key(config.seed))
  init_fn = functools.partial(task.init, config)
  boxed = jax.eval_shape(init_fn, init_rng, example)

  # Shard and place.
  state_sharding = sharding.logical_shardings(boxed, mesh, rules)
  jit_init = jax.jit(lambda r, b: nn.unbox(init_fn(r, b)), out_shardings=state_sharding)
  logging.info("state shardings: %s", sharding.describe(state_sharding))

  # Step.
  def step_fn(state, batch, rng):
    # Each step draws from its own stream: the run's rng folded with the step number.
    return task.train_step(state, batch, jax.random.fold_in(rng, state["step"]),
                           config=config)

  repl = sharding.replicated(mesh)
  return Setup(
      task=task, mesh=mesh, builder=builder, batch_sharding=batch_sharding,
      state_sharding=state_sharding,
      abstract_state=checkpoint.abstract_like(nn.unbox(boxed), state_sharding),
      init=lambda: _with_pretrained(task, config, jit_init(init_rng, example)),
      train_step=jax.jit(step_fn, in_shardings=(state_sharding, batch_sharding, repl),
                         out_shardings=(state_sharding, repl), donate_argnums=0),
      eval_step=jax.jit(functools.partial(task.eval_step, config=config),
                        in_shardings=(state_sharding, batch_sharding), out_shardings=repl)
      if hasattr(task, "eval_step") else None,
      train_rng=train_rng)


def train_and_evaluate(config, workdir: str) -> dict:
  """Trains `config.task` in `workdir` (resuming if it holds a checkpoint).

  Returns:
    {"step": last step, "history": [(step, loss)] logged this run, "eval": last
     evaluation, "preempted": bool, "checkpoint_dir": ..., "summary_dir": ...,
     "state": the final train state}.
  """
  workdir = os.path.abspath(workdir)
  tf.io.gfile.makedirs(workdir)
  with tf.io.gfile.GFile(os.path.join(workdir, "config.json"), "w") as f:
    f.write(config.to_json_best_effort(indent=2))
  run = setup(config)

  # Checkpoint restore.
  ckpt = checkpoint.Checkpointer(checkpoint.checkpoint_dir(workdir),
                                 keep=config.keep_checkpoints,
                                 every_steps=config.checkpoint_every_steps)
  state, origin = checkpoint.restore_or_initialize(
      ckpt, run.abstract_state, run.init, config.init_from)
  start_step = int(jax.device_get(state["step"]))
  logging.info("%s at step %d", origin, start_step)

  # Evaluators and summaries.
  summary_dir = os.path.join(workdir, "tensorboard")
  writer = tf.summary.create_file_writer(summary_dir)
  result = {"step": start_step, "history": [], "eval": {}, "preempted": False,
            "checkpoint_dir": ckpt.directory, "summary_dir": summary_dir, "state": None}

  def run_eval(step, state):
    measurements, images = evaluate(run, config, state)
    _write_scalars(writer, step, {f"eval/{k}": v for k, v in measurements.items()})
    _write_images(writer, step, {f"eval/{k}": v for k, v in images.items()})
    logging.info("step %d eval: %s", step, " ".join(f"{k}={v:.4g}" for k, v in measurements.items()))
    result["eval"] = dict(measurements, step=step)

  # Loop.
  batches = train_batches(run.task, run.builder, config, start_step)
  pending, last_log = [], time.time()
  progress = tqdm.tqdm(total=config.total_steps, initial=start_step, desc=config.task,
                       disable=not config.progress, dynamic_ncols=True)
  with _Preemption() as preemption:
    for step in range(start_step + 1, config.total_steps + 1):
      batch = sharding.to_global(next(batches), run.batch_sharding)
      state, measurements = run.train_step(state, batch, run.train_rng)
      pending.append(measurements)
      progress.update(1)
      if step % config.log_every_steps == 0 or step == config.total_steps:
        means = {k: float(np.mean([jax.device_get(m[k]) for m in pending])) for k in pending[0]}
        means["steps_per_second"] = len(pending) / (time.time() - last_log)
        pending, last_log = [], time.time()
        _write_scalars(writer, step, {f"train/{k}": v for k, v in means.items()})
        result["history"].append((step, means["loss"]))
        progress.set_postfix(loss=f"{means['loss']:.4f}")
        logging.info("step %d: %s", step, " ".join(f"{k}={v:.4g}" for k, v in means.items()))
      ckpt.save(step, state, force=preemption.requested or step == config.total_steps)
      result["step"] = step
      if preemption.requested:
        ckpt.wait()
        logging.warning("preempted: saved step %d to %s", step, ckpt.directory)
        result["preempted"] = True
        break
      if step % config.eval_every_steps == 0 or step == config.total_steps:
        run_eval(step, state)
  if start_step >= config.total_steps:  # already done: report the final figures again
    run_eval(start_step, state)
  progress.close()
  ckpt.close()
  writer.close()
  result["state"] = state
  return result


def quiet_orbax(record) -> bool:
  """Keeps orbax's per-save INFO lines out of the console (warnings still show)."""
  return record.levelno >= std_logging.WARNING or "orbax" not in record.pathname


def main(argv):
  # ABSLHandler forwards records without applying its own filters: filter the target.
  logging.get_absl_handler().python_handler.addFilter(quiet_orbax)
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  config, workdir = _CONFIG.value, _WORKDIR.value
  try:
    result = train_and_evaluate(config, workdir)
  except tasks.ConfigError as e:
    sys.exit(f"error: {e}")
  summary = {k: result[k] for k in
             ("step", "preempted", "checkpoint_dir", "summary_dir", "eval", "history")}
  result_path = os.path.join(os.path.abspath(workdir), "result.json")
  with tf.io.gfile.GFile(result_path, "w") as f:
    f.write(json.dumps(summary, indent=1))
  history = result["history"]
  print(f"{config.task}: {'preempted at' if result['preempted'] else 'reached'} step "
        f"{result['step']} of {config.total_steps} in {os.path.abspath(workdir)}")
  if history:
    print(f"  train loss {history[0][1]:.4f} (step {history[0][0]}) -> "
          f"{history[-1][1]:.4f} (step {history[-1][0]})")
  if result["eval"]:
    print("  eval (step {step}): ".format(**result["eval"]) + "  ".join(
        f"{k}={v:.4g}" for k, v in result["eval"].items() if k != "step"))
  print(f"  checkpoints: {result['checkpoint_dir']}")
  print(f"  summaries:   tensorboard --logdir {result['summary_dir']}")
  print(f"  figures:     {result_path}")


def parse_flags(argv: list[str]) -> list[str]:
  """absl flag parsing, with config mistakes (a typo in an override) as one clear line."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    sys.exit(f"error: {e}\nPass --helpfull to list the flags.")
  except (KeyError, AttributeError, TypeError, ValueError) as e:
    reason = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
    reason = " ".join(str(reason).split())
    overrides = [a for a in argv[1:] if a.startswith("--config.")]
    if isinstance(e, KeyError) and overrides and "config argument" not in reason:
      sys.exit(f"error: {' '.join(overrides)}: no such config field {reason}")
    sys.exit(f"error: --config: {reason}")


if __name__ == "__main__":
  flags.mark_flags_as_required(["config", "workdir"])
  app.run(main, flags_parser=parse_flags)
