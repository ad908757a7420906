"""Motion Generator on real speech: leave-one-clip-out over lip-synced real footage.

  python eval/motion_real_speech.py --workdir runs/real_speech [--json OUT]
      [--shared ../shared/data] [--steps 500] [--mix_weight 0.5] [--audio_source log_mel]
      [--clips ID ...] [--set lookahead_frames=12 ...] [--generation pose_temperature=0.5 ...]
      [--truth_smoothing 0.1] [--calibrate]

For every real clip (the ten ../shared/data/voxceleb2_sample crops and the lip-synced
talk_hdtf_aoc, talk_vr_5, talk_lp_d20 of ../shared/data/real), a Motion Generator
(configs/motion_generator.py:runlocal) trains on the synthetic world mixed with the
other real clips (config.data.mix, config.data.exclude_clips) and then animates the
held-out clip's first frame from its soundtrack (motion.generate_motion, the inference
path). Per held-out clip it reports the Pearson r between the predicted and the tracked
inner-mouth opening, the same model's r when fed another clip's audio (cut or tiled to
length), LMD and D-V against the no-motion baseline, and the head's motion against the
clip's tracked head (metrics/head_motion.py); then medians over clips. The tracked head
pose of real footage is mostly frame-to-frame tracking noise (76-86% of its velocity
power above 4 Hz): --truth_smoothing S smooths it (and the other clip's) as generation
smooths its samples before the head-motion measures. --calibrate fits each fold's per-axis
head sampling to the fold's training clips (evaluators/motion.calibrate_sampling).

talk_lp_d20's soundtrack is off its mouth: stylehead_jax.metrics.sync measures the
audio 0.267 s behind the mouth on its tracked landmarks (r 0.67 there, 0.18 as is), so
the real clips' manual_dir carries an audio_offsets.tsv that shifts it back before
anything is cut from it (the builder's documented correction). talk_lp_s18 and
style_lp_d6 have music soundtracks and style_lp_d12 no confirmed sync: not used.

The default audio input is plain log-mels: an APC encoder trained on the synthetic
world's formant voices (--audio_source apc) transfers worse to real speech (median r
0.233 against 0.298 with log-mels, same folds, 2026-11-22); an APC trained on real speech
(Common Voice through data_prep/speech_audio) is what the paper's setup implies.

Training steps per fold: 500 (`--steps`). Longer training fits the synthetic world better
and real speech worse: median r 0.343 (seed 0) and 0.318 (seed 1) at 500 steps against
0.298 and 0.300 at 1,000 (2026-11-22/23). 500 was picked after seeing seed 0 at both
counts (there is no validation split beside these 13 clips); seed 1 at 500 came after.

Everything lands in --workdir and is reused by a re-run: the symlinked manual_dir, the
TFDS builds, the APC encoder run and one training run per fold (a re-run resumes).

The Motion Generator that animates real photos is not this study's: it is
configs/motion_generator.py:real, trained on the real clips' train split
(data_prep/real_clips.py) and calibrated on their validation split.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from stylehead_jax import console

console.import_tensorflow()  # first: its C++ start-up lines go to the log
# pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow_datasets as tfds

from stylehead_jax import datasets
from stylehead_jax import input_pipeline
from stylehead_jax import overrides as overrides_lib
from stylehead_jax import metrics
from stylehead_jax import motion
from stylehead_jax import train
from stylehead_jax.evaluators import motion as motion_eval
from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.metrics import head_motion
from stylehead_jax.metrics import sync
from configs import audio_encoder as audio_encoder_config
from configs import common
from configs import motion_generator as motion_generator_config

REAL_CLIPS = ("talk_hdtf_aoc.mp4", "talk_vr_5.mp4", "talk_lp_d20.mp4")
AUDIO_LEADS = {"talk_lp_d20.mp4": -0.267}  # seconds, sync.audio_lead on the tracked clip
RESOLUTION = 256
GENERATION = ("pose_temperature", "pose_noise_seconds", "pose_smoothing_seconds",
              "pose_axis_temperature", "pose_axis_smoothing", "pose_axis_correlation")


def manual_dir(workdir: str, shared: str) -> str:
  """workdir/videos: links to the clips and the audio_offsets.tsv correcting them."""
  folder = os.path.join(workdir, "videos")
  os.makedirs(folder, exist_ok=True)
  sources = {f"vox_{name}": os.path.join(shared, "voxceleb2_sample", name)
             for name in sorted(os.listdir(os.path.join(shared, "voxceleb2_sample")))
             if name.endswith(".mp4")}
  sources.update({name: os.path.join(shared, "real", name) for name in REAL_CLIPS})
  for name, source in sources.items():
    if not os.path.exists(source):
      raise FileNotFoundError(f"{source}: missing (--shared points at ../shared/data)")
    link = os.path.join(folder, name)
    if not os.path.lexists(link):
      os.symlink(os.path.abspath(source), link)
  with open(os.path.join(folder, "audio_offsets.tsv"), "w") as f:
    for name, lead in AUDIO_LEADS.items():
      f.write(f"{name}\t{lead}\n")
  return folder


def real_data_config(data_dir: str):
  config = motion_generator_config.get_config("runlocal").data.mix
  config.name = "talking_head_videos"
  config.overrides = f"resolution={RESOLUTION},test_fraction=0"
  config.data_dir = data_dir
  return config


def prepared(name: str, data_dir: str, overrides: str, make_manual_dir):
  """Builder `name` with `overrides`, built from make_manual_dir() the first time."""
  builder = datasets.make_builder(name, data_dir, overrides_lib.parse(overrides))
  if not os.path.exists(os.path.join(builder.data_dir, "dataset_info.json")):
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=make_manual_dir()))
  return builder


def build_real(workdir: str, shared: str, data_dir: str):
  """The real clips' builder (the first build takes about 5 minutes on 2 cores)."""
  config = real_data_config(data_dir)
  return prepared(config.name, data_dir, config.overrides, lambda: manual_dir(workdir, shared))


