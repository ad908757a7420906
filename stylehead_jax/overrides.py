"""`key=value` strings -> typed values: builder `--set`, config `--set` and `:arg` suffixes.

One strict converter (`convert`) serves all three: a value takes the type of the value it
replaces; booleans are true/false/yes/no/1/0 (anything else is an error, so a typo such
as `runlocal=ture` fails instead of reading as True); tuples are written "a+b".
"""

from __future__ import annotations

import dataclasses
from typing import Any

TRUE = ("true", "yes", "1")
FALSE = ("false", "no", "0")


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


def convert(key: str, current: Any, value: Any) -> Any:
  """String `value` as the type of `current` (the value it replaces): tuples from "a+b"
  (elements typed like the first current one), bools from TRUE / FALSE. Non-strings pass.

  Raises:
    ValueError: the value does not read as that type (the key is in the message).
  """
  if not isinstance(value, str):
    return value
  if isinstance(current, tuple):
    parts = [v for v in value.split("+") if v]
    return tuple(convert(key, current[0], v) for v in parts) if current else tuple(parts)
  if isinstance(current, bool):
    if value.lower() not in TRUE + FALSE:
      raise ValueError(f"{key}={value!r}: expected true or false")
    return value.lower() in TRUE
  try:
    return type(current)(value)
  except ValueError:
    raise ValueError(f"{key}={value!r}: expected {type(current).__name__}") from None


def apply(config: Any, overrides: dict[str, Any], *, what: str, skip=()) -> Any:
  """A copy of dataclass `config` with string overrides converted to each field's type.

  Unknown keys and bad values raise with the key in the message.
  """
  known = sorted(f.name for f in dataclasses.fields(config) if f.name not in skip)
  typed = {}
  for key, value in overrides.items():
    if key not in known:
      raise KeyError(f"unknown {what} value {key!r}; known: {known}")
    typed[key] = convert(key, getattr(config, key), value)
  return dataclasses.replace(config, **typed)


def config_name(overrides: dict[str, str]) -> str:
  """A readable, stable builder-config name for a set of overrides."""
  if not overrides:
    return "default"
  parts = [f"{k}-{v}".replace("+", "_").replace("/", "_") for k, v in sorted(overrides.items())]
  return "_".join(parts)
