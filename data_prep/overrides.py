"""`--set key=value` overrides of builder configs: parsing, typing, naming."""

from __future__ import annotations

import dataclasses
from typing import Any


def parse(items) -> dict[str, str]:
  """["a=1", "b=x"] or "a=1,b=x" -> {"a": "1", "b": "x"}."""
  if isinstance(items, str):
    items = [i for i in items.split(",") if i.strip()]
  out = {}
  for item in items or ():
    if "=" not in item:
      raise ValueError(f"--set expects key=value, got {item!r}")
    key, value = item.split("=", 1)
    out[key.strip()] = value.strip()
  return out


def apply(config: Any, overrides: dict[str, Any], *, what: str, skip=()) -> Any:
  """A copy of dataclass `config` with string overrides converted to each field's type.

  Tuples are written "a+b"; bools "true"/"false"; unknown keys and bad values raise
  with the key in the message.
  """
  known = sorted(f.name for f in dataclasses.fields(config) if f.name not in skip)
  typed = {}
  for key, value in overrides.items():
    if key not in known:
      raise KeyError(f"unknown {what} value {key!r}; known: {known}")
    current = getattr(config, key)
    if not isinstance(value, str):
      typed[key] = value
    elif isinstance(current, tuple):
      typed[key] = tuple(value.split("+"))
    elif isinstance(current, bool):
      if value.lower() not in ("true", "false", "1", "0"):
        raise ValueError(f"{key}={value!r}: expected true or false")
      typed[key] = value.lower() in ("true", "1")
    else:
      try:
        typed[key] = type(current)(value)
      except ValueError:
        raise ValueError(f"{key}={value!r}: expected {type(current).__name__}") from None
  return dataclasses.replace(config, **typed)


def config_name(overrides: dict[str, str]) -> str:
  """A readable, stable builder-config name for a set of overrides."""
  if not overrides:
    return "default"
  parts = [f"{k}-{v}".replace("+", "_").replace("/", "_") for k, v in sorted(overrides.items())]
  return "_".join(parts)
