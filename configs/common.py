"""Helpers shared by the stage configs: typed `:arg` parsing and step conversions."""

from __future__ import annotations

import ml_collections


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
  """Applies "a.b=value" strings to `config` in place, each converted to the type of the
  value it replaces (bools from true/false, tuples from "x+y"); unknown keys raise."""
  for item in items or ():
    key, _, value = item.partition("=")
    target = config
    *parents, leaf = key.split(".")
    for name in parents:
      target = target[name]
    current = target[leaf]
    if isinstance(current, bool):
      target[leaf] = value.lower() in ("1", "true", "yes")
    elif isinstance(current, tuple):
      kind = type(current[0]) if current else str
      target[leaf] = tuple(kind(v) for v in value.split("+") if v)
    else:
      target[leaf] = type(current)(value)
  return config
