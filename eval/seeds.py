"""Figures over several seeds: mean, spread and range of every measurement.

  python eval/seeds.py runs/demo/motion_generator/seed_*/eval.json \\
      --headline lmd,d_l,d_v --json runs/demo/motion_generator/eval.json

Each input is the JSON of `python -m stylehead_jax.evaluate` (one run, one seed). One run
is one draw: a figure is read as mean +- standard deviation over the seeds (sample std,
ddof 1), with the smallest and largest value. Prints the headline measurements as a
table and writes every measurement's summary as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def summarize(reports: list[dict]) -> dict:
  """{evaluator: {measurement: {mean, std, min, max, values}}} over the reports."""
  out = {}
  for name in reports[0]["evals"]:
    rows = [r["evals"][name] for r in reports]
    out[name] = {}
    for key in rows[0]:
      values = np.array([row[key] for row in rows], np.float64)
      out[name][key] = {"mean": float(values.mean()),
                        "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                        "min": float(values.min()), "max": float(values.max()),
                        "values": values.tolist()}
  return out


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("reports", nargs="+", help="evaluate --json files, one per seed")
  parser.add_argument("--headline", default="", help="comma-separated measurements to print")
  parser.add_argument("--json", help="write the summary here")
  args = parser.parse_args(argv)
  try:
    reports = [json.load(open(path)) for path in args.reports]
  except (OSError, ValueError) as e:
    sys.exit(f"error: {e}")
  seeds = [r["config"].get("seed") for r in reports]
  summary = summarize(reports)
  headline = [k for k in args.headline.split(",") if k]
  for name, measurements in summary.items():
    print(f"{reports[0]['config']['task']} / {name} over {len(reports)} seeds {seeds} "
          f"(step {reports[0]['step']}):")
    for key in headline or measurements:
      if key in measurements:
        m = measurements[key]
        print(f"  {key:<16} {m['mean']:.4f} +- {m['std']:.4f}  "
              f"[{m['min']:.4f}, {m['max']:.4f}]")
  if args.json:
    with open(args.json, "w") as f:
      json.dump({"seeds": seeds, "reports": args.reports, "summary": summary}, f, indent=1)
    print(f"  wrote {args.json}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
