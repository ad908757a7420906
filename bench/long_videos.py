"""Memory and time against a video's length: the clean protocol of eval/metrics.py and
the talking_head_videos builder on looped clips; prints one JSON line per run.

  python bench/long_videos.py [--minutes 0.1667,1,5] [--builder_minutes 1,5]
      [--python PY --repo DIR]     # another checkout's script and builder, for before/after

The pair: style_lp_d12.mp4 (generated) and talk_hdtf_aoc.mp4 (reference) from
../shared/data/real, both 512 x 512 at 25 fps, each looped with ffmpeg to the length (an
ordinary HDTF or interview video is minutes long). The builder's source is talk_hdtf_aoc.mp4
looped with its sound, prepared at 256 px. Each run: wall and CPU seconds, wall ms per
frame of the pair (both videos' source frames), and peak memory of the whole command (it
and its children, sampled every 20 ms: bench/processes.py).
"""

import argparse
import json
import os
import pathlib
import shutil
import sys
import tempfile

import processes  # bench/processes.py, beside this file

REPO = pathlib.Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "real"
FPS = 25  # both clips' source rate


def metrics_run(python: str, repo: pathlib.Path, generated: str, reference: str) -> dict:
  with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "out.json")
    result = processes.measured([python, str(repo / "eval" / "metrics.py"), "-g", generated,
                                 "-r", reference, "--json", out], cwd=repo)
    values = json.load(open(out))["metrics"]
  del result["stdout"]
  return {**result, **{k: values[k] for k in ("lmd", "sld", "slv", "smd", "cpbd")}}


def lengths(text: str) -> list[float]:
  """Minutes from a comma-separated list; '' or 0 for none."""
  return [float(m) for m in text.split(",") if m and float(m)]


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--minutes", default="0.1667,1,5",
                      help="lengths of the pair ('': none)")
  parser.add_argument("--builder_minutes", default="1,5",
                      help="lengths of the builder's source ('' or 0: none)")
  parser.add_argument("--python", default=sys.executable, help="the Python that runs it")
  parser.add_argument("--repo", default=str(REPO), help="the checkout whose scripts run")
  args = parser.parse_args()
  repo = pathlib.Path(args.repo)
  with tempfile.TemporaryDirectory() as tmp:
    for minutes in lengths(args.minutes):
      pair = [processes.looped(REAL / name, minutes, tmp)
              for name in ("style_lp_d12.mp4", "talk_hdtf_aoc.mp4")]
      row = metrics_run(args.python, repo, *pair)
      frames = 2 * minutes * 60 * FPS
      print(json.dumps({"run": "eval/metrics.py", "minutes": minutes, "repo": str(repo),
                        "ms_per_frame": round(1000 * row["wall_s"] / frames, 2), **row}),
            flush=True)
      for path in pair:
        os.remove(path)
    for minutes in lengths(args.builder_minutes):
      videos, data_dir = (os.path.join(tmp, f"{name}_{minutes}") for name in ("videos", "tfds"))
      os.makedirs(videos)
      processes.looped(REAL / "talk_hdtf_aoc.mp4", minutes, videos, audio=True)
      row = processes.measured(
          [args.python, "-m", "data_prep.build", "talking_head_videos", "--manual_dir", videos,
           "--data_dir", data_dir, "--set", "resolution=256", "--set", "test_fraction=0"],
          cwd=repo)
      del row["stdout"]
      print(json.dumps({"run": "talking_head_videos build", "minutes": minutes,
                        "repo": str(repo), **row}), flush=True)
      shutil.rmtree(videos)
      shutil.rmtree(data_dir)


if __name__ == "__main__":
  main()
