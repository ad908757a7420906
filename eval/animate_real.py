"""animate on real footage: the portraits of ../shared/data/real with its speech and singing,
with and without a style video, measured on the videos a user gets.

  python eval/animate_real.py --checkpoints RUNS --out_dir runs/animate_real [--json OUT]
      [--portraits face_happy.png ...] [--audio speech_radio31.wav ...]
      [--style style_lp_d12.mp4 | validation | test | style_spata_clip1 ...] [--style_steps 0 100]
      [--renderer generator | warp [--mouth painter | interior | none]]
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
  mouth_open_median, mouth_open_p95, mouth_open_share: the tracked inner mouth's opening
    (metrics/mouth.amplitude: eye distances; share of frames open above 0.12);
  frames_per_second: animate's, end to end;
  sld, slv, smd: the output's track against the style video's (metrics/style.py, clean
    protocol; SLV at the style video's own frame rate, slv_held as at 60 fps with
    its held frames, as before 2026-12-07), without the style, and with it once per
    --style_steps value (0: the Motion Generator as trained) and --amplitude setting
    (on: the style's amplitude given to the motion, style/amplitude.py; off: the style
    feeding only the ISPs and the fine-tune);
  head_ratio_<axis>: the generated head's amplitude over the style video's tracked
    head's (style/amplitude.measure, both smoothed as the Motion Generator's samples
    are, over spans of the shorter one's length; the samples against tracked footage,
    as the motion evaluator's pose ratios): std of yaw, pitch, roll, sideways x, y;
  head_speed_ratio_<axis>: the same of their RMS velocities (style/amplitude.head_speed);
  tracked_head_ratio_<axis>: the same of the output video's track (what the renderer
    and the tracker make of it: the tracker's crop follows the face, so position
    reads smaller once more), and mouth_p95_ratio: the inner mouth's 95th-percentile
    opening on the output video's track over the style video's. --style validation or
    test takes every style of that split (data_prep/style_references.py): the output
    without a style is measured against each (a silent style's fine-tune learns its
    motion against the Motion Generator driven by the output's audio, as animate
    does), and the last lines give, per
    style, the medians over portraits, audio and seeds (`summarize`), and write a
    contact sheet per style (`contact_sheets`: the style video, no style, the style).

Reference rows (`reference` set, nothing animated) put the figures on a scale: per
portrait, the still portrait (its crop's CPBD; its landmarks held for as many frames as
the style video, against the style video: what no motion scores, the identity's face
shape included) and, once, tracked real footage against the style video: REAL_SPEAKER
(another person talking) and the style video's halves against each other, both ways
(HALVES: the same person in the same style, what a match at random phase would reach).
A still face scores SLV below the halves wherever the style's frame-to-frame motion is
uncorrelated between them (moving at all adds to |v_g - v_r|), so the issue's SLV row
reads as nearness to the halves, not lowness.
The style video's own frames against its first (OWN_FIRST_FRAME: identity_distance,
median of SAMPLE_FRAMES - 1 frames, and its worst) put the identity row on a scale: the
descriptor moves with a real person's own smiles and turns (surprisegirl 0.31 against
herself), so an output in that style cannot be expected far below it.

  python eval/animate_real.py --summarize RUN.json [RUN.json ...] [--json OUT]
pools the rows of earlier runs (seeds run apart) and prints `summarize` over them; a
reference row of a later file replaces an earlier one (so a --references_only run's
file, last, brings reference rows measured the current way).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import cv2
import numpy as np

from data_prep import style_references
from stylehead_jax import animate
from stylehead_jax import checkpoint
from stylehead_jax import media
from stylehead_jax import motion
from stylehead_jax.evaluators import faces as faces_lib
from stylehead_jax.landmarks import detectors
from stylehead_jax.landmarks import tracking
from stylehead_jax.metrics import head_motion
from stylehead_jax.metrics import mouth
from stylehead_jax.metrics import sharpness
from stylehead_jax.metrics import style
from stylehead_jax.metrics import sync
from stylehead_jax.style import amplitude
from stylehead_jax.style import references

REAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data",
                    "real")
SAMPLE_FRAMES = 12
SHEET_FRAMES = 8
RESOLUTION = 256
REAL_SPEAKER = "talk_vr_5.mp4"
# The style video's halves against each other, both ways (each half as the reference in
# turn, the mean): one way alone misses what only one half holds (furious_talk1's head
# shake in its last 0.6 s: SLV 1.55 with the first half as reference, 4.71 the other way).
HALVES = "its halves, both ways"
OWN_FIRST_FRAME = "its own frames against its first"


def measure(video_path: str, audio: np.ndarray, portrait: animate.Portrait, backend,
            config, generated: motion.MotionTrack, style_clips=None) -> dict:
  """The output's figures (module doc); with style_clips ({style: its tracked clip}),
  its style figures against each under "styles" (tracked once). config: the Motion
  Generator's (its head smoothing); generated: the motion the video was drawn from."""
  video = media.read_video(video_path).frames  # animate writes 60 fps
  detections = tracking.detect_track(video, backend)  # once, for the share and the track
  out = {"frames": len(video), "detected": float(np.mean(detections[1]))}
  try:
    track = _longest_track(video, video_path, backend, detections)
  except tracking.NoFaceError:
    return dict(out, sync_r=float("nan"), identity_distance=float("nan"),
                cpbd=sharpness.mean_cpbd(video[::6]))
  start = int(round(track.start_seconds * media.SAMPLE_RATE))
  clip = audio[start:start + len(track.landmarks) * media.SAMPLES_PER_FRAME]
  out["sync_r"] = sync.audio_lead(track.landmarks, clip).r_at_zero
  out["identity_distance"] = float(np.median(
      _identity_distances(track, portrait.crop, portrait.landmarks)))
  out["cpbd"] = sharpness.mean_cpbd(video[::6])
  out.update(mouth.amplitude(track.landmarks))
  if style_clips:
    as_clip = lambda t: {"landmarks": t.landmarks, "torso": t.torso, "head_pose": {
        "rotation": t.rotation, "translation": t.translation}}
    out["styles"] = {}
    for name, clip in style_clips.items():
      theirs = motion.style_amplitude(clip, config, len(generated.landmarks))
      # both motions over spans as long as the style's were (the shorter one's length)
      sampled = motion.style_amplitude(as_clip(generated), config, theirs.window)
      seen = motion.style_amplitude(as_clip(track), config, theirs.window)
      out["styles"][name] = dict(
          _style_figures(track.landmarks, clip["landmarks"], clip["source_fps"], media.FPS),
          **{f"head_ratio_{axis}": float(sampled.head[k] / theirs.head[k])
             for k, axis in enumerate(head_motion.AXES)},
          **{f"head_speed_ratio_{axis}": float(sampled.head_speed[k] / theirs.head_speed[k])
             for k, axis in enumerate(head_motion.AXES)},
          **{f"tracked_head_ratio_{axis}": float(seen.head[k] / theirs.head[k])
             for k, axis in enumerate(head_motion.AXES)},
          mouth_p95_ratio=seen.mouth / theirs.mouth)
  return out


