"""The stage contract: what a training stage gives `train.py`, `evaluate.py` and `bench/`.

A stage is one module of stylehead_jax.tasks that defines `STAGE = Stage(...)`:

Required:
  name: the stage's name (config.task).
  init(config, rng, batch) -> state: a fresh state {"step", "params", "opt_state", ...},
      parameters boxed with their logical axes (nn.with_logical_partitioning).
  train_step(state, batch, rng, *, config) -> (state, measurements): pure and jittable;
      rng is already folded with the step number; measurements hold "loss".

Optional (None where the stage has no such part):
  load_pretrained(state, config) -> state: fills a fresh state's parts trained by other
      runs (checkpoint.load_into), e.g. a frozen encoder.
  train_batches(builder, config, *, start_step) -> host batches: replaces config.data's
      stream (input_pipeline.train_batches), e.g. windows of one reference clip.
  eval_step(state, batch, *, config) -> sums of measurements weighted by batch["mask"],
      with "count"; eval_images(state, batch, *, config) -> {name: (N, H, W, 3) in
      [0, 1]}: what a "windows" evaluator runs (stylehead_jax/evaluators/windows.py).

Evaluators (config.evals) are not part of a stage: stylehead_jax.evaluators builds them
from the config, and each says which optional parts it needs.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from stylehead_jax.errors import ConfigError

REQUIRED = ("init", "train_step")
OPTIONAL = ("load_pretrained", "train_batches", "eval_step", "eval_images")


@dataclasses.dataclass(frozen=True)
class Stage:
  """A training stage's functions (module docstring)."""
  name: str
  init: Callable
  train_step: Callable
  load_pretrained: Callable | None = None
  train_batches: Callable | None = None
  eval_step: Callable | None = None
  eval_images: Callable | None = None


def check(stage) -> Stage:
  """`stage` if it is a Stage with every required part callable and every optional part
  callable or None; else a ConfigError naming what is wrong."""
  if not isinstance(stage, Stage):
    raise ConfigError(f"a stage module must define STAGE = tasks.base.Stage(...), got "
                      f"{type(stage).__name__}")
  for name in REQUIRED:
    if not callable(getattr(stage, name)):
      raise ConfigError(f"stage {stage.name!r}: {name} is required and must be callable")
  for name in OPTIONAL:
    part = getattr(stage, name)
    if part is not None and not callable(part):
      raise ConfigError(f"stage {stage.name!r}: {name} must be callable or None")
  return stage


def missing(stage: Stage, parts) -> list[str]:
  """The names among `parts` that the stage does not provide."""
  return [p for p in parts if getattr(stage, p) is None]
