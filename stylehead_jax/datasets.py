"""Datasets by name: the TFDS builders the library reads, without importing their code.

Builders register under the `stylehead_jax.datasets` entry-point group (pyproject.toml;
this project's builders are registered there). An entry names a module that defines `BUILDER` (a
tfds.core.DatasetBuilder class) and `make_config(overrides) -> BuilderConfig`; a package
of one's own registers its datasets the same way and every stage can read them. The
library thus depends on the builders' interface only: builders import the library, never
the reverse.

  builder = datasets.make_builder("synthetic_talking_heads", data_dir, {"resolution": "128"})
"""

from __future__ import annotations

import functools
from importlib import metadata
import os

from absl import logging

from stylehead_jax import console
from stylehead_jax import overrides as overrides_lib

GROUP = "stylehead_jax.datasets"


@functools.cache
def _entry_points() -> dict:
  return {ep.name: ep for ep in metadata.entry_points(group=GROUP)}


def names() -> tuple[str, ...]:
  """The registered dataset names, sorted."""
  return tuple(sorted(_entry_points()))


def builder_module(name: str):
  """The registered module of dataset `name` (its BUILDER and make_config)."""
  points = _entry_points()
  if name not in points:
    known = ", ".join(sorted(points)) or "none: is the package installed (pip install -e .)?"
    raise ValueError(f"unknown dataset {name!r}; known: {known}")
  console.import_tensorflow()  # builders import TFDS: its start-up lines go to the log
  return points[name].load()


def make_builder(name: str, data_dir: str | None, overrides: dict[str, str] | None = None):
  """The TFDS builder of dataset `name` in `data_dir`, configured by `overrides`."""
  module = builder_module(name)
  if not overrides:  # the registered default config
    return module.BUILDER(data_dir=data_dir)
  return module.BUILDER(data_dir=data_dir, config=module.make_config(overrides))


def get_builder(data_config):
  """The builder of a config's `data` block ({name, overrides, data_dir}), prepared
  first if it was never built (the synthetic worlds build in seconds; a dataset that
  needs the user's media says so in its error)."""
  tf = console.import_tensorflow()
  data_dir = data_config.data_dir or os.environ.get("TFDS_DATA_DIR") or None
  builder = make_builder(data_config.name, data_dir, overrides_lib.parse(data_config.overrides))
  if not tf.io.gfile.exists(os.path.join(builder.data_dir, "dataset_info.json")):
    logging.info("preparing %s in %s", builder.name, builder.data_dir)
    builder.download_and_prepare()
  return builder
