"""Evaluator "windows": the stage's eval_step summed over every window of the eval split.

Every clip of config.data.eval_split is cut into consecutive windows (whole examples for
image datasets), padded into full sharded batches; the stage's eval_step returns sums
weighted by batch["mask"] with a "count", and the measurements are the sums / count, with
num_windows. Images: the stage's eval_images of the first batch.
"""

from __future__ import annotations

import functools

import jax

from stylehead_jax import input_pipeline
from stylehead_jax import sharding
from stylehead_jax.errors import ConfigError
from stylehead_jax.evaluators import base


class Evaluator(base.Evaluator):
  NEEDS = ("eval_step", "eval_images")

  def __init__(self, context, config, eval_config):
    super().__init__(context, config, eval_config)
    self._sums = jax.jit(functools.partial(context.stage.eval_step, config=config),
                         in_shardings=(context.state_sharding, context.batch_sharding),
                         out_shardings=sharding.replicated(context.mesh))

  def run(self, state) -> tuple[dict, dict]:
    config, context = self.config, self.context
    totals, images = {}, {}
    for batch in input_pipeline.eval_batches(context.builder, config):
      batch = sharding.to_global(batch, context.batch_sharding)
      for k, v in jax.device_get(self._sums(state, batch)).items():
        totals[k] = totals.get(k, 0.0) + float(v)
      if not images:
        images = jax.device_get(context.stage.eval_images(state, batch, config=config))
    count = totals.pop("count", 0.0)
    if not count:
      raise ConfigError(f"eval split {config.data.eval_split!r} has no window of "
                        f"{config.data.window_frames} frames")
    measurements = {k: v / count for k, v in totals.items()}
    measurements["num_windows"] = count
    return measurements, images
