"""Training stages, one per module. Each exposes:

  FEATURES: the dataset features its batches need;
  init(config, rng, batch) -> state  (params boxed with logical axes);
  train_step(state, batch, rng, *, config) -> (state, measurements), where rng is
      already folded with the step number by train.py;
  eval_step(state, batch, *, config) -> sums of measurements (weighted by batch["mask"]);
  eval_images(state, batch, *, config) -> {name: (N, H, W, 3) float in [0, 1]}.

Optional:
  evaluate(state, builder, config) -> (measurements, images): replaces the two above
      for stages evaluated on whole clips rather than windows;
  load_pretrained(state, config) -> state: fills a fresh state's pretrained parts;
  train_batches(builder, config, *, start_step) -> host batches: replaces config.data's
      training stream (a stage that trains on one reference clip).
"""

import importlib


class ConfigError(ValueError):
  """A config value a stage cannot work with; the CLIs print it as one line."""

STAGES = ("audio_encoder", "motion_generator", "style_transfer", "glamor")


def get(name: str):
  if name not in STAGES:
    raise ValueError(f"unknown task {name!r}; known: {', '.join(STAGES)}")
  return importlib.import_module(f"stylehead_jax.tasks.{name}")
