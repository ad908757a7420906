"""animate on real footage: the portraits of ../shared/data/real with its speech and singing,
with and without a style video, measured on the videos a user gets.

  python eval/animate_real.py --checkpoints RUNS --out_dir runs/animate_real [--json OUT]
      [--portraits face_happy.png ...] [--audio speech_radio31.wav ...]
      [--style style_lp_d12.mp4 | validation | test] [--style_steps 0 100]
      [--renderer generator]
      [--stage motion_generator=runs/mg_real style_mapping=DIR ...]

--stage STAGE=WORKDIR writes RUNS/checkpoints.json (animate's manifest) naming those
stage workdirs first, so checkpoints trained apart (configs/motion_generator.py:real for
the Motion Generator, the `:real` image stages) animate together.

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
    Motion Generator as trained, the style feeding only the ISPs). --style validation or
    test takes every style of that split (data_prep/style_references.py): the output
    without a style is measured against each, a silent style is used with 0 steps only
    (the fine-tune learns from the reference's speech), and the last lines give, per
    style, the medians of SMD and SLV over portraits and audio.

Reference rows (`reference` set, nothing animated) put the figures on a scale: per
portrait, the still portrait (its crop's CPBD; its landmarks held for as many frames as
the style video, against the style video: what no motion scores, the identity's face
shape included) and, once, tracked real footage against the style video: REAL_SPEAKER
(another person talking) and the style video's second half against its first (the same
person in the same style: the floor a perfect style match would reach).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from data_prep import style_references
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
REAL_SPEAKER = "talk_vr_5.mp4"


def measure(video_path: str, audio: np.ndarray, portrait: animate.Portrait, backend,
            style_tracks=None) -> dict:
  """The output's figures (module doc); with style_tracks ({style: its tracked
  landmarks}), its style figures against each under "styles" (tracked once)."""
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
  if style_tracks:
    out["styles"] = {name: _style_figures(track.landmarks, style_track)
                     for name, style_track in style_tracks.items()}
  return out


def _style_figures(track: np.ndarray, style_track: np.ndarray) -> dict:
  values = style.style_metrics(style_track, track, style.StyleSettings("clean"))
  return {k: float(values[k]) for k in ("sld", "slv", "smd")}


def reference_rows(portraits: dict, style_path: str, style_track: np.ndarray,
                   cache: str) -> list[dict]:
  """The scale of the figures: each still portrait, a real speaker and the style video's
  second half, against the style video (see the module docstring)."""
  rows = [{"reference": "still portrait", "portrait": name,
           "cpbd": sharpness.mean_cpbd(portrait.crop[None]),
           **_style_figures(np.repeat(portrait.landmarks[None], len(style_track), 0),
                            style_track)}
          for name, portrait in portraits.items()]
  speaker = references.track_video(os.path.join(REAL, REAL_SPEAKER), RESOLUTION, cache)
  rows.append({"reference": f"real speaker {REAL_SPEAKER}",
               **_style_figures(speaker["landmarks"], style_track)})
  half = len(style_track) // 2
  rows.append({"reference": f"{os.path.basename(style_path)}: 2nd half vs 1st",
               "style": _style_name(style_path),
               **_style_figures(style_track[half:], style_track[:half])})
  for row in rows:
    print(json.dumps(row), flush=True)
  return rows


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--checkpoints", required=True)
  p.add_argument("--out_dir", required=True)
  p.add_argument("--portraits", nargs="*", default=["face_happy.png", "face_lp_s0.jpg",
                                                    "face_pyfeat_single.jpg"])
  p.add_argument("--audio", nargs="*", default=["speech_radio31.wav", "sing_itosinger1.wav"])
  p.add_argument("--style", default="style_lp_d12.mp4",
                 help="a video of ../shared/data/real, or a split of "
                      "data_prep/style_references.py: validation or test (every style)")
  p.add_argument("--style_steps", nargs="*", type=int, default=[0, 100])
  p.add_argument("--renderer", default="generator", choices=animate.RENDERERS)
  p.add_argument("--stage", nargs="*", default=[], metavar="STAGE=WORKDIR",
                 help=f"write RUNS/{animate.MANIFEST} naming these workdirs first")
  p.add_argument("--references_only", action="store_true",
                 help="only the reference rows (nothing animated)")
  p.add_argument("--json")
  args = p.parse_args(argv)
  os.makedirs(args.out_dir, exist_ok=True)
  if args.stage:
    if not all("=" in item for item in args.stage):
      p.error("--stage takes STAGE=WORKDIR items")
    os.makedirs(args.checkpoints, exist_ok=True)
    try:
      animate.write_manifest(args.checkpoints, dict(item.split("=", 1) for item in args.stage))
    except ValueError as e:
      p.error(f"--stage: {e}")
  with animate.log_to_file(os.path.join(args.out_dir, "animate_real.log")):
    rows = run(args)
  if args.json:
    with open(args.json, "w") as f:
      json.dump(rows, f, indent=1)
  return 0


def styles_of(choice: str) -> dict[str, tuple[str, bool]]:
  """{style name: (video path, has speech)} of --style: a split of
  data_prep/style_references.py, or one video of ../shared/data/real."""
  if choice in style_references.SPLITS:
    shared = os.path.dirname(REAL)
    return {_style_name(s.path): (style_references.path_of(s, shared), s.speech)
            for s in style_references.of_split(choice)}
  return {_style_name(choice): (os.path.join(REAL, choice), True)}


def _style_name(path: str) -> str:
  return os.path.splitext(os.path.basename(path))[0]


def run(args) -> list[dict]:
  """Every portrait x audio x (no style, each style at each --style_steps): animated and
  measured, the output without a style against every style; each row printed as it is
  done. A silent style gets no fine-tune (steps > 0 need its speech)."""
  backend = detectors.get_backend("dlib")
  styles = styles_of(args.style)
  cache = os.path.join(os.path.abspath(args.checkpoints), ".cache", "styles")
  tracks = {name: references.track_video(path, RESOLUTION, cache)["landmarks"]
            for name, (path, _) in styles.items()}
  portraits = {name: animate.load_portrait(os.path.join(REAL, name), RESOLUTION, backend)[0]
               for name in args.portraits}
  rows = []
  for name, (path, _) in styles.items():
    rows += reference_rows(portraits, path, tracks[name], cache)
  if args.references_only:
    return rows
  for portrait_name, portrait in portraits.items():
    for audio_name in args.audio:
      audio = animate.load_audio(os.path.join(REAL, audio_name))
      runs = [(None, 0)] + [(name, n) for name, (_, speech) in styles.items()
                            for n in args.style_steps if speech or n == 0]
      for style_name, steps in runs:
        name = (f"{os.path.splitext(portrait_name)[0]}__{os.path.splitext(audio_name)[0]}"
                f"__{style_name + '_' + str(steps) if style_name else 'nostyle'}.mp4")
        out, summary = animate.animate(
            os.path.join(REAL, portrait_name), os.path.join(REAL, audio_name),
            args.checkpoints, os.path.join(args.out_dir, name),
            style=styles[style_name][0] if style_name else None,
            style_steps=steps, renderer=args.renderer, resolution=RESOLUTION, progress=False)
        measured = measure(out, audio, portrait, backend,
                           tracks if style_name is None else {style_name: tracks[style_name]})
        against = measured.pop("styles", {})
        for each in ([style_name] if style_name else list(styles)):
          row = {"portrait": portrait_name, "audio": audio_name, "style": each,
                 "styled": style_name is not None, "style_steps": steps,
                 "frames_per_second": summary["frames_per_second"], **measured,
                 **against.get(each, {})}
          rows.append(row)
          print(json.dumps(row), flush=True)
  summarize(rows)
  return rows


def summarize(rows: list[dict]) -> None:
  """Per style, the medians over portraits and audio of SMD and SLV without the style and
  with it at each number of steps, and the style's own halves."""
  animated = [r for r in rows if "reference" not in r]
  for style_name in dict.fromkeys(r["style"] for r in animated):
    own = [r for r in rows if "reference" in r and r.get("style") == style_name]
    line = [f"{style_name}:"]
    for styled, steps in dict.fromkeys((r["styled"], r["style_steps"]) for r in animated
                                       if r["style"] == style_name):
      picked = [r for r in animated if r["style"] == style_name and r["styled"] == styled
                and r["style_steps"] == steps and "smd" in r]
      label = f"style {steps} steps" if styled else "no style"
      line.append(f"{label} SMD {np.median([r['smd'] for r in picked]):.3f} "
                  f"SLV {np.median([r['slv'] for r in picked]):.3f}")
    if own:
      line.append(f"its halves SMD {own[0]['smd']:.3f} SLV {own[0]['slv']:.3f}")
    print("  ".join(line), flush=True)


if __name__ == "__main__":
  sys.exit(main())
