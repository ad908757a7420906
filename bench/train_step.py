"""Throughput of one stage's train step and input pipeline; prints figures.

  python bench/train_step.py --config configs/audio_encoder.py:runlocal
  python bench/train_step.py --config configs/audio_encoder.py --steps 20
  XLA_FLAGS=--xla_force_host_platform_device_count=4 \\
      python bench/train_step.py --config configs/audio_encoder.py:runlocal

Times, separately: compiling the step; the step alone on one batch already on device
(steps/s, examples/s); and the input pipeline alone (host batches/s). A run is input
bound when the pipeline is slower than the step.
"""

import json
import time

from stylehead_jax import console  # pylint: disable=g-import-not-at-top
console.import_tensorflow()  # first: its C++ start-up lines go to the log

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
import jax

from stylehead_jax import sharding
from stylehead_jax import train  # defines --config, as for training

_STEPS = flags.DEFINE_integer("steps", 50, "Timed steps (after one compiling step).")
_BATCHES = flags.DEFINE_integer("batches", 200, "Timed input-pipeline batches.")


def main(argv):
  del argv
  config = flags.FLAGS.config
  run = train.setup(config)
  state = run.init()
  batches = run.train_batches(config)
  batch = sharding.to_global(next(batches), run.batch_sharding)

  start = time.perf_counter()
  state, measurements = run.train_step(state, batch, run.train_rng)
  jax.block_until_ready(measurements)
  compile_s = time.perf_counter() - start

  start = time.perf_counter()
  for _ in range(_STEPS.value):
    state, measurements = run.train_step(state, batch, run.train_rng)
  jax.block_until_ready(measurements)
  step_s = (time.perf_counter() - start) / _STEPS.value

  start = time.perf_counter()
  for _ in range(_BATCHES.value):
    next(batches)
  batch_s = (time.perf_counter() - start) / _BATCHES.value

  figures = {
      "task": config.task, "device": jax.devices()[0].device_kind,
      "devices": jax.device_count(), "mesh": dict(run.mesh.shape),
      "batch_size": config.batch_size, "window_frames": config.data.window_frames,
      "compile_and_first_step_s": round(compile_s, 3),
      "steps_per_s": round(1 / step_s, 2),
      "examples_per_s": round(config.batch_size / step_s, 1),
      "input_batches_per_s": round(1 / batch_s, 1),
      "input_bound": batch_s > step_s,
  }
  print(json.dumps(figures, indent=1))


if __name__ == "__main__":
  flags.mark_flags_as_required(["config"])
  app.run(main)
