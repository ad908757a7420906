"""The real Motion Generator on the real clips' test split: the Real mouth figures.

  python eval/real_mouth.py --config configs/motion_generator.py:real \\
      --config.data.data_dir=DIR --workdir runs/mg_real [--seeds 0,1,2] [--json OUT]
      [--strips DIR] [--split test]

Each clip of the split (data_prep/real_clips.py) is animated from its first frame by its
own audio (motion.generate_motion, as `animate` does), once per seed, with the run's
generation settings (head sampling and mouth gain as eval/calibrate_pose.py wrote them
into WORKDIR/config.json), and scored by evaluators/motion.score_clip: the mouth's
amplitude (metrics/mouth.py), its r against the truth and with another clip's audio, LMD
of the mouth on canonical faces (the head's pose removed: evaluators/motion.mouth_lmds)
against the still face and the shuffled audio, and the head against the
tracked head smoothed as the samples are (config.evals.motion.truth_smoothing). A clip's
figure is its median over seeds; the summary, medians over clips, with the issue's
criteria checked. --strips writes, per clip, 8 frames of the truth above 8 of the warp
renderer (render/warp.py: the first frame warped to the generated landmarks, with the
mouth interior animate draws, render/mouth_interior.py).
"""

from __future__ import annotations

import json
import os
import sys

from stylehead_jax import console  # pylint: disable=g-import-not-at-top
console.import_tensorflow()  # first: its C++ start-up lines go to the log

from absl import app
from absl import flags
import cv2
import jax
import numpy as np

from data_prep import real_clips
from stylehead_jax import datasets
from stylehead_jax import input_pipeline
from stylehead_jax import motion
from stylehead_jax import train  # defines --config and --workdir
from stylehead_jax.evaluators import motion as motion_eval
from stylehead_jax.render import mouth_interior
from stylehead_jax.render import warp

_SEEDS = flags.DEFINE_string("seeds", "0,1,2", "Seeds of the head-motion draws.")
_SPLIT = flags.DEFINE_string("split", "test", "Which split of the real clips.")
_JSON = flags.DEFINE_string("json", None, "Write the rows and the summary here.")
_STRIPS = flags.DEFINE_string("strips", None, "Write truth-over-warp strips (png) here.")

ROWS = ("mouth_open_p95_ratio", "mouth_open_share_ratio", "mouth_open_median_ratio",
        "mouth_opening_r", "shuffled_audio_mouth_opening_r", "mouth_lmd",
        "no_motion_mouth_lmd", "shuffled_audio_mouth_lmd", "lmd", "no_motion_lmd",
        "shuffled_audio_lmd", "mouth_open_truth_p95", "mouth_open_p95",
        *(f"pose_{kind}_ratio_{axis}" for kind in ("amplitude", "speed")
          for axis in ("yaw", "pitch", "roll", "x", "y")))
STRIP_FRAMES = 8


def criteria(s: dict) -> dict[str, bool]:
  """The issue's "done when", on the summary's medians."""
  band = lambda v: 0.8 <= v <= 1.25
  head = [s[f"pose_{kind}_ratio_{axis}"] for kind in ("amplitude", "speed")
          for axis in ("yaw", "pitch", "roll", "x", "y")]
  return {
      "p95 ratio in 0.8-1.25": band(s["mouth_open_p95_ratio"]),
      "share ratio in 0.8-1.25": band(s["mouth_open_share_ratio"]),
      "mouth r >= 0.45": s["mouth_opening_r"] >= 0.45,
      "r >= shuffled-audio r + 0.3": s["mouth_opening_r"] >= s["shuffled_audio_mouth_opening_r"] + 0.3,
      "mouth LMD <= 0.7 x still face": s["mouth_lmd"] <= 0.7 * s["no_motion_mouth_lmd"],
      "mouth LMD below shuffled audio": s["mouth_lmd"] < s["shuffled_audio_mouth_lmd"],
      "head amplitude and speed ratios in 0.8-1.25": all(band(v) for v in head),
  }