def _style_figures(track: np.ndarray, style_track: np.ndarray, style_fps: float,
                   track_fps: float) -> dict:
  """SLD, SLV, SMD (clean protocol) of `track` against `style_track`, both 60 fps tracks
  of sources at `track_fps` and `style_fps`: SLV at the style's own frame rate
  (metrics/style.py), and as at 60 fps with its held frames (slv_held, before 2026-12-07)."""
  values = style.style_metrics(style_track, track, style.StyleSettings(
      "clean", source_fps=(style_fps, track_fps)))
  held = style.style_metrics(style_track, track, style.StyleSettings("clean"), ("slv",))
  return dict({k: float(values[k]) for k in ("sld", "slv", "smd")},
              slv_held=float(held["slv"]))


def _longest_track(video: np.ndarray, video_path: str, backend, detections=None):
  """The longest face track of 60 fps frames (tracking.track_segments)."""
  return max(tracking.track_segments(video, media.FPS, backend,
                                     tracking.TrackerConfig(resolution=RESOLUTION),
                                     video_path, detections), key=lambda t: len(t.frames))


def _identity_distances(track, crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
  """(SAMPLE_FRAMES,) dlib identity distances of frames spread over `track` to `crop`."""
  picks = np.linspace(0, len(track.frames) - 1, SAMPLE_FRAMES).astype(int)
  measured = faces_lib.Faces(RESOLUTION).measure(
      track.frames[picks], track.landmarks[picks], [crop] * len(picks),
      [landmarks] * len(picks))
  return np.asarray(measured["identity_distance"])


def own_identity(video_path: str, backend) -> dict:
  """The identity distance of a real video's own frames to its first (measured as an
  output's are against its portrait; the first frame itself left out of the median):
  how far the descriptor moves with a person's own expressions and turns."""
  track = _longest_track(media.read_video(video_path).frames, video_path, backend)
  distances = _identity_distances(track, track.frames[0], track.landmarks[0])
  return {"identity_distance": float(np.median(distances[1:])),
          "identity_distance_worst": float(distances.max())}


def reference_rows(portraits: dict, style_path: str, style_clip: dict,
                   cache: str, backend) -> list[dict]:
  """The scale of the figures: each still portrait, a real speaker and the style video's
  second half, against the style video, and the style video's identity distance to its
  own first frame (see the module docstring)."""
  style_name = _style_name(style_path)
  style_track, style_fps = style_clip["landmarks"], style_clip["source_fps"]
  rows = [{"reference": "still portrait", "portrait": name, "style": style_name,
           "cpbd": sharpness.mean_cpbd(portrait.crop[None]),
           **_style_figures(np.repeat(portrait.landmarks[None], len(style_track), 0),
                            style_track, style_fps, media.FPS)}
          for name, portrait in portraits.items()]
  speaker = _tracked(os.path.join(REAL, REAL_SPEAKER), cache)
  rows.append({"reference": f"real speaker {REAL_SPEAKER}", "style": style_name,
               **_style_figures(speaker["landmarks"], style_track, style_fps,
                                speaker["source_fps"])})
  half = len(style_track) // 2
  first, second = style_track[:half], style_track[half:]
  one_way = _style_figures(second, first, style_fps, style_fps)  # the first half as reference
  other_way = _style_figures(first, second, style_fps, style_fps)
  rows.append({"reference": f"{os.path.basename(style_path)}: {HALVES}",
               "style": style_name,
               **{k: (one_way[k] + other_way[k]) / 2 for k in one_way},
               **{f"{k}_first_half_as_reference": v for k, v in one_way.items()}})
  rows.append({"reference": f"{os.path.basename(style_path)}: {OWN_FIRST_FRAME}",
               "style": style_name, **own_identity(style_path, backend)})
  for row in rows:
    print(json.dumps(row), flush=True)
  return rows


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--checkpoints")
  p.add_argument("--out_dir")
  p.add_argument("--portraits", nargs="*", default=["face_happy.png", "face_lp_s0.jpg",
                                                    "face_pyfeat_single.jpg"])
  p.add_argument("--audio", nargs="*", default=["speech_radio31.wav", "sing_itosinger1.wav"],
                 help="audio files of ../shared/data/real, or paths relative to it")
  p.add_argument("--style", nargs="*", default=["style_lp_d12.mp4"],
                 help="videos of ../shared/data/real, splits of "
                      "data_prep/style_references.py (validation or test: every style) "
                      "or its styles by name (style_spata_clip1)")
  p.add_argument("--style_steps", nargs="*", type=int, default=[0, 100])
  p.add_argument("--amplitude", nargs="*", default=["on"],
                 metavar="{on,off,head,mouth,quantiles,p95,mean,source,local,model_tempo,"
                         "style_tempo,matched_tempo,generated_width,portrait_width}[+...]",
                 help="give the motion the style's amplitude (style/amplitude.py): on "
                      "(animate's: the head scaled about its mean, the mouth by its 95th "
                      "percentile or, fine-tuned, percentile by percentile), off, only "
                      "the head's or the mouth's, or both with the mouth matched "
                      "percentile by percentile (quantiles) or by its 95th percentile "
                      "(p95) whether fine-tuned or not, or with the head scaled about "
                      "the portrait's pose (source) or its local mean (local), or "
                      "slowed to the style's tempo first (style_tempo), or sampled "
                      "faster and slowed to it (matched_tempo, the default after a "
                      "fine-tune) or at the model's (model_tempo), or the "
                      "mouth's median width as generated (generated_width) or at most "
                      "the portrait's (portrait_width, the default after a fine-tune); "
                      "joined by '+': together; several: each")
  p.add_argument("--style_config", nargs="*", default=[], metavar="KEY=VALUE",
                 help="the fine-tune's config changed (configs/style_transfer.py: "
                      "critic.head_weight=0 ...): a study's variant")
  p.add_argument("--seeds", nargs="*", type=int, default=[0],
                 help="seeds of the head motion and the fine-tune")
  p.add_argument("--renderer", default="generator", choices=animate.RENDERERS)
  p.add_argument("--mouth", default=None, choices=animate.MOUTHS,
                 help="(--renderer warp) its mouth (animate --mouth; default: animate's)")
  p.add_argument("--stage", nargs="*", default=[], metavar="STAGE=WORKDIR",
                 help=f"write RUNS/{animate.MANIFEST} naming these workdirs first")
  p.add_argument("--references_only", action="store_true",
                 help="only the reference rows (nothing animated)")
  p.add_argument("--summarize", nargs="*", metavar="RUN.json",
                 help="only pool these runs' rows and summarize them (module doc)")
  p.add_argument("--json")
  args = p.parse_args(argv)
  if args.summarize:
    rows = pooled(args.summarize)
    summarize(rows)
    if args.json:
      with open(args.json, "w") as f:
        json.dump(rows, f, indent=1)
    return 0
  if not (args.checkpoints and args.out_dir):
    p.error("--checkpoints and --out_dir are needed (all but --summarize)")
  for amp in set(args.amplitude) - {"on", "off"}:
    try:
      amplitude.variant(amplitude.Amplitude(head=None, mouth=None, window=1), amp)
    except ValueError as e:
      p.error(f"--amplitude: {e}")
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


def pooled(paths: list[str]) -> list[dict]:
  """The rows of several runs' --json files: every animated row, and each reference row
  (by reference, style and portrait) as the last file that has it gives it."""
  animated, references = [], {}
  for path in paths:
    with open(path) as f:
      for row in json.load(f):
        if "reference" in row:
          references[(row["reference"], row.get("style"), row.get("portrait"))] = row
        else:
          animated.append(row)
  return list(references.values()) + animated


def styles_of(choices: list[str]) -> dict[str, tuple[str, bool]]:
  """{style name: (video path, has speech)} of --style: each a split of
  data_prep/style_references.py (every style in it), one of its styles by name
  (style_spata_clip1), or one video of ../shared/data/real."""
  shared = os.path.dirname(REAL)
  styles = {}
  for choice in choices:
    if choice in style_references.SPLITS:
      picked = style_references.of_split(choice)
    else:
      picked = [s for s in style_references.STYLES if _style_name(s.path) == choice]
    styles.update({_style_name(s.path): (style_references.path_of(s, shared), s.speech)
                   for s in picked})
    if not picked:
      styles[_style_name(choice)] = (os.path.join(REAL, choice), True)
  return styles


def _style_name(path: str) -> str:
  return os.path.splitext(os.path.basename(path))[0]


def _tracked(path: str, cache: str) -> dict:
  """references.track_video's clip of the video at `path`, with its "source_fps"."""
  return dict(references.track_video(path, RESOLUTION, cache),
              source_fps=media.stream_video(path)[0])


def run(args) -> list[dict]:
  """Every portrait x audio x (no style, each style at each --style_steps): animated and
  measured, the output without a style against every style; each row printed as it is
  done."""
  backend = detectors.get_backend("dlib")
  styles = styles_of(args.style)
  cache = os.path.join(os.path.abspath(args.checkpoints), ".cache", "styles")
  clips = {name: _tracked(path, cache) for name, (path, _) in styles.items()}
  config = checkpoint.read_run_config(
      animate.stage_workdirs(args.checkpoints, args.renderer)["motion_generator"])
  portraits = {name: animate.load_portrait(os.path.join(REAL, name), RESOLUTION, backend)[0]
               for name in args.portraits}
  rows = []
  for name, (path, _) in styles.items():
    rows += reference_rows(portraits, path, clips[name], cache, backend)
  if args.references_only:
    return rows
  for portrait_name, portrait in portraits.items():
    for audio_name in args.audio:
      audio = animate.load_audio(os.path.join(REAL, audio_name))
      runs = [(None, 0, "off", seed) for seed in args.seeds] + [
          (name, n, amp, seed) for name in styles for n in args.style_steps
          for amp in args.amplitude for seed in args.seeds]
      for style_name, steps, amp, seed in runs:
        name = _output_name(portrait_name, audio_name, style_name, steps, amp, seed)
        out, summary = animate.animate(
            os.path.join(REAL, portrait_name), os.path.join(REAL, audio_name),
            args.checkpoints, os.path.join(args.out_dir, name),
            style=styles[style_name][0] if style_name else None, style_steps=steps,
            style_amplitude={"on": True, "off": False}.get(amp, amp),
            style_settings=args.style_config,
            renderer=args.renderer, resolution=RESOLUTION, seed=seed, progress=False,
            mouth=args.mouth, keep_motion=True)
        measured = measure(out, audio, portrait, backend, config, summary.pop("motion"),
                           clips if style_name is None else {style_name: clips[style_name]})
        against = measured.pop("styles", {})
        for each in ([style_name] if style_name else list(styles)):
          row = {"portrait": portrait_name, "audio": audio_name, "style": each,
                 "styled": style_name is not None, "style_steps": steps,
                 "amplitude": amp, "seed": seed,
                 "mouth": summary["mouth"],
                 "frames_per_second": summary["frames_per_second"], **measured,
                 **against.get(each, {})}
          rows.append(row)
          print(json.dumps(row), flush=True)
  summarize(rows)
  for path in contact_sheets(args.out_dir, styles, rows):
    print(f"contact sheet: {path}", flush=True)
  return rows


def _output_name(portrait: str, audio: str, style_name: str | None, steps: int, amp: str,
                 seed: int) -> str:
  label = f"{style_name}_{steps}_{amp}" if style_name else "nostyle"
  stem = lambda path: os.path.splitext(os.path.basename(path))[0]
  return f"{stem(portrait)}__{stem(audio)}__{label}_seed{seed}.mp4"


def _square(frames: np.ndarray, size: int) -> np.ndarray:
  """Frames centre-cropped to a square and resized to `size`."""
  h, w = frames.shape[1:3]
  side = min(h, w)
  top, left = (h - side) // 2, (w - side) // 2
  return np.stack([cv2.resize(f[top:top + side, left:left + side], (size, size),
                              interpolation=cv2.INTER_AREA) for f in frames])


def contact_sheets(out_dir: str, styles: dict, rows: list[dict]) -> list[str]:
  """Per style, SHEET_FRAMES evenly spaced frames of the style video (top), the first
  portrait x audio's output without a style (middle) and with the style, with the run's
  first amplitude setting and seed, at the most fine-tune steps of the run (bottom):
  OUT_DIR/sheets/<style>.png. Returns the paths."""
  animated = [r for r in rows if "reference" not in r]
  styled_rows = [r for r in animated if r["styled"]]
  if not styled_rows:
    return []
  pair = animated[0]["portrait"], animated[0]["audio"]
  amp, seed = styled_rows[0]["amplitude"], styled_rows[0]["seed"]
  os.makedirs(os.path.join(out_dir, "sheets"), exist_ok=True)
  plain = os.path.join(out_dir, _output_name(*pair, None, 0, "off", seed))
  paths = []
  for style_name, (path, _) in styles.items():
    steps = max([r["style_steps"] for r in styled_rows if r["style"] == style_name],
                default=0)
    styled = os.path.join(out_dir, _output_name(*pair, style_name, steps, amp, seed))
    if not (os.path.exists(plain) and os.path.exists(styled)):
      continue
    videos = [media.read_video(v).frames for v in (path, plain, styled)]
    sheet = [np.concatenate(list(_square(v[np.linspace(0, len(v) - 1, SHEET_FRAMES)
                                           .astype(int)], RESOLUTION)), 1) for v in videos]
    out = os.path.join(out_dir, "sheets", f"{style_name}.png")
    cv2.imwrite(out, np.concatenate(sheet, 0)[..., ::-1])
    paths.append(out)
  return paths


def summarize(rows: list[dict]) -> None:
  """Per style, the medians over portraits, audio and seeds without the style and with it
  at each (steps, amplitude): SMD, SLV, the head's amplitude ratios to the style (yaw,
  pitch, roll, x; and the largest of any single output), the mouth's p95 ratio, lip sync,
  identity (and its worst output) and the lowest share of frames with the face found;
  the style video's identity distance to its own first frame; the style's own halves
  and a still portrait's SLV (median over the portraits: no
  motion at all, which scores below the halves wherever the style's frame-to-frame
  motion is uncorrelated between its halves). Then per setting, over the styles: the
  median SMD change against no style, the share of styles whose head is in the
  0.8-1.25 band on all four axes and the share whose SLV is nearer the style's halves
  than without the style."""
  animated = [r for r in rows if "reference" not in r]
  axes = head_motion.AXES[:4]  # yaw, pitch, roll, sideways
  median = lambda picked, key: float(np.nanmedian([r[key] for r in picked]))
  settings = list(dict.fromkeys((r["styled"], r["style_steps"], r.get("amplitude", "off"))
                                for r in animated))
  changes = {s: [] for s in settings}
  for style_name in dict.fromkeys(r["style"] for r in animated):
    own = [r for r in rows if r.get("reference", "").endswith(HALVES)
           and r.get("style") == style_name]
    still = [r for r in rows if r.get("reference") == "still portrait"
             and r.get("style") == style_name]
    itself = [r for r in rows if r.get("reference", "").endswith(OWN_FIRST_FRAME)
              and r.get("style") == style_name]
    print(f"{style_name}:" + (f"  its halves SMD {own[0]['smd']:.3f} SLV {own[0]['slv']:.3f}"
                              if own else "")
          + (f"  a still portrait SLV {median(still, 'slv'):.3f}" if still else "")
          + (f"  its own identity {itself[-1]['identity_distance']:.3f}" if itself else ""),
          flush=True)
    plain = None
    for setting in settings:
      picked = [r for r in animated if r["style"] == style_name and "smd" in r and
                (r["styled"], r["style_steps"], r.get("amplitude", "off")) == setting]
      if not picked:
        continue
      styled, steps, amp = setting
      smd, slv = median(picked, "smd"), median(picked, "slv")
      plain = (smd, slv) if not styled else plain
      heads = [median(picked, f"head_ratio_{a}") for a in axes]
      worst = max(max(abs(np.log(r[f"head_ratio_{a}"])) for a in axes) for r in picked)
      in_band = all(0.8 <= h <= 1.25 for h in heads)
      if styled and plain:
        changes[setting].append((smd / plain[0] - 1.0, in_band,
                                 bool(own) and abs(slv - own[0]["slv"])
                                 < abs(plain[1] - own[0]["slv"])))
      label = f"style {steps} steps, amplitude {amp}" if styled else "no style"
      print(f"  {label:34s} SMD {smd:.3f} SLV {slv:.3f}  head "
            + " ".join(f"{a} {h:.2f}" for a, h in zip(axes, heads))
            + "  speed " + " ".join(f"{median(picked, 'head_speed_ratio_' + a):.2f}"
                                    for a in axes)
            + f" (worst output {np.exp(worst):.2f}x)  on the video "
            + " ".join(f"{median(picked, 'tracked_head_ratio_' + a):.2f}" for a in axes)
            + "  mouth p95 "
            f"{median(picked, 'mouth_p95_ratio'):.2f}  sync r {median(picked, 'sync_r'):.3f}"
            f"  identity {median(picked, 'identity_distance'):.3f} (worst "
            f"{max(r['identity_distance'] for r in picked):.3f})  face found "
            f"{100 * min(r['detected'] for r in picked):.1f}% (lowest)", flush=True)
  for (styled, steps, amp), values in changes.items():
    if values:
      print(f"style {steps} steps, amplitude {amp}: SMD change against no style, median "
            f"over {len(values)} styles {100 * np.median([v[0] for v in values]):+.1f}%; "
            f"head in 0.8-1.25 on {axes}: {sum(v[1] for v in values)}/{len(values)} styles; "
            f"SLV nearer the style's halves than with no style: "
            f"{sum(v[2] for v in values)}/{len(values)} styles", flush=True)


if __name__ == "__main__":
  sys.exit(main())
