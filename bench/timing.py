"""What the step benchmarks share: the backend and precision, compile a jitted function
once, time its steps, read the compiled program's FLOPs from XLA's cost analysis, and the
header of the printed figures."""

import time

import jax


def compile_and_time(fn, args, steps: int, *, carry: bool = True) -> dict:
  """Compiles jitted `fn` for `args`, runs it once, then times `steps` calls.

  With `carry` the first output replaces the first argument between calls (a train step
  whose state is donated). Returns {"compile_s", "step_s", "flops"} (flops NaN where the
  backend gives no cost analysis) and the last output as "out".
  """
  start = time.perf_counter()
  compiled = fn.lower(*args).compile()
  compile_s = time.perf_counter() - start
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  flops = float(cost.get("flops", float("nan"))) if cost else float("nan")
  args = list(args)
  out = compiled(*args)
  jax.block_until_ready(out)
  start = time.perf_counter()
  for _ in range(steps):
    if carry:
      args[0] = out[0]
    out = compiled(*args)
  jax.block_until_ready(out)
  return {"compile_s": compile_s, "step_s": (time.perf_counter() - start) / steps,
          "flops": flops, "out": out}


def figures(timed: dict, items: int) -> dict:
  """The printed figures of a compile_and_time result over `items` images per call."""
  step_s, flops = timed["step_s"], timed["flops"]
  return {"compile_s": round(timed["compile_s"], 2), "step_s": round(step_s, 4),
          "images_per_s": round(items / step_s, 2), "gflop_per_step": round(flops / 1e9, 2),
          "achieved_tflop_per_s": round(flops / step_s / 1e12, 4)}


def setup(platform: str, bf16: bool) -> None:
  """Runs JAX on `platform`; with `bf16`, matmuls and convolutions take bfloat16 inputs
  (jax_default_matmul_precision), float32 accumulation."""
  jax.config.update("jax_platforms", platform)
  if bf16:
    jax.config.update("jax_default_matmul_precision", "bfloat16")


def header(config, bf16: bool) -> dict:
  """What every image-stage benchmark prints first: device, precision, losses on."""
  return {"device": jax.devices()[0].device_kind, "devices": jax.device_count(),
          "bf16": bf16, "perceptual": config.loss.perceptual,
          "gan": config.loss.gan_weight > 0}
