"""`make demo`'s job: a real portrait speaks real speech with the shipped model set.

  python eval/demo_real.py [--portrait FACE] [--audio SPEECH] [--checkpoints pretrained]
      [--out_dir runs/demo_real] [--resolution 256] [--seed 0]

By default a real photograph and real speech from ../shared/data/real (PORTRAIT, AUDIO:
no stage of the shipped set saw either; their SOURCES.md keeps them out of the project,
so they are read where they lie) are animated by `stylehead_jax.animate` with the shipped
set (pretrained/: the Motion Generator for real speech; the warp renderer draws the face,
with teeth and the dark of the mouth where it opens). The video is then tracked and
measured as eval/animate_real.py measures a user's output (its `measure`):
  detected: share of frames where the face is found;
  sync_r: lip sync, Pearson r of the tracked mouth opening and the audio's energy per frame;
  identity_distance: dlib's face descriptor against the portrait (0.6: the same person);
  cpbd: sharpness of the frames (the portrait crop's beside it);
  mouth_open_p95, mouth_open_share: how wide the mouth opens (eye distances) and how often
    above 0.12 (real speakers in ../shared/data/real_more: p95 0.05-0.16, up to 25 %).
Writes animation.mp4 (with sound), contact_sheet.png (the portrait crop, then SHEET_FRAMES
frames, and under each the mouth enlarged), animation.json and animation.log in
--out_dir, and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import cv2
import numpy as np

import animate_real  # eval/animate_real.py, beside this file
from stylehead_jax import animate
from stylehead_jax import checkpoint
from stylehead_jax import media
from stylehead_jax import pretrained
from stylehead_jax.errors import ConfigError
from stylehead_jax.errors import MediaError
from stylehead_jax.landmarks import conventions
from stylehead_jax.landmarks import detectors
from stylehead_jax.metrics import sharpness

PORTRAIT = os.path.join(animate_real.REAL, "face_dt_face3.png")
AUDIO = os.path.join(animate_real.REAL, "speech_jfk_en.wav")
RESOLUTION = 256
SHEET_FRAMES = 8


def _mouth_crop(frame: np.ndarray, landmarks: np.ndarray, size: int) -> np.ndarray:
  """The lips' box grown by half its width, square, resized to `size`."""
  lips = landmarks[conventions.MOUTH, :2]
  centre = lips.mean(0)
  half = 0.75 * (lips[:, 0].max() - lips[:, 0].min())
  h, w = frame.shape[:2]
  x0, y0 = (int(max(0, round(c - half))) for c in centre)
  x1, y1 = int(min(w, round(centre[0] + half))), int(min(h, round(centre[1] + half)))
  return cv2.resize(frame[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_CUBIC)


def contact_sheet(portrait: animate.Portrait, video: np.ndarray, landmarks: np.ndarray,
                  path: str) -> None:
  """Top: the portrait crop, then SHEET_FRAMES evenly spaced frames; bottom: the mouth of
  each enlarged (the generated landmarks place it)."""
  size = video.shape[1]
  picks = np.linspace(0, len(video) - 1, SHEET_FRAMES).astype(int)
  crop = cv2.resize(portrait.crop, (size, size), interpolation=cv2.INTER_AREA)
  top = [crop] + [video[i] for i in picks]
  bottom = [_mouth_crop(portrait.crop, portrait.landmarks, size)] + [
      _mouth_crop(video[i], landmarks[min(i, len(landmarks) - 1)], size) for i in picks]
  cv2.imwrite(path, np.concatenate([np.concatenate(top, 1), np.concatenate(bottom, 1)],
                                   0)[..., ::-1])


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--portrait", default=PORTRAIT)
  parser.add_argument("--audio", default=AUDIO)
  parser.add_argument("--checkpoints", default=pretrained.DIR)
  parser.add_argument("--out_dir", default="runs/demo_real")
  parser.add_argument("--resolution", type=int, default=RESOLUTION)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(argv)
  for path, what in ((args.portrait, "--portrait"), (args.audio, "--audio")):
    if not os.path.exists(path):
      print(f"error: {what} {os.path.abspath(path)}: no such file (the default is in "
            "../shared/data/real, beside the repository)", file=sys.stderr)
      return 2
  os.makedirs(args.out_dir, exist_ok=True)
  out = os.path.join(args.out_dir, "animation.mp4")
  try:
    with animate.log_to_file(os.path.join(args.out_dir, "animation.log")):
      _, summary = animate.animate(args.portrait, args.audio, args.checkpoints, out,
                                   resolution=args.resolution, seed=args.seed,
                                   keep_motion=True)
      generated = summary.pop("motion")
      backend = detectors.get_backend("dlib")
      portrait, _ = animate.load_portrait(args.portrait, args.resolution, backend)
      config = checkpoint.read_run_config(summary["checkpoints"]["motion_generator"])
      figures = animate_real.measure(out, animate.load_audio(args.audio), portrait,
                                     backend, config, generated)
  except (MediaError, ConfigError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  figures["portrait_cpbd"] = sharpness.mean_cpbd(portrait.crop[None])
  video = media.read_video(out).frames
  sheet = os.path.join(args.out_dir, "contact_sheet.png")
  contact_sheet(portrait, video, generated.landmarks, sheet)
  with open(os.path.join(args.out_dir, "animation.json"), "w") as f:
    json.dump({"figures": figures, "animate": summary,
               "inputs": {"portrait": os.path.abspath(args.portrait),
                          "audio": os.path.abspath(args.audio)}}, f, indent=1)
  print(f"\n{os.path.basename(args.portrait)} speaking {os.path.basename(args.audio)} "
        f"({summary['renderer']} renderer, {args.checkpoints}): {out}")
  print(f"  face found in {100 * figures['detected']:.0f}% of frames; lip sync r "
        f"{figures['sync_r']:.3f}; identity distance {figures['identity_distance']:.3f} "
        "(0.6: the same person)")
  print(f"  sharpness (CPBD) {figures['cpbd']:.3f} (the portrait's crop "
        f"{figures['portrait_cpbd']:.3f}); mouth opening p95 {figures['mouth_open_p95']:.3f} "
        f"eye distances, open above 0.12 in {100 * figures['mouth_open_share']:.0f}% of "
        "frames")
  print("  seconds: " + "  ".join(f"{k} {v['seconds']:.1f}" for k, v in
                                  summary["stages"].items()) +
        f"  ({summary['frames_per_second']:.1f} frames/s end to end)")
  print(f"  contact sheet: {sheet}; figures: {os.path.join(args.out_dir, 'animation.json')}")
  print("\nAnimate your own portrait: python -m stylehead_jax.animate --portrait FACE.jpg "
        "--audio SPEECH.wav [--style STYLE.mp4 [--style_steps 100]] --out out.mp4")
  return 0


if __name__ == "__main__":
  sys.exit(main())
