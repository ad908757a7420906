"""GLAMOR-Net's Table 2 ablation on one dataset, every variant with the same budget.

  python eval/glamor_ablation.py --workdir runs/glamor_ablation --json OUT
  python eval/glamor_ablation.py --workdir W --config_arg runlocal \\
      --variants face,gla --set total_steps=3000 --set seed=1

Trains configs/glamor.py (`--config_arg`, default runlocal on synthetic_context_emotion) once
per variant in WORKDIR/<variant> (a finished or interrupted run there resumes, so a
re-run only evaluates), then prints one row per variant: accuracy, accuracy on clear and
ambiguous faces (synthetic scenes), and the attention's mass on the stored cues over a
uniform map's. Writes the rows as JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import os

from stylehead_jax import console  # pylint: disable=g-import-not-at-top
console.import_tensorflow()  # first: its C++ start-up lines go to the log

from absl import logging

from configs import common
from configs import glamor as glamor_config
from stylehead_jax import train
from stylehead_jax.models import glamor

COLUMNS = ("accuracy", "accuracy_clear", "accuracy_ambiguous", "attention_mass_ratio")
PAPER_NAMES = {"face": "w/F", "masked_context": "w/mC", "face_context": "w/fC",
               "context_attention": "w/CA", "gla": "w/GLA"}


def load_config(arg: str, variant: str, overrides: list[str]):
  """configs/glamor.py:<arg>,variant=<variant>, then the --set values."""
  arg = ",".join(a for a in (arg, f"variant={variant}") if a)
  return common.set_values(glamor_config.get_config(arg), overrides)


def run(args) -> list[dict]:
  rows = []
  for variant in args.variants.split(","):
    if variant not in glamor.VARIANTS:
      raise SystemExit(f"error: unknown variant {variant!r}; known: {', '.join(glamor.VARIANTS)}")
    config = load_config(args.config_arg, variant, args.set)
    config.progress = not args.quiet
    result = train.train_and_evaluate(config, os.path.join(args.workdir, variant))
    rows.append({"variant": variant, "paper": PAPER_NAMES[variant], "steps": result["step"],
                 **{k: result["eval"]["emotion"].get(k) for k in COLUMNS}})
  return rows


def table(rows: list[dict]) -> str:
  lines = ["| variant | steps | " + " | ".join(COLUMNS) + " |",
           "|---" * (len(COLUMNS) + 2) + "|"]
  for row in rows:
    cells = ["-" if row[k] is None else f"{row[k]:.3f}" for k in COLUMNS]
    lines.append(f"| {row['paper']} ({row['variant']}) | {row['steps']} | " +
                 " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--workdir", required=True, help="one subfolder per variant")
  parser.add_argument("--config_arg", default="runlocal",
                      help="the :arg of configs/glamor.py, e.g. runlocal,dataset=caer_s")
  parser.add_argument("--variants", default=",".join(glamor.VARIANTS))
  parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="config value for every variant, e.g. data.data_dir=DIR")
  parser.add_argument("--json", help="write the rows here")
  parser.add_argument("--quiet", action="store_true", help="no progress bars")
  args = parser.parse_args(argv)
  logging.set_verbosity(logging.WARNING)
  rows = run(args)
  print(table(rows))
  if args.json:
    with open(args.json, "w") as f:
      json.dump(rows, f, indent=1)
  return rows


if __name__ == "__main__":
  main()
