"""The Style-Aware Generator's train step and inference at several sizes; prints figures
(JSON).

  python bench/generator_step.py                                    # CPU, :runlocal widths
  python bench/generator_step.py --data_dir /tmp/tfds_syn           # + input wait share
  python bench/generator_step.py --platform gpu --config configs/style_aware_generator.py \\
      --sizes 64,128,256,512 --infer_sizes 128,256,512 --bf16

`--sizes` are output sizes (the input is output / 2^extra_up). Per size: compile time,
train step time, images/s and the compiled step's FLOPs (XLA's cost analysis) with the
achieved TFLOP/s, on random frames already on the device; per `--infer_sizes`: frames/s
of the generator alone (frames.generate on a batch, the ISPs given). With `--data_dir`
the config's own input pipeline (input_pipeline.train_frames at the config's size) feeds
`--input_steps` steps and the share of wall time spent waiting for the next batch is
reported. --bf16 runs matmuls and convolutions with bfloat16 inputs
(jax_default_matmul_precision), float32 accumulation.
"""

import functools
import json
import time

from stylehead_jax import console  # pylint: disable=g-import-not-at-top
console.import_tensorflow()  # first: its C++ start-up lines go to the log

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
import flax.linen as nn
import jax
from ml_collections import config_flags

from stylehead_jax import datasets
from stylehead_jax import frames
from stylehead_jax import input_pipeline
from stylehead_jax.tasks import style_aware_generator as task
import timing  # bench/timing.py, beside this script

_CONFIG = config_flags.DEFINE_config_file("config", "configs/style_aware_generator.py:runlocal",
                                          "Style-Aware Generator config.")
_SIZES = flags.DEFINE_list("sizes", ["64", "128", "256", "512"], "Output sizes, training.")
_INFER = flags.DEFINE_list("infer_sizes", ["128", "256", "512"], "Output sizes, inference.")
_STEPS = flags.DEFINE_integer("steps", 2, "Timed steps per size (after the compiling one).")
_BATCH = flags.DEFINE_integer("batch_size", 0, "0: the config's.")
_DATA_DIR = flags.DEFINE_string("data_dir", "", "TFDS data_dir for the input-wait share.")
_INPUT_STEPS = flags.DEFINE_integer("input_steps", 20, "Steps of the input-wait measure.")
_PLATFORM = flags.DEFINE_enum("platform", "cpu", ["cpu", "gpu", "tpu"], "Backend.")
_BF16 = flags.DEFINE_bool("bf16", False, "bfloat16 matmul/conv inputs.")


def _sized(config, output: int):
  config = config.copy_and_resolve_references()
  config.image_size = output // 2 ** config.model.extra_up
  return config


def _state(config, batch):
  state = jax.jit(lambda r, b: nn.unbox(task.init(config, r, b)))(jax.random.key(0), batch)
  return task.load_pretrained(state, config)


def bench_train(config, output: int) -> dict:
  config = _sized(config, output)
  n = _BATCH.value or config.batch_size
  batch = jax.device_put(frames.random_batch(n, output, map_size=config.image_size))
  state = _state(config, batch)
  step = jax.jit(functools.partial(task.train_step, config=config), donate_argnums=0)
  timed = timing.compile_and_time(step, (state, batch, jax.random.key(1)), _STEPS.value)
  return {"output_size": output, "input_size": config.image_size, "batch_size": n,
          **timing.figures(timed, n)}


def bench_inference(config, output: int) -> dict:
  config = _sized(config, output)
  n = _BATCH.value or config.batch_size
  batch = jax.device_put(frames.random_batch(n, output, map_size=config.image_size))
  state = _state(config, batch)

  def generate(params, batch):
    inputs = frames.prepare(batch, config)
    return frames.generate(params, inputs, inputs["templates"], config)["image"]

  timed = timing.compile_and_time(jax.jit(generate), (state["params"], batch), _STEPS.value,
                                  carry=False)
  figures = timing.figures(timed, n)
  return {"output_size": output, "batch_size": n, "frames_per_s": figures["images_per_s"],
          "step_s": figures["step_s"], "gflop_per_batch": figures["gflop_per_step"]}


def input_wait(config) -> dict:
  """Share of wall time the config's own loop waits for batches (input_pipeline)."""
  config = config.copy_and_resolve_references()
  config.data.data_dir = _DATA_DIR.value
  batches = input_pipeline.train_frames(datasets.get_builder(config.data), config)
  batch = jax.device_put(next(batches))
  state = _state(config, batch)
  step = jax.jit(functools.partial(task.train_step, config=config), donate_argnums=0)
  state, m = step(state, batch, jax.random.key(1))
  jax.block_until_ready(m)
  waited, start = 0.0, time.perf_counter()
  for _ in range(_INPUT_STEPS.value):
    t = time.perf_counter()
    batch = jax.device_put(next(batches))
    waited += time.perf_counter() - t
    state, m = step(state, batch, jax.random.key(1))
    jax.block_until_ready(m)
  total = time.perf_counter() - start
  return {"steps": _INPUT_STEPS.value, "output_size": frames.output_size(config),
          "step_s": round(total / _INPUT_STEPS.value, 4),
          "input_wait_share": round(waited / total, 4)}


def main(argv):
  del argv
  timing.setup(_PLATFORM.value, _BF16.value)
  config = _CONFIG.value
  out = {**timing.header(config, _BF16.value),
         "train": [bench_train(config, int(s)) for s in _SIZES.value],
         "inference": [bench_inference(config, int(s)) for s in _INFER.value]}
  if _DATA_DIR.value:
    out["input"] = input_wait(config)
  print(json.dumps(out, indent=1))


if __name__ == "__main__":
  app.run(main)
