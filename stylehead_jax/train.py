"""Trains one stage: `python -m stylehead_jax.train --config configs/X.py[:arg] --workdir DIR`.

  python -m stylehead_jax.train --config configs/audio_encoder.py:runlocal --workdir /tmp/apc
  python -m stylehead_jax.train --config configs/audio_encoder.py --workdir gs://b/apc \\
      --config.batch_size=256 --config.data.data_dir=gs://b/tfds

The stage is `config.task` (a module of stylehead_jax.tasks, checked against the contract
in tasks/base.py); its evaluators are `config.evals`. A re-run in the same
workdir resumes from its latest checkpoint; SIGTERM (preemption) saves and exits.
Notebooks call `train_and_evaluate(config, workdir)` directly.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import os

from stylehead_jax import console  # pylint: disable=g-import-not-at-top
console.import_tensorflow()  # first: its C++ start-up lines go to the log
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
from PIL import Image
from tensorboard.plugins.image import metadata as image_metadata
import tensorflow as tf
import tqdm

from stylehead_jax import checkpoint
from stylehead_jax import datasets
from stylehead_jax import input_pipeline
from stylehead_jax import media
from stylehead_jax import sharding
from stylehead_jax import tasks
from stylehead_jax.errors import ConfigError
from stylehead_jax.errors import NonFiniteError
from stylehead_jax.evaluators import base as evaluator_base
from stylehead_jax.metrics import images as image_metrics
from stylehead_jax.tasks import base

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
  """Image batches (n, H, W, 3) in [0, 1]; a name ending in "_video" holds the frames
  (T, H, W, 3) of one clip, written as an animated GIF (`gif_summary`)."""
  with writer.as_default(step=step):
    for name, value in images.items():
      if name.endswith("_video"):
        gif_summary(name, value)
      else:
        tf.summary.image(name, np.asarray(value, np.float32), max_outputs=len(value))
  writer.flush()


def gif_summary(name: str, frames: np.ndarray, fps: float = media.FPS) -> None:
  """Frames (T, H, W, 3) in [0, 1] as one animated GIF in TensorBoard's image dashboard
  (TensorBoard has no video summary; the browser plays the GIF). GIF delays are whole
  hundredths of a second and browsers slow anything under 0.02 s, so 60 fps plays at 50."""
  pixels = image_metrics.to_uint8(frames)
  images = [Image.fromarray(frame) for frame in pixels]
  out = io.BytesIO()
  images[0].save(out, format="GIF", save_all=True, append_images=images[1:], loop=0,
                 duration=int(max(20, round(1000 / fps, -1))))
  height, width = pixels.shape[1:3]
  tf.summary.write(name, tf.constant([str(width), str(height), out.getvalue()]),
                   metadata=image_metadata.create_summary_metadata(display_name=None,
                                                                   description=None))


@dataclasses.dataclass
class Setup:
  """Everything a run builds before its first step (train.py, evaluate.py and bench/)."""
  stage: base.Stage
  mesh: Any
  builder: Any
  batch_sharding: Any
  state_sharding: Any
  abstract_state: Any  # restore target: shapes, dtypes and shardings of the state
  init: Callable[[], Any]  # -> a freshly initialised, sharded state
  train_step: Callable[..., Any]  # (state, batch, rng) -> (state, measurements)
  train_rng: jax.Array

  def train_batches(self, config, start_step: int = 0):
    return _train_batches(self.stage, self.builder, config, start_step)

  def evaluators(self, config) -> dict:
    """{name: evaluator} of config.evals (stylehead_jax.evaluators)."""
    return evaluator_base.build(evaluator_base.Context(
        stage=self.stage, builder=self.builder, mesh=self.mesh,
        state_sharding=self.state_sharding, batch_sharding=self.batch_sharding), config)


def _train_batches(stage, builder, config, start_step: int):
  """The stage's own training stream where it has one (say windows of one reference
  clip), else config.data's through input_pipeline.train_batches."""
  batches = stage.train_batches or input_pipeline.train_batches
  return batches(builder, config, start_step=start_step)


