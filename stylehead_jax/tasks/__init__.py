"""Training stages, one per module, each defining `STAGE` (tasks/base.py: the contract).

No stage imports another: what two stages share (the Motion Generator's loss, style
references, optimizers, the two-player update) lives in the library beside them.
"""

import importlib

from stylehead_jax.errors import ConfigError
from stylehead_jax.tasks import base

STAGES = ("audio_encoder", "motion_generator", "style_transfer", "glamor", "style_mapping",
          "style_aware_generator", "mouth_painter")


def get(name: str) -> base.Stage:
  """The checked Stage of task `name`."""
  if name not in STAGES:
    raise ConfigError(f"unknown task {name!r}; known: {', '.join(STAGES)}")
  module = importlib.import_module(f"stylehead_jax.tasks.{name}")
  return base.check(getattr(module, "STAGE", None))
