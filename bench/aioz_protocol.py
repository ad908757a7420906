"""`eval/metrics.py --protocol aioz` side by side with the paper's released metric
scripts, and its memory on a long pair; prints figures (one JSON line per run).

  python bench/aioz_protocol.py                                # ours, the benchmark pair
  python bench/aioz_protocol.py --released DIR --released_python PY [--sweep]
  python bench/aioz_protocol.py --long_minutes 10 --skip_pair  # memory on a long pair

The benchmark pair (../shared/data/real): generated style_lp_d12.mp4 (7.3 s), reference
talk_hdtf_aoc.mp4 (8.1 s), both 512 x 512 at 25 fps.

--released DIR: a copy of aioz-ai/AudioDrivenStyleTransfer's src/style_metrics (not part
of this repository), and PY a Python with what it imports (dlib, opencv-python, imutils,
pandas, tqdm; torch is imported and not used). It runs as released in a temporary
folder: the pair as clips/pair.mp4 (reference) and ravdess_output/pair.mp4 (generated),
dlib's predictor beside it, the bundled ffmpeg first on PATH; prepare.py (ffmpeg and
landmarks), then for each fixed (window, stride) its own three full_term_* functions, as
lmd_windows.py calls them for one pair; with --sweep, lmd_windows.py and average_all.py
(every window 10..100 and stride 1..19: hours on 2 cores).

Each run: wall seconds, CPU seconds (user + system of the command and everything it
started), and peak memory: the sum of the resident sets of the command and its
descendants, sampled every 20 ms.
"""

import argparse
import json
import os
import pathlib
import re
import shutil
import sys
import tempfile

import processes  # bench/processes.py, beside this file
from stylehead_jax import media
from stylehead_jax.landmarks import detectors

REPO = pathlib.Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "real"
FIXED = [(20, 5), (60, 30)]
VALUES = re.compile(r"SMD: (\S+), SLV: (\S+), SLD: (\S+)")


def ours(generated, reference, *flags) -> dict:
  with tempfile.TemporaryDirectory() as tmp:
    result = processes.measured(
        [sys.executable, str(REPO / "eval" / "metrics.py"), "--protocol", "aioz", "-g",
         str(generated), "-r", str(reference), *map(str, flags), "--json",
         os.path.join(tmp, "out.json")], cwd=REPO)
    values = json.load(open(os.path.join(tmp, "out.json")))
  del result["stdout"]
  return {"side": "ours", "flags": " ".join(map(str, flags)), **result,
          **{k: values["metrics"].get(k) for k in ("sld", "slv", "smd", "cpbd")},
          "frames": values["frames_compared"], "notes": values["notes"]}


def _released_folder(released: pathlib.Path, generated, reference) -> pathlib.Path:
  folder = pathlib.Path(tempfile.mkdtemp(prefix="aioz_released_"))
  for script in ("prepare.py", "utils.py", "lmd_windows.py", "average_all.py"):
    shutil.copy(released / script, folder)
  shutil.copy(detectors.dlib_predictor_path(), folder)
  for name, video in (("clips", reference), ("ravdess_output", generated)):
    (folder / name).mkdir()
    shutil.copy(video, folder / name / "pair.mp4")
  (folder / "bin").mkdir()
  os.symlink(media.ffmpeg_exe(), folder / "bin" / "ffmpeg")
  return folder


def released_runs(args, generated, reference):
  folder = _released_folder(pathlib.Path(args.released), generated, reference)
  env = {**os.environ, "PATH": f"{folder / 'bin'}:{os.environ['PATH']}"}
  python = args.released_python
  try:
    prepare = processes.measured([python, "prepare.py"], folder, env)
    del prepare["stdout"]
    yield {"side": "released", "step": "prepare.py (ffmpeg, JPEG frames, landmarks)",
           **prepare}
    for window, stride in FIXED:
      call = ("from utils import *\nargs = ('ravdess_output/pair.mp4', 'clips/pair.mp4')\n"
              f"kw = dict(length={window}, stride={stride})\n"
              "print(f'SMD: {full_term_compare_landmarks_mouth(*args, **kw)}, "
              "SLV: {full_term_compare_landmarks_velocity(*args, **kw)}, "
              "SLD: {full_term_compare_landmarks(*args, **kw)}')")
      step = processes.measured([python, "-c", call], folder, env)
      smd, slv, sld = map(float, VALUES.search(step.pop("stdout")).groups())
      yield {"side": "released", "step": f"metrics at window {window} stride {stride}",
             **step, "sld": sld, "slv": slv, "smd": smd}
    if args.sweep:
      sweep = processes.measured([python, "lmd_windows.py"], folder, env)
      del sweep["stdout"]
      average = processes.measured([python, "average_all.py"], folder, env)
      smd, slv, sld = map(float, VALUES.search(average.pop("stdout")).groups())
      yield {"side": "released", "step": "lmd_windows.py + average_all.py (the sweep)",
             **{k: round(sweep[k] + average[k], 2) for k in ("wall_s", "cpu_s")},
             "peak_mb": max(sweep["peak_mb"], average["peak_mb"]),
             "sld": sld, "slv": slv, "smd": smd}
  finally:
    shutil.rmtree(folder)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--generated", default=str(REAL / "style_lp_d12.mp4"))
  parser.add_argument("--reference", default=str(REAL / "talk_hdtf_aoc.mp4"))
  parser.add_argument("--released", help="folder of the released style_metrics scripts")
  parser.add_argument("--released_python", default="python")
  parser.add_argument("--sweep", action="store_true", help="also the released whole sweep")
  parser.add_argument("--skip_pair", action="store_true", help="only the long pair")
  parser.add_argument("--long_minutes", type=float, default=0,
                      help="also a pair of this length (--aioz_faces largest, 60/30)")
  args = parser.parse_args()
  g, r = args.generated, args.reference
  runs = []
  if not args.skip_pair:
    runs += [("--no_cpbd", "--window", w, "--stride", s) for w, s in FIXED]
    runs += [("--no_cpbd", "--window", 20, "--stride", 5, "--aioz_faces", "largest"),
             ("--no_cpbd",), ()]
  for flags in runs:
    print(json.dumps(ours(g, r, *flags)), flush=True)
  if args.released and not args.skip_pair:
    for row in released_runs(args, g, r):
      print(json.dumps(row), flush=True)
  if args.long_minutes:
    flags = ("--window", 60, "--stride", 30, "--aioz_faces", "largest")
    print(json.dumps({"pair": "benchmark", **ours(g, r, *flags)}), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
      long_g, long_r = (processes.looped(v, args.long_minutes, tmp) for v in (g, r))
      print(json.dumps({"pair": f"{args.long_minutes:g} minutes",
                        **ours(long_g, long_r, *flags)}), flush=True)


if __name__ == "__main__":
  main()