def setup(config) -> Setup:
  """Mesh, input, model and optimizer, shardings and compiled step for `config.task`."""
  stage = tasks.get(config.task)
  rules = config.sharding_rules

  # Mesh.
  mesh = sharding.make_mesh(config.mesh)
  dp = sharding.data_parallel_size(mesh, rules)
  for name in ("batch_size", "eval_batch_size"):
    if config[name] % dp:
      raise ConfigError(f"config.{name}={config[name]} is not divisible by the {dp} data shards")
  logging.info("mesh %s over %d devices", dict(mesh.shape), jax.device_count())

  # Input.
  builder = datasets.get_builder(config.data) if config.data.name else None
  batch_sharding = sharding.batch_sharding(mesh, rules)
  example = sharding.to_global(next(_train_batches(stage, builder, config, 0)), batch_sharding)

  # Model and optimizer: the state's shapes and logical axes, without allocating.
  init_rng, train_rng = jax.random.split(jax.random.key(config.seed))
  init_fn = functools.partial(stage.init, config)
  boxed = jax.eval_shape(init_fn, init_rng, example)

  # Shard and place.
  state_sharding = sharding.logical_shardings(boxed, mesh, rules)
  # On CPU, compiled without LLVM's optimisations: init runs once, and optimising its few
  # hundred initialisers (an erf polynomial each) takes XLA:CPU 40 s of a tiny Style
  # Mapping's 100 s run (5 s without) to save milliseconds.
  jit_init = jax.jit(lambda r, b: nn.unbox(init_fn(r, b)), out_shardings=state_sharding,
                     compiler_options=({"xla_backend_optimization_level": 0}
                                       if jax.default_backend() == "cpu" else None))
  logging.info("state shardings: %s", sharding.describe(state_sharding))

  def init():
    state = jit_init(init_rng, example)
    return stage.load_pretrained(state, config) if stage.load_pretrained else state

  # Step.
  def step_fn(state, batch, rng):
    # Each step draws from its own stream: the run's rng folded with the step number.
    return stage.train_step(state, batch, jax.random.fold_in(rng, state["step"]),
                            config=config)

  repl = sharding.replicated(mesh)
  return Setup(
      stage=stage, mesh=mesh, builder=builder, batch_sharding=batch_sharding,
      state_sharding=state_sharding,
      abstract_state=checkpoint.abstract_like(nn.unbox(boxed), state_sharding),
      init=init,
      train_step=jax.jit(step_fn, in_shardings=(state_sharding, batch_sharding, repl),
                         out_shardings=(state_sharding, repl), donate_argnums=0),
      train_rng=train_rng)


def is_main_process() -> bool:
  """Whether this process writes the run's files (config.json, result.json, TensorBoard):
  process 0 of a multi-host run; checkpoints are written by all together (orbax)."""
  return jax.process_index() == 0


def first_non_finite(pending: list[dict], first_step: int) -> tuple[int, str, float] | None:
  """(step, name, value) of the first NaN or infinite value among the host measurements
  of consecutive steps from `first_step`, or None."""
  for i, measurements in enumerate(pending):
    for name, value in measurements.items():
      bad = ~np.isfinite(value)
      if np.any(bad):
        return first_step + i, name, float(np.asarray(value)[bad].ravel()[0])
  return None


