"""The shipped model set: `pretrained/` in the repository, what `animate` uses by default.

  make pretrained                     # trains, calibrates, measures and exports it
  python eval/export_pretrained.py --motion_generator RUN --command "..." [--out DIR]

A shipped set is an animate checkpoints folder (animate.stage_workdirs reads it): per
stage its run's config.json and its latest checkpoint alone (no older steps, no
TensorBoard), the run's calibration and figures where it wrote them (CARRIED), and
MANIFEST_FILE, which says what made it: the commit and the command, the config, the
seconds each step took, every clip the run saw with its licence
(data_prep/real_clips.shippable: train only on those), the clips its figures come from,
and the figures. Stages it lacks are not shipped; the manifest says why
(`not_shipped`), and animate picks the renderer the folder can serve. The command is
eval/export_pretrained.py (this library does not import data_prep, where the clips and
their licences are).
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess

from stylehead_jax import checkpoint

DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pretrained")
MANIFEST_FILE = "MANIFEST.json"
CARRIED = ("calibration.json", "real_mouth.json")  # beside config.json, where present
MAX_BYTES = 60 * 2**20  # the whole folder


def folder_bytes(path: str) -> int:
  return sum(os.path.getsize(os.path.join(root, f))
             for root, _, files in os.walk(path) for f in files)


def _commit() -> str:
  """HEAD's hash, "-dirty" added where tracked files differ from it."""
  git = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True, check=True,
                                  cwd=os.path.dirname(DIR)).stdout.strip()
  try:
    return git("rev-parse", "HEAD") + ("-dirty" if git("status", "--porcelain",
                                                       "--untracked-files=no") else "")
  except (OSError, subprocess.CalledProcessError):
    return "unknown"


def export(motion_generator: str, out: str, *, command: str, seconds: dict,
           clips: dict) -> dict:
  """Writes the shipped set of the Motion Generator run `motion_generator` into `out`
  (replacing it) and returns its manifest. `clips`: the real clips the run saw, by use
  ({"trained_on": [{"clip", "person", "licence", "shippable"}, ...], "calibrated_on": ...,
  "measured_on": ...}: data_prep/real_clips.clips_seen, which this library may not import).

  Raises:
    ValueError: the run trained or was fitted on a clip whose licence does not let its
      weights ship, or the folder would pass MAX_BYTES.
    FileNotFoundError: the run has no checkpoint.
  """
  barred = [c["clip"] for part in ("trained_on", "calibrated_on") for c in clips[part]
            if not c["shippable"]]
  if barred:
    raise ValueError(f"{motion_generator} saw clips whose licence keeps its weights from "
                     f"shipping: {barred} (configs/motion_generator.py:real,shipped)")
  step = checkpoint.newest_step(motion_generator)
  if step is None:
    raise FileNotFoundError(f"{motion_generator}: no config.json or no checkpoint")
  step_dir = os.path.join(checkpoint.checkpoint_dir(motion_generator), str(step))
  staging = out.rstrip("/") + ".partial"
  shutil.rmtree(staging, ignore_errors=True)
  stage_dir = os.path.join(staging, "motion_generator")
  shutil.copytree(step_dir, os.path.join(stage_dir, "checkpoints",
                                         os.path.basename(step_dir)))
  for name in ("config.json",) + CARRIED:
    if os.path.exists(os.path.join(motion_generator, name)):
      shutil.copy(os.path.join(motion_generator, name), stage_dir)
  with open(os.path.join(staging, "checkpoints.json"), "w") as f:
    json.dump({"motion_generator": "motion_generator"}, f, indent=1)
  figures = None
  if os.path.exists(os.path.join(stage_dir, "real_mouth.json")):
    with open(os.path.join(stage_dir, "real_mouth.json")) as f:
      report = json.load(f)
    figures = {"summary": report["summary"], "criteria": report["criteria"],
               "seeds": report["seeds"]}
  manifest = {
      "made": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
      "commit": _commit(),
      "command": command,
      "seconds": seconds,
      "stages": {"motion_generator": {
          "config": "motion_generator/config.json",
          "step": step,
          "clips": clips,
          "real_mouth_figures": figures,
      }},
      "renderer": "warp",
      "not_shipped": {
          "style_mapping": "not trained on real faces at the output's size yet (issue 36)",
          "style_aware_generator": "its :real run draws 128 px and is softer than the warp "
                                   "renderer (CPBD 0.086 vs 0.30): the warp renders",
      },
  }
  with open(os.path.join(staging, MANIFEST_FILE), "w") as f:
    json.dump(manifest, f, indent=1)
  size = folder_bytes(staging)
  if size > MAX_BYTES:
    shutil.rmtree(staging)
    raise ValueError(f"the shipped set would be {size / 2**20:.1f} MB, over "
                     f"{MAX_BYTES / 2**20:.0f} MB")
  shutil.rmtree(out, ignore_errors=True)
  os.replace(staging, out)
  return manifest
