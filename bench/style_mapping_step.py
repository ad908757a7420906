"""Style Mapping's train step at several image sizes; prints figures (JSON).

  python bench/style_mapping_step.py                        # CPU, :runlocal widths
  python bench/style_mapping_step.py --config configs/style_mapping.py --sizes 256
  python bench/style_mapping_step.py --platform gpu --config configs/style_mapping.py \\
      --sizes 64,128,256 --batch_size 16 --bf16

Per size: compile time, step time, images/s (pairs of I_s, I_r per second) and the
compiled step's FLOPs (XLA's cost analysis) with the achieved TFLOP/s. The batch is
random frames already on the device, so the figures are the step's alone (bench/
train_step.py times the input pipeline). --bf16 runs matmuls and convolutions with
bfloat16 inputs (jax_default_matmul_precision), float32 accumulation.
"""

import functools
import json

from stylehead_jax import console  # pylint: disable=g-import-not-at-top
console.import_tensorflow()  # first: its C++ start-up lines go to the log

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
import flax.linen as nn
import jax
from ml_collections import config_flags

from stylehead_jax import isp
from stylehead_jax.tasks import style_mapping as task
import timing  # bench/timing.py, beside this script

_CONFIG = config_flags.DEFINE_config_file("config", "configs/style_mapping.py:runlocal",
                                          "Style Mapping config.")
_SIZES = flags.DEFINE_list("sizes", ["64", "128", "256"], "Input image sizes.")
_STEPS = flags.DEFINE_integer("steps", 3, "Timed steps per size (after the compiling one).")
_BATCH = flags.DEFINE_integer("batch_size", 0, "0: the config's.")
_PLATFORM = flags.DEFINE_enum("platform", "cpu", ["cpu", "gpu", "tpu"], "Backend.")
_BF16 = flags.DEFINE_bool("bf16", False, "bfloat16 matmul/conv inputs.")


def bench_size(config, size: int) -> dict:
  config = config.copy_and_resolve_references()
  config.image_size = size
  batch = isp.random_pairs(_BATCH.value or config.batch_size, size * 2 ** config.model.extra_up)
  batch = jax.device_put(batch)
  state = jax.jit(lambda r, b: nn.unbox(task.init(config, r, b)))(jax.random.key(0), batch)
  state = task.load_pretrained(state, config)
  step = jax.jit(functools.partial(task.train_step, config=config), donate_argnums=0)
  timed = timing.compile_and_time(step, (state, batch, jax.random.key(1)), _STEPS.value)
  n = len(batch["source"]["frames"])
  return {"size": size, "output_size": size * 2 ** config.model.extra_up, "batch_size": n,
          **timing.figures(timed, n)}


def main(argv):
  del argv
  timing.setup(_PLATFORM.value, _BF16.value)
  config = _CONFIG.value
  results = [bench_size(config, int(s)) for s in _SIZES.value]
  print(json.dumps({**timing.header(config, _BF16.value), "sizes": results}, indent=1))


if __name__ == "__main__":
  app.run(main)