def train_and_evaluate(config, workdir: str) -> dict:
  """Trains `config.task` in `workdir` (resuming if it holds a checkpoint).

  On several hosts every process trains and checkpoints (orbax saves collectively);
  only process 0 writes config.json and TensorBoard summaries.

  Returns:
    {"step": last step, "history": [(step, loss)] logged this run, "eval": {evaluator:
     its last measurements with their "step"}, "preempted": bool, "checkpoint_dir": ...,
     "summary_dir": ..., "state": the final train state}.

  Raises:
    NonFiniteError: a measurement became NaN or infinite (the message names the step and
      the measurement); nothing from that step on was saved.
  """
  workdir = os.path.abspath(workdir)
  main_process = is_main_process()
  if main_process:
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
  evaluators = run.evaluators(config)
  summary_dir = os.path.join(workdir, "tensorboard")
  writer = (tf.summary.create_file_writer(summary_dir) if main_process
            else tf.summary.create_noop_writer())
  result = {"step": start_step, "history": [], "eval": {}, "preempted": False,
            "checkpoint_dir": ckpt.directory, "summary_dir": summary_dir, "state": None}

  def run_eval(step, state, names):
    for name in names:
      measurements, images = evaluators[name].run(state)
      _write_scalars(writer, step, {f"eval/{name}/{k}": v for k, v in measurements.items()})
      _write_images(writer, step, {f"eval/{name}/{k}": v for k, v in images.items()})
      logging.info("step %d eval %s: %s", step, name,
                   " ".join(f"{k}={v:.4g}" for k, v in measurements.items()))
      result["eval"][name] = dict(measurements, step=step)

  # Loop.
  batches = run.train_batches(config, start_step)
  pending, last_log = [], time.time()
  progress = tqdm.tqdm(total=config.total_steps, initial=start_step, desc=config.task,
                       disable=not (config.progress and main_process), dynamic_ncols=True)
  try:
    with _Preemption() as preemption:
      for step in range(start_step + 1, config.total_steps + 1):
        batch = sharding.to_global(next(batches), run.batch_sharding)
        state, measurements = run.train_step(state, batch, run.train_rng)
        pending.append(measurements)
        progress.update(1)
        last = step == config.total_steps
        preempted = preemption.requested  # read once: a signal from here on waits a step
        saving = last or preempted or ckpt.due(step)
        logging_now = step % config.log_every_steps == 0 or last
        if saving or logging_now:  # nothing non-finite is ever saved or logged
          pending = jax.device_get(pending)  # host values: fetched once, checked, averaged
          bad = first_non_finite(pending, step - len(pending) + 1)
          if bad is not None:
            ckpt.wait()
            raise NonFiniteError(
                f"step {bad[0]}: train/{bad[1]} = {bad[2]}; stopped without saving it "
                f"(the last good checkpoint, step {ckpt.latest_step()}, is kept in "
                f"{ckpt.directory})")
        if logging_now:
          means = {k: float(np.mean([m[k] for m in pending])) for k in pending[0]}
          means["steps_per_second"] = len(pending) / (time.time() - last_log)
          pending, last_log = [], time.time()
          _write_scalars(writer, step, {f"train/{k}": v for k, v in means.items()})
          result["history"].append((step, means["loss"]))
          progress.set_postfix(loss=f"{means['loss']:.4f}")
          logging.info("step %d: %s", step, " ".join(f"{k}={v:.4g}" for k, v in means.items()))
        if saving:
          ckpt.save(step, state)
        result["step"] = step
        if preempted:
          ckpt.wait()
          logging.warning("preempted: saved step %d to %s", step, ckpt.directory)
          result["preempted"] = True
          break
        run_eval(step, state, [name for name, ev in config.evals.items()
                               if evaluator_base.due(ev, step, config.total_steps)])
    if start_step >= config.total_steps:  # already done: report the final figures again
      run_eval(start_step, state, [name for name, ev in config.evals.items()
                                   if evaluator_base.due(ev, start_step, start_step)])
  finally:
    progress.close()
    ckpt.close()
    writer.close()
  result["state"] = state
  return result


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  config, workdir = _CONFIG.value, _WORKDIR.value
  log_path = console.log_to_workdir(workdir, "train")
  try:
    result = train_and_evaluate(config, workdir)
  except (ConfigError, NonFiniteError) as e:
    sys.exit(f"error: {e}")
  if not is_main_process():
    return
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
  for name, measurements in result["eval"].items():
    print(f"  eval {name} (step {measurements['step']}): " + "  ".join(
        f"{k}={v:.4g}" for k, v in measurements.items() if k != "step"))
  print(f"  checkpoints: {result['checkpoint_dir']}")
  print(f"  summaries:   tensorboard --logdir {result['summary_dir']}")
  print(f"  figures:     {result_path}")
  if log_path:
    print(f"  log:         {log_path}")


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
