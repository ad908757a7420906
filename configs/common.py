"""What every stage config shares: typed `:arg` parsing, the run-loop block, the
optimizer block and evaluator entries. A stage config states only what differs."""

from __future__ import annotations

import ml_collections

from stylehead_jax import overrides


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
  """Parses "runlocal,res=128" into typed values, with types taken from `defaults`.

  A bare word sets a bool to True; `key=value` converts value to the default's type with
  the strict converter of `--set` (stylehead_jax.overrides.convert: `runlocal=ture` is an
  error). Unknown keys fail, so a typo in the `:arg` suffix is an error.
  """
  out = ml_collections.ConfigDict(defaults)
  for item in (arg or "").split(","):
    item = item.strip()
    if not item:
      continue
    key, eq, value = item.partition("=")
    if key not in defaults:
      raise KeyError(f"unknown config argument {key!r}; known: {sorted(defaults)}")
    if isinstance(defaults[key], bool) and not eq:
      out[key] = True
    else:
      out[key] = overrides.convert(key, defaults[key], value)
  return out


def run_loop(task: str) -> ml_collections.ConfigDict:
  """A config with the run-loop block every stage has: mesh and sharding rules, logging,
  checkpoints, progress. Stage configs change what differs."""
  config = ml_collections.ConfigDict()
  config.task = task
  config.seed = 0
  # Data parallel over every device; the model axis is there for larger stages.
  config.mesh = (("data", -1), ("model", 1))
  # Logical axis name -> mesh axis (None: replicated).
  config.sharding_rules = (("batch", "data"), ("hidden", "model"), ("mlp", "model"),
                           ("embed", None), ("mel", None), ("conv_in", None),
                           ("conv_out", "model"))
  config.log_every_steps = 100
  config.checkpoint_every_steps = 1_000
  config.keep_checkpoints = 3
  config.init_from = ""  # a workdir whose latest params start this run (if none here)
  config.progress = True  # tqdm bar
  config.evals = ml_collections.ConfigDict()  # name -> evaluator(...)
  return config


def _block(what: str, values: dict, defaults: dict) -> ml_collections.ConfigDict:
  """`defaults` with `values` replacing some of them (an unknown name is an error)."""
  unknown = sorted(set(values) - set(defaults))
  if unknown:
    raise KeyError(f"unknown {what} field(s) {unknown}; known: {sorted(defaults)}")
  return ml_collections.ConfigDict(dict(defaults, **values))


def data(name: str, features, **values) -> ml_collections.ConfigDict:
  """A data block: dataset `name` (stylehead_jax.datasets) with its builder overrides,
  where it is (data_dir), its splits, windows and the features the stage reads."""
  return _block("data", values, dict(
      name=name,
      overrides="",  # builder values, "key=value,key=value" (a config name of their own)
      data_dir="",  # "" -> $TFDS_DATA_DIR or ~/tensorflow_datasets
      train_split="train", eval_split="test",
      window_frames=64,  # video frames per window (0: whole examples, e.g. images)
      shuffle_buffer=1_000,
      cache=True,  # keep decoded examples in memory
      features=tuple(features)))


def optimizer(name: str = "adamw", lr: float = 1e-4, **values) -> ml_collections.ConfigDict:
  """An optimizer block (stylehead_jax/optim.py documents each field)."""
  return _block("optimizer", values, dict(
      name=name, lr=lr, b1=0.9, b2=0.999, eps=1e-8, momentum=0.9, nesterov=False,
      weight_decay=0.0, grad_clip_norm=0.0, schedule="constant", warmup_steps=0,
      end_lr_fraction=0.0, decay_steps=(), decay_factor=0.1))


def discriminator(lr: float) -> ml_collections.ConfigDict:
  """The image stages' discriminator block: a 2-scale PatchGAN (models/discriminator.py)
  and its Adam (b1 0.5) at `lr`."""
  return ml_collections.ConfigDict(dict(
      scales=2, widths=(64, 128, 256, 512),
      optimizer=optimizer("adam", lr, b1=0.5, b2=0.999)))


def evaluator(kind: str, every_steps: int, **values) -> ml_collections.ConfigDict:
  """An entry of config.evals: an evaluator of type `kind` (stylehead_jax.evaluators) run
  every `every_steps` steps and at the end (training never runs it where every_steps < 0:
  `--config.evals.<name>.every_steps=-1` for a quick run)."""
  return ml_collections.ConfigDict(dict(type=kind, every_steps=every_steps, **values))


def cpu_scale(config: ml_collections.ConfigDict, *, total_steps: int, lr: float,
              batch_size: int = 8, warmup_steps: int = 20) -> ml_collections.ConfigDict:
  """The part of every `runlocal` block that fits a stage to 2 CPU cores: batch sizes,
  steps, and a higher learning rate with a short warm-up for the few steps."""
  config.batch_size = config.eval_batch_size = batch_size
  config.total_steps = total_steps
  config.optimizer.lr = lr
  config.optimizer.warmup_steps = warmup_steps
  return config


def set_values(config: ml_collections.ConfigDict, items) -> ml_collections.ConfigDict:
  """Applies "a.b=value" strings to `config` in place, each typed like the value it
  replaces (stylehead_jax.overrides.convert); unknown keys raise."""
  for item in items or ():
    key, _, value = item.partition("=")
    target = config
    *parents, leaf = key.split(".")
    for name in parents:
      target = target[name]
    target[leaf] = overrides.convert(key, target[leaf], value)
  return config
