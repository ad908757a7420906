"""The front door: the README's size and links, and the check of its make demo-train figures."""

import importlib.util
import json
import re

import pytest

from tests.conftest import REPO

_SPEC = importlib.util.spec_from_file_location("check_demo_figures",
                                               REPO / "eval" / "check_demo_figures.py")
check_demo_figures = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(check_demo_figures)

README = (REPO / "README.md").read_text()


def test_the_readme_is_a_front_door_and_its_links_resolve():
  assert len(README.splitlines()) <= 200
  for page in ["README.md", *[p.name for p in (REPO / "docs").glob("*.md")]]:
    text = (REPO / "docs" / page).read_text() if page != "README.md" else README
    base = REPO / "docs" if page != "README.md" else REPO
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
      if "://" not in target:
        assert (base / target).exists(), f"{page} links to {target}, which is missing"


def _runs_with(tmp_path, rows, scale=None):
  """A runs folder whose JSON holds every quoted figure (twice its tolerance off for the
  row named `scale`)."""
  files = {}
  for row in rows:
    value = row["value"] * (1 + 2 * row["tolerance"] if row["what"] == scale else 1.0)
    node = files.setdefault(row["file"], {})
    *parents, last = row["key"].split(".")
    for part in parents:
      node = node.setdefault(part, {})
    node[last] = value
  for name, content in files.items():
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(json.dumps(content))
  return tmp_path


def test_the_demo_figures_are_checked_against_the_runs(tmp_path, capsys):
  rows = check_demo_figures.quoted_figures(README)
  assert len(rows) >= 5 and {r["file"] for r in rows} >= {"motion_generator/eval.json",
                                                           "animation.json"}
  runs = _runs_with(tmp_path / "same", rows)
  assert check_demo_figures.main(["--runs", str(runs)]) == 0
  assert f"{len(rows)} of {len(rows)} README figures within" in capsys.readouterr().out
  # One figure off by twice its tolerance, then a run that wrote nothing: both fail.
  off = _runs_with(tmp_path / "off", rows, scale=rows[0]["what"])
  assert check_demo_figures.main(["--runs", str(off)]) == 1
  out = capsys.readouterr().out
  assert f"DIFF {rows[0]['what']}:" in out and out.count("DIFF") == 1, out
  assert check_demo_figures.main(["--runs", str(tmp_path / "nothing")]) == 1
  assert f"0 of {len(rows)} README figures" in capsys.readouterr().out


def test_a_readme_without_the_table_is_an_error():
  with pytest.raises(ValueError, match="no table"):
    check_demo_figures.quoted_figures("# a README\n")
