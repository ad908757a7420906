"""Helpers shared by the stage configs: typed `:arg` parsing and step conversions."""

from __future__ import annotations

import ml_collections

from data_prep import overrides


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
  """Parses "runlocal,res=128" into typed values, with types taken from `defaults`.

  A bare word sets a bool to True; `key=value` converts value to the default's type.
  Unknown keys fail, so a typo in the `:arg` suffix is an error.
  """
  out = ml_collections.ConfigDict(defaults)
  for item in (arg or "").split(","):
    item = item.strip()
    if not item:
      continue
    key, _, value = item.partition("=")
    if key not in defaults:
      raise KeyError(f"unknown config argument {key!r}; known: {sorted(defaults)}")
    kind = type(defaults[key])
    if kind is bool:
      out[key] = value.lower() not in ("0", "false", "no") if value else True
    else:
      out[key] = kind(value)
  return out


def default_mesh() -> tuple[tuple[str, int], ...]:
  """Data parallel over every device; the model axis is there for larger stages."""
  return (("data", -1), ("model", 1))


def default_sharding_rules() -> tuple[tuple[str, str | None], ...]:
  """Logical axis name -> mesh axis (None: replicated)."""
  return (("batch", "data"), ("hidden", "model"), ("mlp", "model"), ("embed", None),
          ("mel", None), ("conv_in", None), ("conv_out", "model"))


def set_values(config: ml_collections.ConfigDict, items) -> ml_collections.ConfigDict:
  """Applies "a.b=value" strings to `config` in place, each typed like the value it
  replaces (data_prep.overrides.convert); unknown keys raise."""
  for item in items or ():
    key, _, value = item.partition("=")
    target = config
    *parents, leaf = key.split(".")
    for name in parents:
      target = target[name]
    target[leaf] = overrides.convert(key, target[leaf], value)
  return config
