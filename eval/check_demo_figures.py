"""Checks the README's `make demo-train` figures against the JSON a `make demo-train` run wrote.

  python eval/check_demo_figures.py [--readme README.md] [--runs runs/demo]
      [--scale 1.0]

The README's table between the markers `<!-- make demo figures -->` and
`<!-- end make demo figures -->` quotes each figure with its tolerance and source: a row
`| what | value | N% | FILE KEY.PATH |` says that `value` is the number at KEY.PATH (dots
between keys) in RUNS/FILE, reproduced within N% (relative). Prints a line per figure and
exits 1 if any differs by more, or if the table or a source is missing. `make demo-train` runs
it last.

Tolerances: a fresh clone on the same machine gives the same digits (the Motion
Generator's seed-0 training equal to the last digit at d450a68 and at f2bb8e3); another
processor's float arithmetic moves what is trained (the 3-seed LMD mean was 3.27, 3.54 and
4.14 on three machines), while the baselines that train nothing (a still face) do not
move. --scale multiplies every row's tolerance.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

BEGIN, END = "<!-- make demo figures -->", "<!-- end make demo figures -->"
_ROW = re.compile(r"^\|\s*(?P<what>[^|]+?)\s*\|\s*(?P<value>-?[\d.,]+)\s*\|\s*"
                  r"(?P<tolerance>[\d.]+)%\s*\|\s*`(?P<file>[^` ]+)\s+(?P<key>[^`]+)`\s*\|\s*$")


def quoted_figures(readme: str) -> list[dict]:
  """[{what, value, tolerance, file, key}] of the README's make demo table (ValueError if
  absent); tolerance is relative (0.05 for 5%)."""
  if BEGIN not in readme or END not in readme:
    raise ValueError(f"no table between {BEGIN} and {END}")
  block = readme.split(BEGIN, 1)[1].split(END, 1)[0]
  rows = []
  for line in block.splitlines():
    match = _ROW.match(line.strip())
    if match:
      row = match.groupdict()
      row["value"] = float(row["value"].replace(",", ""))
      row["tolerance"] = float(row["tolerance"]) / 100
      rows.append(row)
  if not rows:
    raise ValueError(f"the table between {BEGIN} and {END} has no figure rows")
  return rows


def lookup(runs: str, file: str, key: str) -> float:
  """The number at dotted `key` in the JSON file RUNS/FILE."""
  with open(os.path.join(runs, file)) as f:
    value = json.load(f)
  for part in key.split("."):
    value = value[part]
  return float(value)


def check(rows: list[dict], runs: str, scale: float = 1.0
          ) -> list[tuple[dict, float | None, bool]]:
  """[(row, the run's value or None where missing, within its tolerance x scale)]."""
  out = []
  for row in rows:
    try:
      got = lookup(runs, row["file"], row["key"])
    except (OSError, KeyError, TypeError, ValueError):
      out.append((row, None, False))
      continue
    quoted = row["value"]
    ok = abs(got - quoted) <= scale * row["tolerance"] * max(abs(quoted), 1e-12)
    out.append((row, got, ok))
  return out


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--readme", default=os.path.join(os.path.dirname(__file__), "..",
                                                       "README.md"))
  parser.add_argument("--runs", default="runs/demo", help="make demo-train's DEMO_WORKDIR")
  parser.add_argument("--scale", type=float, default=1.0,
                      help="times every row's tolerance (default %(default)s)")
  args = parser.parse_args(argv)
  with open(args.readme) as f:
    try:
      rows = quoted_figures(f.read())
    except ValueError as e:
      print(f"error: {args.readme}: {e}", file=sys.stderr)
      return 1
  results = check(rows, args.runs, args.scale)
  for row, got, ok in results:
    shown = "missing" if got is None else f"{got:.4g}"
    print(f"{'ok  ' if ok else 'DIFF'} {row['what']}: README {row['value']:g} "
          f"(+-{args.scale * row['tolerance']:.0%}), this run {shown} "
          f"({row['file']} {row['key']})")
  bad = sum(not ok for _, _, ok in results)
  print(f"{len(results) - bad} of {len(results)} README figures within their tolerance in "
        f"{args.runs}")
  return 1 if bad else 0


if __name__ == "__main__":
  sys.exit(main())
