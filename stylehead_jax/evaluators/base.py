"""The evaluator registry, keyed by `config.evals.<name>.type` (as big_vision's).

  config.evals.motion = dict(type="motion", every_steps=500, max_clips=64, ...)

Each type is a module of stylehead_jax.evaluators whose `Evaluator(context, config,
eval_config)` (a subclass of `Evaluator` here) has `run(state) -> (measurements, images)`
and names in `NEEDS` the optional stage parts it calls (tasks/base.py). Training runs each
evaluator every `every_steps` steps and at the last step (never where every_steps < 0);
`python -m stylehead_jax.evaluate` runs them all on a checkpoint. Measurements go to TensorBoard as
eval/<name>/<key>, images as eval/<name>/<image name>: a batch (n, H, W, 3) in [0, 1], or,
under a name ending in "_video", the frames (T, H, W, 3) of one clip (an animated GIF).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from stylehead_jax.errors import ConfigError
from stylehead_jax.tasks import base as stage_base

TYPES = ("windows", "motion", "style_transfer", "emotion", "isp", "frames", "mouth_frames")


@dataclasses.dataclass(frozen=True)
class Context:
  """What an evaluator may use of the run that built it."""
  stage: stage_base.Stage
  builder: Any  # the dataset's TFDS builder, or None
  mesh: Any
  state_sharding: Any
  batch_sharding: Any


class Evaluator:
  """What every evaluator keeps: the run's context (its builder), the config and its own
  entry of config.evals. Types subclass it and define `run`."""
  NEEDS: tuple[str, ...] = ()

  def __init__(self, context: Context, config, eval_config):
    self.context, self.builder = context, context.builder
    self.config, self.eval_config = config, eval_config

  def run(self, state) -> tuple[dict, dict]:
    raise NotImplementedError


def round_robin(groups, limit: int) -> list:
  """Up to `limit` items taken one from each group in turn (clips of several speakers,
  so that a few clips still span speakers)."""
  queues, out = [list(g) for g in groups], []
  while len(out) < limit and any(queues):
    for q in queues:
      if q and len(out) < limit:
        out.append(q.pop(0))
  return out


def build(context: Context, config) -> dict[str, Any]:
  """{name: Evaluator} for every entry of config.evals, in order."""
  evaluators = {}
  for name, eval_config in config.evals.items():
    kind = eval_config.get("type")
    if kind not in TYPES:
      raise ConfigError(f"config.evals.{name}.type={kind!r}: one of {TYPES}")
    module = importlib.import_module(f"stylehead_jax.evaluators.{kind}")
    absent = stage_base.missing(context.stage, module.Evaluator.NEEDS)
    if absent:
      raise ConfigError(f"config.evals.{name}: a {kind!r} evaluator needs the stage's "
                        f"{', '.join(absent)}, which stage {context.stage.name!r} lacks")
    evaluators[name] = module.Evaluator(context, config, eval_config)
  return evaluators


def due(eval_config, step: int, total_steps: int) -> bool:
  """Whether training runs an evaluator after `step`: every `every_steps` and at the end;
  never where every_steps < 0 (a quick run that only checkpoints; `python -m
  stylehead_jax.evaluate` still runs it)."""
  if eval_config.every_steps < 0:
    return False
  return step == total_steps or (eval_config.every_steps > 0
                                 and step % eval_config.every_steps == 0)
