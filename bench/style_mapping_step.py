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
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
import flax.linen as nn
import jax
from ml_collections import config_flags

from stylehead_jax import isp
from stylehead_jax.tasks import style_mapping as task

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
  rng = jax.random.key(1)
  start = time.perf_counter()
  compiled = step.lower(state, batch, rng).compile()
  compile_s = time.perf_counter() - start
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  flops = float(cost.get("flops", float("nan"))) if cost else float("nan")
  state, m = compiled(state, batch, rng)
  jax.block_until_ready(m)
  start = time.perf_counter()
  for _ in range(_STEPS.value):
    state, m = compiled(state, batch, rng)
  jax.block_until_ready(m)
  step_s = (time.perf_counter() - start) / _STEPS.value
  n = len(batch["source"]["frames"])
  return {"size": size, "output_size": size * 2 ** config.model.extra_up, "batch_size": n,
          "compile_s": round(compile_s, 2), "step_s": round(step_s, 4),
          "images_per_s": round(n / step_s, 2), "gflop_per_step": round(flops / 1e9, 2),
          "achieved_tflop_per_s": round(flops / step_s / 1e12, 4)}


def main(argv):
  del argv
  jax.config.update("jax_platforms", _PLATFORM.value)
  if _BF16.value:
    jax.config.update("jax_default_matmul_precision", "bfloat16")
  config = _CONFIG.value
  results = [bench_size(config, int(s)) for s in _SIZES.value]
  print(json.dumps({"device": jax.devices()[0].device_kind, "devices": jax.device_count(),
                    "bf16": _BF16.value, "perceptual": config.loss.perceptual,
                    "gan": config.loss.gan_weight > 0, "sizes": results}, indent=1))


if __name__ == "__main__":
  app.run(main)
