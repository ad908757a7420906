"""`make demo-train`'s last step: animate a held-out synthetic speaker and measure the video.

  python eval/demo_animation.py --data_dir DIR --checkpoints runs/demo --out_dir runs/demo

From the synthetic test split (speakers and utterances no stage trained on):
  portrait: frame 0 of speaker A's clip in one style, enlarged to PORTRAIT_SIZE (the
            world is drawn at 64 px; animate wants faces of 64 px or more);
  audio:    speaker A's clip in another style: its soundtrack is the utterance, its
            frames are the truth;
  style:    speaker B's clip in that same style: a face the stages never saw, talking
            or singing as the truth does (an mp4 with its sound).
It animates them (stylehead_jax.animate, the generator renderer) and measures the video
as eval/metrics.py does (clean protocol: 512 crops tracked by the project's tracker):
  sync_r, sync_r_best, sync_lead_seconds: Pearson r of the mouth opening tracked on the
    video and the audio's energy per frame (metrics/sync.py), at zero lag and at the best
    lag within 0.5 s, with truth_sync_r for the truth;
  lmd, d_l, d_v (against the truth), sld, slv, smd (against the style reference), cpbd
    (metrics.compare: on the tracked 512 crops); frame_cpbd and truth_frame_cpbd: CPBD of
    the video's own frames and of the true frames at the same size;
  each stage's seconds (animate's summary).
Writes animation.mp4, contact_sheet.png (frames of the video over the truth's),
animation.json and animation.log (the libraries' log lines) in --out_dir; the last line printed is the command to animate one's own
portrait with the same checkpoints.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import cv2
import numpy as np

import metrics as metrics_cli  # eval/metrics.py, beside this file
from stylehead_jax import animate
from stylehead_jax import media
from stylehead_jax import metrics
from stylehead_jax.landmarks import detectors
from stylehead_jax.metrics import sharpness
from stylehead_jax.metrics import style
from stylehead_jax.metrics import sync

PORTRAIT_SIZE = 256
RESOLUTION = 128  # animate's crop side: twice the world's drawing size
SHEET_FRAMES = 8
FEATURES = ("frames", "audio", "speaker_id", "clip_id", "style")


def pick_clips(data_dir: str) -> dict:
  """Speaker A's first two clips of different styles (portrait, utterance) and a clip of
  another speaker B in the utterance's style."""
  # TFDS here, not at the top: the tracking worker eval/metrics.py spawns re-imports this
  # module, and would otherwise load TensorFlow (and print its console lines) for nothing.
  from stylehead_jax import datasets  # pylint: disable=g-import-not-at-top
  from stylehead_jax import input_pipeline  # pylint: disable=g-import-not-at-top
  builder = datasets.make_builder("synthetic_talking_heads", data_dir)
  clips = list(input_pipeline.clips(builder, "test", FEATURES))
  by_speaker = {}
  for clip in clips:
    by_speaker.setdefault(clip["speaker_id"], []).append(clip)
  speakers = sorted(by_speaker)
  if len(speakers) < 2 or len(by_speaker[speakers[0]]) < 2:
    raise SystemExit(f"error: {data_dir}: the synthetic test split needs two speakers with "
                     "two styles each")
  portrait, utterance = by_speaker[speakers[0]][:2]
  reference = next((c for s in speakers[1:] for c in by_speaker[s]
                    if c["style"] == utterance["style"]), by_speaker[speakers[1]][0])
  return {"portrait": portrait, "utterance": utterance, "style": reference}


def write_inputs(clips: dict, folder: str) -> dict:
  """The demo's input files: portrait.png, utterance.wav, truth.mp4, style.mp4."""
  os.makedirs(folder, exist_ok=True)
  paths = {k: os.path.join(folder, k) for k in
           ("portrait.png", "utterance.wav", "truth.mp4", "style.mp4")}
  frame = cv2.resize(clips["portrait"]["frames"][0], (PORTRAIT_SIZE, PORTRAIT_SIZE),
                     interpolation=cv2.INTER_CUBIC)
  cv2.imwrite(paths["portrait.png"], frame[..., ::-1])
  media.write_wav(paths["utterance.wav"], clips["utterance"]["audio"])
  for name, key in (("truth.mp4", "utterance"), ("style.mp4", "style")):
    media.write_video(paths[name], _enlarged(clips[key]["frames"], PORTRAIT_SIZE),
                      audio=clips[key]["audio"])
  return paths


def _enlarged(frames: np.ndarray, size: int) -> np.ndarray:
  return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_CUBIC)
                   for f in frames])


def contact_sheet(video: np.ndarray, truth: np.ndarray, path: str) -> None:
  """SHEET_FRAMES evenly spaced frames of the video (top) over the truth's (bottom)."""
  n = min(len(video), len(truth))
  picks = np.linspace(0, n - 1, SHEET_FRAMES).astype(int)
  size = video.shape[1]
  top = np.concatenate(list(video[picks]), 1)
  bottom = np.concatenate(list(_enlarged(truth[picks], size)), 1)
  cv2.imwrite(path, np.concatenate([top, bottom], 0)[..., ::-1])