def speech_dir(workdir: str, shared: str) -> str:
  """workdir/speech: links to the real speech recordings (none of them a test clip)."""
  folder = os.path.join(workdir, "speech")
  os.makedirs(folder, exist_ok=True)
  for name in sorted(os.listdir(os.path.join(shared, "real"))):
    link = os.path.join(folder, name)
    if name.startswith("speech_") and not os.path.lexists(link):
      os.symlink(os.path.abspath(os.path.join(shared, "real", name)), link)
  return folder


def encoder_workdir(args, data_dir: str) -> str:
  """An APC encoder (:runlocal), made once: on the synthetic world ("apc"), or on it mixed
  half and half with the real speech recordings of ../shared/data/real ("apc_speech")."""
  workdir = os.path.join(args.workdir, args.audio_source)
  config = audio_encoder_config.get_config("runlocal")
  config.data.data_dir = data_dir
  config.progress = False
  if args.audio_source == "apc_speech":
    prepared("speech_audio", data_dir, "test_fraction=0",
             lambda: speech_dir(args.workdir, args.shared))
    config.data.mix = {"name": "speech_audio", "overrides": "test_fraction=0",
                       "data_dir": data_dir, "train_split": "train", "weight": 0.5}
  train.train_and_evaluate(config, workdir)
  return workdir


def fold_config(args, data_dir: str, apc_workdir: str, held_out: str):
  """The Motion Generator trained without clip `held_out`."""
  config = motion_generator_config.get_config("runlocal")
  config.data.data_dir = data_dir
  config.data.mix = real_data_config(data_dir)
  config.data.mix.weight = args.mix_weight
  config.data.exclude_clips = (held_out,)
  config.audio.source = "log_mel" if args.audio_source == "log_mel" else "apc"
  config.audio.encoder_workdir = apc_workdir
  config.total_steps = args.steps
  config.evals.motion.every_steps = args.steps
  config.evals.motion.max_clips = 4  # the synthetic test split, a sanity check only
  config.progress = False
  return common.set_values(config, args.set)


