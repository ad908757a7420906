"""animate's speed per stage and end to end, and its memory against the audio's length.

  python bench/animate_speed.py --checkpoints runs/demo                 # CPU
  python bench/animate_speed.py --checkpoints runs/demo --platform gpu --sizes 128,256,512
  python bench/animate_speed.py --checkpoints CKPT --renderers warp:interior,warp:painter

Every measurement is one `python -m stylehead_jax.animate` process (its --json summary;
its peak resident memory from wait4), on a portrait of ../shared/data/real and speech
of ../shared/data/real repeated to the length asked.

Speed, for `--seconds` of audio at each of `--sizes` (the crop side) and each renderer
(`warp:MOUTH` picks the warp's --mouth; a Mouth Painter needs a mouth_painter workdir in
--checkpoints):
each stage's seconds and frames/s, frames/s end to end and the real-time factor (wall
seconds per second of video; < 1 is faster than real time). The generator renderer
runs the checkpoints' own Motion Generator and, per size, a Style Mapping and a
Style-Aware Generator of the configs' :runlocal widths with their output at that size,
randomly initialised (speed does not depend on the weights): `--checkpoints`' trained
image stages are of one size only.

Memory: peak RSS of the warp renderer at `--sizes[0]` for each of `--memory_seconds`,
and its ratio to the first: frames are rendered and written chunk by chunk, so it
should stay flat.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL = os.path.join(os.path.dirname(REPO), "shared", "data", "real")


def _speech(seconds: float, folder: str) -> str:
  from stylehead_jax import media  # pylint: disable=g-import-not-at-top
  path = os.path.join(folder, f"speech_{seconds:g}s.wav")
  if not os.path.exists(path):
    speech = media.load_audio(os.path.join(REAL, "speech_jfk_en.wav"))
    n = int(seconds * media.SAMPLE_RATE)
    media.write_wav(path, np.resize(speech, n))
  return path


def random_image_stages(root: str, size: int, motion_generator: str) -> None:
  """Style Mapping and Style-Aware Generator workdirs in `root` with :runlocal widths,
  output `size`, random weights (config.json + one orbax checkpoint each), and a
  manifest naming them and `motion_generator`. Run in a child process (--make_random):
  the child's peak RSS, which wait4 reports, starts from its parent's at fork."""
  import flax.linen as nn  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from configs import style_aware_generator as sag_config  # pylint: disable=g-import-not-at-top
  from configs import style_mapping as sm_config  # pylint: disable=g-import-not-at-top
  from stylehead_jax import animate  # pylint: disable=g-import-not-at-top
  from stylehead_jax import checkpoint  # pylint: disable=g-import-not-at-top
  from stylehead_jax import frames  # pylint: disable=g-import-not-at-top
  from stylehead_jax.models import style_mapping  # pylint: disable=g-import-not-at-top

  def save(name, config, params):
    workdir = os.path.join(root, name)
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config.to_json())
    ckpt = checkpoint.Checkpointer(checkpoint.checkpoint_dir(workdir))
    ckpt.save(0, {"params": nn.unbox(params)})  # init's logical-axis boxes, as training unboxes
    ckpt.close()

  sm = sm_config.get_config("runlocal")
  sm.image_size = size
  z = lambda s: jnp.zeros((1, s, s, 3))
  pts = jnp.zeros((1, 68, 2))
  save("style_mapping", sm, style_mapping.make_model(sm).init(
      jax.random.key(0), z(size), z(size), pts, pts)["params"])
  sag = sag_config.get_config("runlocal")
  sag.image_size = size
  s = size
  save("style_aware_generator", sag, frames.make_model(sag).init(
      jax.random.key(0), z(s), jnp.zeros((1, frames.NUM_ISPS, s, s, 3)),
      [z(s)] * int(sag.model.warped_source))["params"])
  animate.write_manifest(root, {"motion_generator": motion_generator})


def run_animate(checkpoints, portrait, audio, out, renderer, size, platform,
                mouth=None) -> dict:
  """One animate process: its summary with "peak_rss_mb" added."""
  summary_path = out + ".json"
  cmd = [sys.executable, "-m", "stylehead_jax.animate", "--portrait", portrait, "--audio",
         audio, "--checkpoints", checkpoints, "--out", out, "--renderer", renderer,
         "--resolution", str(size), "--json", summary_path, "--quiet",
         *(["--mouth", mouth] if mouth else [])]
  env = dict(os.environ, JAX_PLATFORMS={"cpu": "cpu", "gpu": "cuda", "tpu": "tpu"}[platform])
  with open(out + ".stderr", "w") as err:
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)  # the child's own rusage: its peak RSS
  proc.returncode = os.waitstatus_to_exitcode(status)
  if proc.returncode:
    with open(out + ".stderr") as err:
      raise SystemExit(f"animate failed ({proc.returncode}):\n{err.read()[-3000:]}")
  with open(summary_path) as f:
    summary = json.load(f)
  summary["peak_rss_mb"] = usage.ru_maxrss / 1024  # KiB on Linux
  return summary


def _motion_generator(checkpoints: str) -> str:
  """The Motion Generator workdir of a checkpoints folder (its manifest, as animate reads
  it), read here without importing JAX: this process stays small (see random_image_stages)."""
  manifest = os.path.join(checkpoints, "checkpoints.json")
  name = "motion_generator"
  if os.path.exists(manifest):
    with open(manifest) as f:
      name = json.load(f).get(name, name)
  return os.path.normpath(os.path.join(os.path.abspath(checkpoints), name))


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--checkpoints", required=True, help="a folder with a motion_generator")
  p.add_argument("--portrait", default=os.path.join(REAL, "face_happy.png"))
  p.add_argument("--sizes", default="128,256,512")
  p.add_argument("--renderers", default="warp,generator")
  p.add_argument("--seconds", type=float, default=10.0)
  p.add_argument("--memory_seconds", default="10,60,600")
  p.add_argument("--platform", choices=("cpu", "gpu", "tpu"), default="cpu")
  p.add_argument("--json", help="write the figures here")
  p.add_argument("--make_random", nargs=2, metavar=("DIR", "SIZE"), help=argparse.SUPPRESS)
  args = p.parse_args(argv)
  sys.path.insert(0, REPO)
  mg = _motion_generator(args.checkpoints)
  if args.make_random:
    random_image_stages(args.make_random[0], int(args.make_random[1]), mg)
    return 0
  sizes = [int(s) for s in args.sizes.split(",")]
  result = {"platform": args.platform, "seconds": args.seconds, "speed": [], "memory": []}
  with tempfile.TemporaryDirectory() as tmp:
    audio = _speech(args.seconds, tmp)
    for size in sizes:
      for entry in args.renderers.split(","):
        renderer, _, mouth = entry.partition(":")
        checkpoints = args.checkpoints
        if renderer == "generator":
          checkpoints = os.path.join(tmp, f"random_{size}")
          subprocess.run([sys.executable, os.path.abspath(__file__), "--checkpoints",
                          args.checkpoints, "--make_random", checkpoints, str(size)],
                         cwd=REPO, check=True, capture_output=True)
        start = time.perf_counter()
        s = run_animate(checkpoints, args.portrait, audio,
                        os.path.join(tmp, f"{renderer}_{mouth}_{size}.mp4"), renderer, size,
                        args.platform, mouth or None)
        row = {"renderer": renderer, "mouth": s.get("mouth"), "size": size,
               "frames": s["frames"],
               "wall_seconds": time.perf_counter() - start,
               "frames_per_second": s["frames_per_second"],
               "real_time_factor": s["real_time_factor"], "peak_rss_mb": s["peak_rss_mb"],
               **{f"{k}_frames_per_second": v["frames_per_second"]
                  for k, v in s["stages"].items()}}
        result["speed"].append(row)
        print(json.dumps(row), flush=True)
    first = None
    for seconds in (float(x) for x in args.memory_seconds.split(",")):
      s = run_animate(args.checkpoints, args.portrait, _speech(seconds, tmp),
                      os.path.join(tmp, f"memory_{seconds:g}.mp4"), "warp", sizes[0],
                      args.platform)
      first = first or s["peak_rss_mb"]
      row = {"seconds": seconds, "frames": s["frames"], "peak_rss_mb": s["peak_rss_mb"],
             "ratio_to_first": s["peak_rss_mb"] / first,
             "real_time_factor": s["real_time_factor"]}
      result["memory"].append(row)
      print(json.dumps(row), flush=True)
      os.remove(os.path.join(tmp, f"memory_{seconds:g}.mp4"))
  if args.json:
    with open(args.json, "w") as f:
      json.dump(result, f, indent=1)
  return 0


if __name__ == "__main__":
  sys.exit(main())