def strip(clip: dict, landmarks: np.ndarray, path: str) -> None:
  """STRIP_FRAMES evenly spaced frames: the truth above the warp renderer's (with its
  drawn mouth interior, as animate renders)."""
  picks = np.linspace(0, len(landmarks) - 1, STRIP_FRAMES).astype(int)
  first, first_landmarks = clip["frames"][0], clip["landmarks"][0]
  warped = mouth_interior.Interior(first, first_landmarks).draw(
      warp.render(first, first_landmarks, landmarks[picks]), landmarks[picks])
  sheet = np.concatenate([np.concatenate(list(clip["frames"][picks]), 1),
                          np.concatenate(list(warped), 1)], 0)
  cv2.imwrite(path, sheet[..., ::-1])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  config, workdir = flags.FLAGS.config, os.path.abspath(flags.FLAGS.workdir)
  console.log_to_workdir(workdir, "real_mouth")
  ev = config.evals.motion
  model = motion.load(workdir)
  builder = datasets.get_builder(config.data)
  features = motion.FEATURES + ("clip_id",) + (("frames",) if _STRIPS.value else ())
  clips = list(input_pipeline.clips(builder, _SPLIT.value, features))
  resolution = motion_eval.crop_size(builder)
  seeds = [int(s) for s in _SEEDS.value.split(",")]
  notes = {real_clips.clip_id(c): c.note for c in real_clips.CLIPS}
  per_seed = {}
  for seed in seeds:
    rng = jax.random.key(seed)
    for i, clip in enumerate(clips):
      row, generated = motion_eval.score_clip(
          model, clips, i, jax.random.fold_in(rng, i), resolution=resolution,
          chunk_frames=ev.chunk_frames, truth_smoothing=ev.truth_smoothing)
      per_seed.setdefault(clip["clip_id"].decode(), []).append(row)
      if _STRIPS.value and seed == seeds[0]:
        os.makedirs(_STRIPS.value, exist_ok=True)
        name = clip["clip_id"].decode().replace("/", "_").replace("#", "_")
        strip(clip, generated.landmarks, os.path.join(_STRIPS.value, f"{name}.png"))
  rows = {cid: {k: float(np.nanmedian([r[k] for r in runs])) for k in ROWS}
          for cid, runs in per_seed.items()}
  summary = {k: float(np.nanmedian([r[k] for r in rows.values()])) for k in ROWS}
  checks = criteria(summary)
  print(f"{len(rows)} clips of {_SPLIT.value!r} x seeds {seeds}; mouth gain "
        f"{model.config.get('mouth_gain', 1.0)}; medians over seeds, then clips")
  head = ("p95 ratio", "share ratio", "r", "r other", "mouth LMD", "still", "shuffled")
  print(f"{'clip':38s} " + " ".join(f"{h:>9s}" for h in head) + "  note")
  for cid, row in list(rows.items()) + [("median", summary)]:
    values = [row[k] for k in ("mouth_open_p95_ratio", "mouth_open_share_ratio",
                               "mouth_opening_r", "shuffled_audio_mouth_opening_r",
                               "mouth_lmd", "no_motion_mouth_lmd",
                               "shuffled_audio_mouth_lmd")]
    print(f"{cid:38s} " + " ".join(f"{v:9.3f}" for v in values) + f"  {notes.get(cid, '')}")
  print("head amplitude / speed ratios (yaw pitch roll x y): " + " ".join(
      f"{summary[f'pose_amplitude_ratio_{a}']:.2f}/{summary[f'pose_speed_ratio_{a}']:.2f}"
      for a in ("yaw", "pitch", "roll", "x", "y")))
  for name, ok in checks.items():
    print(f"  [{'x' if ok else ' '}] {name}")
  if _JSON.value:
    with open(_JSON.value, "w") as f:
      json.dump({"workdir": workdir, "split": _SPLIT.value, "seeds": seeds,
                 "mouth_gain": model.config.get("mouth_gain", 1.0), "summary": summary,
                 "criteria": checks, "clips": rows, "notes": notes}, f, indent=1)


if __name__ == "__main__":
  app.run(main, flags_parser=train.parse_flags)