def score(model, clip, other, seed: int, truth_smoothing: float = 0.0) -> dict:
  """Mouth-opening r of the held-out clip, with its own and with another clip's audio,
  LMD, and the head's motion against the clip's tracked head (metrics/head_motion.py;
  the other clip's tracked head as the window distance's "other" reference), both
  smoothed by `truth_smoothing` seconds (motion.smooth_pose) where it is > 0."""
  import jax  # pylint: disable=g-import-not-at-top
  truth = clip["landmarks"]
  rng = jax.random.key(seed)
  run = lambda **kw: motion_eval.generate(model, clip, rng, resolution=RESOLUTION,
                                          chunk_frames=240, **kw)
  generated = run()
  other_audio = run(log_mel=np.resize(other["log_mel"], clip["log_mel"].shape))
  opening = lmk.mouth_opening(truth)
  still = np.repeat(truth[:1], len(truth), axis=0)
  return {
      "frames": len(truth),
      "mouth_opening_r": sync.pearson(lmk.mouth_opening(generated.landmarks), opening),
      "other_audio_mouth_opening_r": sync.pearson(lmk.mouth_opening(other_audio.landmarks),
                                                  opening),
      "lmd": metrics.lmd(generated.landmarks, truth),
      "no_motion_lmd": metrics.lmd(still, truth),
      "d_v": metrics.velocity_distance(generated.landmarks, truth),
      "no_motion_d_v": metrics.velocity_distance(still, truth),
      "audio_lead_seconds": sync.audio_lead(truth, clip["audio"]).lead_seconds,
      **head_motion.measures(
          motion_eval.pose_series(clip, generated),
          motion.smooth_pose(motion_eval.pose_series(clip), truth_smoothing),
          motion.smooth_pose(motion_eval.pose_series(other), truth_smoothing)),
  }


def with_generation(model: motion.MotionModel, values) -> motion.MotionModel:
  """The model with its generation settings (pose_temperature, pose_noise_seconds,
  pose_smoothing_seconds) overridden: scoring only, training is unaffected."""
  settings = {}
  for key, value in overrides_lib.parse(values or []).items():
    if key not in GENERATION:
      raise SystemExit(f"--generation {key}: one of {GENERATION}")
    settings[key] = (tuple(float(v) for v in value.split("+")) if key.startswith("pose_axis_")
                     else float(value))  # factors as a+b+c+d+e
  return model.with_settings(**settings)


