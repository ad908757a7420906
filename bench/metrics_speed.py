"""Speed of the metrics; prints figures.

  python bench/metrics_speed.py              # CPBD frames from talk_hdtf_aoc.mp4, pair from style_lp_d6.mp4
  python bench/metrics_speed.py --frames 5 --skip_script

1. CPBD, side by side in one run: seconds per 512 x 512 grey frame for the `cpbd`
   package (1.0.7, dev extra) and for ours, one frame at a time (metrics.cpbd, one core)
   and over a batch (metrics.mean_cpbd, every core: what eval/metrics.py uses), on the
   same frames, with the largest difference between the values.
2. eval/metrics.py end to end on a 10 s, 60 fps clip pair (two 10 s stretches of
   style_lp_d6.mp4, written at 60 fps, 512 x 512), as a user runs it: on the videos
   (landmark extraction included) and on the .npz tracks the first run extracted
   (metrics only, CPBD included when the .npz holds frames; here it does not).
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

from stylehead_jax import media
from stylehead_jax.landmarks import tracking
from stylehead_jax.metrics import sharpness

REPO = pathlib.Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "real"


def grey_512(frames: np.ndarray) -> np.ndarray:
  out = []
  for frame in frames:
    g = sharpness.grey(frame).astype(np.uint8)
    h, w = g.shape
    side = min(h, w)
    g = g[(h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]
    out.append(cv2.resize(g, (512, 512), interpolation=cv2.INTER_AREA))
  return np.stack(out).astype(np.float64)


def bench_cpbd(video: pathlib.Path, n: int) -> dict:
  frames = media.read_video(video, fps=None).frames
  frames = grey_512(frames[np.linspace(0, len(frames) - 1, n).astype(int)])
  package = sharpness.load_cpbd_package()
  sharpness.cpbd(frames[0])  # warm caches
  start = time.perf_counter()
  ours = [sharpness.cpbd(f) for f in frames]
  ours_s = (time.perf_counter() - start) / n
  # mean_cpbd as eval/metrics.py calls it, on as many frames as a 10 s clip at 60 fps has.
  batch = np.concatenate([frames] * -(-10 * media.FPS // n))[:10 * media.FPS]
  start = time.perf_counter()
  batch_mean = sharpness.mean_cpbd(batch)
  batch_s = (time.perf_counter() - start) / len(batch)
  start = time.perf_counter()
  theirs = [package.compute(f) for f in frames]
  theirs_s = (time.perf_counter() - start) / n
  return {"frames": n, "cores": os.cpu_count(),
          "package_s_per_frame": round(theirs_s, 4),
          "ours_s_per_frame": round(ours_s, 4), "speedup": round(theirs_s / ours_s, 1),
          "ours_mean_cpbd_s_per_frame": round(batch_s, 4), "mean_cpbd_frames": len(batch),
          "speedup_mean_cpbd": round(theirs_s / batch_s, 1),
          "max_abs_difference": float(np.max(np.abs(np.subtract(ours, theirs)))),
          "mean_equal": bool(abs(batch_mean - np.mean(ours)) < 1e-12)}


def _timed(cmd) -> float:
  start = time.perf_counter()
  out = subprocess.run(cmd, capture_output=True, text=True)
  if out.returncode:
    sys.exit(out.stderr)
  return time.perf_counter() - start


def bench_script(video: pathlib.Path) -> dict:
  frames = media.read_video(video, fps=media.FPS).frames
  need = 20 * media.FPS
  if len(frames) < need:
    sys.exit(f"{video}: need 20 s, has {len(frames) / media.FPS:.1f} s")
  with tempfile.TemporaryDirectory() as tmp:
    paths, tracks = [], []
    for k in range(2):
      part = frames[k * 10 * media.FPS:(k + 1) * 10 * media.FPS]
      track = tracking.extract(part, config=tracking.TrackerConfig(resolution=512))
      paths.append(os.path.join(tmp, f"part{k}.mp4"))
      media.write_video(paths[-1], track.frames)
      tracks.append(os.path.join(tmp, f"part{k}.npz"))
    script = [sys.executable, str(REPO / "eval" / "metrics.py")]
    videos_s = _timed(script + ["-g", paths[0], "-r", paths[1], "--json",
                                os.path.join(tmp, "v.json")])
    result = json.load(open(os.path.join(tmp, "v.json")))
    for path, npz in zip(paths, tracks):
      t = tracking.extract(path, config=tracking.TrackerConfig(resolution=512))
      np.savez(npz, landmarks=t.landmarks, fps=media.FPS)
    npz_s = _timed(script + ["-g", tracks[0], "-r", tracks[1]])
  return {"clip_seconds": 10, "fps": media.FPS, "frames_compared": result["frames_compared"],
          "videos_total_s": round(videos_s, 2), "npz_total_s": round(npz_s, 2)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--cpbd_video", default=str(REAL / "talk_hdtf_aoc.mp4"))
  parser.add_argument("--pair_video", default=str(REAL / "style_lp_d6.mp4"))
  parser.add_argument("--frames", type=int, default=20)
  parser.add_argument("--skip_script", action="store_true")
  args = parser.parse_args()
  print(json.dumps({"cpbd": bench_cpbd(pathlib.Path(args.cpbd_video), args.frames)}), flush=True)
  if not args.skip_script:
    print(json.dumps({"eval_metrics_py": bench_script(pathlib.Path(args.pair_video))}))


if __name__ == "__main__":
  main()
