"""animate on real footage: the portraits of ../shared/data/real with its speech and singing,
with and without a style video, measured on the videos a user gets.

  python eval/animate_real.py --checkpoints RUNS --out_dir runs/animate_real [--json OUT]
      [--portraits face_happy.png ...] [--audio speech_radio31.wav ...]
      [--style style_lp_d12.mp4] [--style_steps 0 100] [--renderer generator]

Per output video (the project's tracker on its frames, stylehead_jax.landmarks.tracking):
  detected: share of frames where the detector found the face;
  sync_r: Pearson r of the tracked inner-mouth opening and the audio's energy per frame
    (metrics/sync.py, at zero lag), the lip-sync a viewer sees;
  identity_distance: dlib face descriptor of SAMPLE_FRAMES frames vs the portrait
    (median; 0.6 = the same person by dlib's threshold);
  cpbd: sharpness of every 6th frame (metrics/sharpness.py);
  frames_per_second: animate's, end to end;
  sld, slv, smd: the output's track against the style video's (metrics/style.py, clean
    protocol), without the style, and with it once per --style_steps value (0: the
    Motion Generator as trained, the style feeding only the ISPs).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from stylehead_jax import animate
from stylehead_jax import media
from stylehead_jax.evaluators import faces as faces_lib
from stylehead_jax.landmarks import detectors
from stylehead_jax.landmarks import tracking
from stylehead_jax.metrics import sharpness
from stylehead_jax.metrics import style
from stylehead_jax.metrics import sync
from stylehead_jax.style import references

REAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                    "real")
SAMPLE_FRAMES = 12
RESOLUTION = 256


def measure(video_path: str, audio: np.ndarray, portrait: animate.Portrait, backend,
            style_track=None) -> dict:
  video = media.read_video(video_path).frames  # animate writes 60 fps
  detections = tracking.detect_track(video, backend)  # once, for the share and the track
  out = {"frames": len(video), "detected": float(np.mean(detections[1]))}
  try:
    track = max(tracking.track_segments(
        video, media.FPS, backend, tracking.TrackerConfig(resolution=RESOLUTION),
        video_path, detections), key=lambda t: len(t.frames))
  except tracking.NoFaceError:
    return dict(out, sync_r=float("nan"), identity_distance=float("nan"),
                cpbd=sharpness.mean_cpbd(video[::6]))
  start = int(round(track.start_seconds * media.SAMPLE_RATE))
  clip = audio[start:start + len(track.landmarks) * media.SAMPLES_PER_FRAME]
  out["sync_r"] = sync.audio_lead(track.landmarks, clip).r_at_zero
  faces = faces_lib.Faces(RESOLUTION)
  picks = np.linspace(0, len(track.frames) - 1, SAMPLE_FRAMES).astype(int)
  measured = faces.measure(track.frames[picks], track.landmarks[picks],
                           [portrait.crop] * len(picks), [portrait.landmarks] * len(picks))
  out["identity_distance"] = float(np.median(measured["identity_distance"]))
  out["cpbd"] = sharpness.mean_cpbd(video[::6])
  if style_track is not None:
    values = style.style_metrics(style_track, track.landmarks, style.StyleSettings("clean"))
    out.update({k: float(values[k]) for k in ("sld", "slv", "smd")})
  return out


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--checkpoints", required=True)
  p.add_argument("--out_dir", required=True)
  p.add_argument("--portraits", nargs="*", default=["face_happy.png", "face_lp_s0.jpg",
                                                    "face_pyfeat_single.jpg"])
  p.add_argument("--audio", nargs="*", default=["speech_radio31.wav", "sing_itosinger1.wav"])
  p.add_argument("--style", default="style_lp_d12.mp4")
  p.add_argument("--style_steps", nargs="*", type=int, default=[0, 100])
  p.add_argument("--renderer", default="generator", choices=animate.RENDERERS)
  p.add_argument("--json")
  args = p.parse_args(argv)
  os.makedirs(args.out_dir, exist_ok=True)
  backend = detectors.get_backend("dlib")
  style_path = os.path.join(REAL, args.style)
  cache = os.path.join(os.path.abspath(args.checkpoints), ".cache", "styles")
  style_track = references.track_video(style_path, RESOLUTION, cache)["landmarks"]
  rows = []
  for portrait_name in args.portraits:
    portrait, _ = animate.load_portrait(os.path.join(REAL, portrait_name), RESOLUTION, backend)
    for audio_name in args.audio:
      audio = animate.load_audio(os.path.join(REAL, audio_name))
      runs = [(None, 0)] + [(style_path, n) for n in args.style_steps]
      for style_video, steps in runs:
        name = (f"{os.path.splitext(portrait_name)[0]}__{os.path.splitext(audio_name)[0]}"
                f"__{'style' + str(steps) if style_video else 'nostyle'}.mp4")
        out, summary = animate.animate(
            os.path.join(REAL, portrait_name), os.path.join(REAL, audio_name),
            args.checkpoints, os.path.join(args.out_dir, name), style=style_video,
            style_steps=steps, renderer=args.renderer, resolution=RESOLUTION, progress=False)
        row = {"portrait": portrait_name, "audio": audio_name,
               "style": args.style if style_video else None, "style_steps": steps,
               "frames_per_second": summary["frames_per_second"],
               **measure(out, audio, portrait, backend, style_track)}
        rows.append(row)
        print(json.dumps(row), flush=True)
  if args.json:
    with open(args.json, "w") as f:
      json.dump(rows, f, indent=1)
  return 0


if __name__ == "__main__":
  sys.exit(main())