def measure(paths: dict, video_path: str, frames: np.ndarray, audio: np.ndarray,
            truth_frames: np.ndarray) -> dict:
  """Lip sync, LMD, D-L, D-V against the truth, SLD/SLV/SMD against the style, CPBD."""
  backend = detectors.get_backend("dlib")
  args = argparse.Namespace(generated=video_path, reference=paths["truth.mp4"],
                            style_reference=paths["style.mp4"], protocol="clean",
                            landmarks="dlib", no_cpbd=False)
  loaded = metrics_cli.load_all(args, backend)
  video, truth, reference = (loaded[os.path.realpath(p)] for p in
                             (video_path, paths["truth.mp4"], paths["style.mp4"]))
  values = metrics.compare(video.landmarks, truth.landmarks, reference.landmarks,
                           settings=style.StyleSettings("clean"))
  values["cpbd"] = video.cpbd
  ours, theirs = sync.audio_lead(video.landmarks, audio), sync.audio_lead(truth.landmarks,
                                                                          audio)
  out = {k: float(values[k]) for k in ("lmd", "d_l", "d_v", "sld", "slv", "smd", "cpbd")
         if k in values}
  out.update(sync_r=ours.r_at_zero, sync_r_best=ours.r, sync_lead_seconds=ours.lead_seconds,
             truth_sync_r=theirs.r_at_zero, detected_fraction=video.detected_fraction,
             frame_cpbd=sharpness.mean_cpbd(frames),
             truth_frame_cpbd=sharpness.mean_cpbd(_enlarged(truth_frames, frames.shape[1])))
  return out


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--data_dir", required=True, help="the built synthetic_talking_heads")
  parser.add_argument("--checkpoints", required=True, help="the stages' workdirs")
  parser.add_argument("--motion_generator", help="the Motion Generator run to use (written "
                      "into the checkpoints' manifest; default CHECKPOINTS/motion_generator)")
  parser.add_argument("--out_dir", required=True)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(argv)
  if args.motion_generator:
    animate.write_manifest(args.checkpoints, {
        "motion_generator": args.motion_generator,
        "style_mapping": os.path.join(args.checkpoints, "style_mapping"),
        "style_aware_generator": os.path.join(args.checkpoints, "style_aware_generator")})
  os.makedirs(args.out_dir, exist_ok=True)
  out = os.path.join(args.out_dir, "animation.mp4")
  try:
    with animate.log_to_file(os.path.join(args.out_dir, "animation.log")):
      clips = pick_clips(args.data_dir)
      paths = write_inputs(clips, os.path.join(args.out_dir, "inputs"))
      _, summary = animate.animate(paths["portrait.png"], paths["utterance.wav"],
                                   args.checkpoints, out, style=paths["style.mp4"],
                                   resolution=RESOLUTION, seed=args.seed,
                                   # the README's figures were measured before it
                                   style_amplitude=False)
      frames = media.read_video(out).frames
      figures = measure(paths, out, frames, clips["utterance"]["audio"],
                        clips["utterance"]["frames"])
  except (media.MediaError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  contact_sheet(frames, clips["utterance"]["frames"],
                os.path.join(args.out_dir, "contact_sheet.png"))
  result = {"figures": figures, "animate": summary,
            "inputs": {**paths, "portrait_clip": clips["portrait"]["clip_id"].decode(),
                       "utterance_clip": clips["utterance"]["clip_id"].decode(),
                       "style_clip": clips["style"]["clip_id"].decode()}}
  with open(os.path.join(args.out_dir, "animation.json"), "w") as f:
    json.dump(result, f, indent=1)
  print(f"\nanimation of a held-out speaker ({result['inputs']['portrait_clip']} portrait, "
        f"{result['inputs']['utterance_clip']} utterance, {result['inputs']['style_clip']} "
        f"style): {out}")
  print(f"  lip sync r {figures['sync_r']:.3f} (best {figures['sync_r_best']:.3f} at "
        f"{figures['sync_lead_seconds']:+.3f} s; the truth's {figures['truth_sync_r']:.3f})")
  print("  " + "  ".join(f"{k} {figures[k]:.4g}" for k in
                         ("lmd", "d_l", "d_v", "sld", "slv", "smd", "cpbd") if k in figures))
  print(f"  sharpness of the frames (CPBD) {figures['frame_cpbd']:.3f}; the truth's at the same "
        f"size {figures['truth_frame_cpbd']:.3f}")
  print("  seconds: " + "  ".join(f"{k} {v['seconds']:.1f}" for k, v in
                                  summary["stages"].items()) +
        f"  ({summary['frames_per_second']:.1f} frames/s end to end)")
  print(f"  contact sheet: {os.path.join(args.out_dir, 'contact_sheet.png')}; figures: "
        f"{os.path.join(args.out_dir, 'animation.json')}")
  print(f"\nAnimate your own portrait: python -m stylehead_jax.animate --portrait FACE.jpg "
        f"--audio SPEECH.wav [--style STYLE.mp4] --checkpoints {args.checkpoints} "
        "--out out.mp4")
  return 0


if __name__ == "__main__":
  sys.exit(main())
