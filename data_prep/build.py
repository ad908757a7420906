"""Prepares a dataset: `python -m data_prep.build <dataset> --data_dir DIR [--set k=v ...]`.

  python -m data_prep.build synthetic_talking_heads --data_dir ~/tensorflow_datasets
  python -m data_prep.build synthetic_talking_heads --data_dir DIR --set resolution=128

`--set key=value` (repeatable) changes a builder config value; the builder then gets a
config name of its own (printed), which training configs name in `config.data.overrides`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads

BUILDERS = ("synthetic_talking_heads",)


def parse_overrides(items) -> dict[str, str]:
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


def make_builder(name: str, data_dir: str | None, overrides: dict[str, str] | None = None):
  """The TFDS builder of one of our datasets, configured by `overrides`."""
  if name == "synthetic_talking_heads":
    from data_prep import synthetic_talking_heads as sth  # pylint: disable=g-import-not-at-top
    if not overrides:  # the registered default config
      return sth.SyntheticTalkingHeads(data_dir=data_dir)
    config = sth.synthetic_talking_heads.make_config(overrides)
    return sth.SyntheticTalkingHeads(data_dir=data_dir, config=config)
  raise ValueError(f"unknown dataset {name!r}; known: {', '.join(BUILDERS)}")


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="python -m data_prep.build", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("dataset", choices=BUILDERS, help="which builder to run")
  parser.add_argument("--data_dir", "-d", required=True, help="TFDS data directory to write")
  parser.add_argument("--set", "-s", dest="overrides", action="append", default=[],
                      metavar="KEY=VALUE", help="builder config value (repeatable)")
  args = parser.parse_args(argv)
  try:
    builder = make_builder(args.dataset, args.data_dir, parse_overrides(args.overrides))
  except (KeyError, ValueError) as e:
    parser.error(str(e.args[0] if e.args else e))
  start = time.time()
  builder.download_and_prepare()
  splits = ", ".join(f"{k}: {v.num_examples}" for k, v in builder.info.splits.items())
  print(f"{builder.name}/{builder.builder_config.name} {builder.version} ready in "
        f"{builder.data_dir} ({splits}; {time.time() - start:.1f} s)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