def calibrated(model: motion.MotionModel, clips, seed: int, truth_smoothing: float):
  """The model with per-axis head sampling fitted to `clips` (the fold's training clips:
  13 real clips leave no validation set) against their truth smoothed by
  `truth_smoothing` (evaluators/motion.calibrate_sampling)."""
  settings, history = motion_eval.calibrate_sampling(
      model, clips, resolution=RESOLUTION, chunk_frames=240, seed=seed, draws=2,
      truth_smoothing=truth_smoothing)
  return model.with_settings(**settings), history


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                       "shared", "data"))
  parser.add_argument("--data_dir", default=None, help="TFDS data (default WORKDIR/tfds)")
  parser.add_argument("--steps", type=int, default=500)
  parser.add_argument("--mix_weight", type=float, default=0.5,
                      help="fraction of training windows from the real clips")
  parser.add_argument("--audio_source", choices=("log_mel", "apc", "apc_speech"),
                      default="log_mel",
                      help="apc: an APC encoder trained on the synthetic world (:runlocal); "
                      "apc_speech: on it and the real speech recordings")
  parser.add_argument("--clips", nargs="*", help="hold out only these clip ids")
  parser.add_argument("--set", nargs="*", help="motion config values, e.g. lookahead_frames=12")
  parser.add_argument("--generation", nargs="*",
                      help="score with these generation settings (a re-run reuses the "
                      f"trained folds), e.g. pose_temperature=0.5; of {GENERATION}")
  parser.add_argument("--truth_smoothing", type=float, default=0.0,
                      help="seconds: smooth the tracked head pose before the head-motion "
                      "measures (its frame-to-frame motion is mostly tracking noise)")
  parser.add_argument("--calibrate", action="store_true",
                      help="fit each fold's per-axis head sampling to its training clips "
                      "(against their truth smoothed by --truth_smoothing)")
  parser.add_argument("--json", help="write the results here")
  args = parser.parse_args(argv)
  os.makedirs(args.workdir, exist_ok=True)
  console.log_to_workdir(args.workdir, "motion_real_speech")
  data_dir = args.data_dir or os.path.join(args.workdir, "tfds")

  builder = build_real(args.workdir, args.shared, data_dir)
  apc_workdir = "" if args.audio_source == "log_mel" else encoder_workdir(args, data_dir)
  clips = list(input_pipeline.clips(builder, "train", ("landmarks", "head_pose", "torso",
                                                       "log_mel", "audio", "clip_id")))
  ids = [c["clip_id"].decode() for c in clips]

  rows = {}
  for i, clip in enumerate(clips):
    if args.clips and ids[i] not in args.clips:
      continue
    config = fold_config(args, data_dir, apc_workdir, ids[i])
    fold_dir = os.path.join(args.workdir, "folds", ids[i].replace("/", "_").replace("#", "_"))
    started = time.time()
    result = train.train_and_evaluate(config, fold_dir)
    model = with_generation(motion.load(fold_dir), args.generation)
    extra = {}
    if args.calibrate:
      model, history = calibrated(model, [c for j, c in enumerate(clips) if j != i],
                                  config.evals.motion.seed, args.truth_smoothing)
      extra = {key: list(model.config[key]) for key in (
          "pose_axis_temperature", "pose_axis_smoothing", "pose_axis_correlation")}
      extra["calibration_rounds"] = len(history)
    other = clips[(i + 1) % len(clips)]
    rows[ids[i]] = dict(score(model, clip, other, config.evals.motion.seed,
                              args.truth_smoothing), **extra,
                        other_audio_from=ids[(i + 1) % len(clips)],
                        fold_seconds=time.time() - started,
                        synthetic_test=result["eval"]["motion"])
    print(f"{ids[i]:24s} " + " ".join(f"{k}={v:.3f}" for k, v in rows[ids[i]].items()
                                      if isinstance(v, float) and not k.startswith("pose_")),
          flush=True)

  r = np.array([row["mouth_opening_r"] for row in rows.values()])
  r_other = np.array([row["other_audio_mouth_opening_r"] for row in rows.values()])
  summary = {"num_clips": len(rows), "median_mouth_opening_r": float(np.median(r)),
             "median_other_audio_mouth_opening_r": float(np.median(r_other)),
             "clips_above_other_audio": int((r > r_other).sum()),
             **{f"median_{k}": float(np.nanmedian([row[k] for row in rows.values()]))
                for k in next(iter(rows.values())) if k.startswith("pose_")},
             "generation": args.generation or [],
             "truth_smoothing": args.truth_smoothing, "calibrate": args.calibrate,
             "steps": args.steps, "mix_weight": args.mix_weight,
             "audio_source": args.audio_source, "set": args.set or [],
             "audio_leads_corrected": AUDIO_LEADS}
  print(json.dumps(summary, indent=2))
  if args.json:
    with open(args.json, "w") as f:
      json.dump({"summary": summary, "clips": rows}, f, indent=2)
  return 0


if __name__ == "__main__":
  sys.exit(main())
