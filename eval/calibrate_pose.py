"""Fits a Motion Generator's per-axis head sampling to a validation set of clips.

  python eval/calibrate_pose.py --config configs/motion_generator.py:runlocal \\
      --workdir RUN --config.data.data_dir=DIR --config.audio.encoder_workdir=APC \\
      [--iterations 8] [--draws 4] [--mouth] [--json OUT] [--flags OUT] [--write]

The clips are config.data.validation_split's (the synthetic world's validation speakers),
only config.data.validation_clip_ids of it where given: on data without a validation
split, clips of the train split the run did not train on (config.data.exclude_clips).
Never the evaluation split. The fit (evaluators/motion.calibrate_sampling) measures how
the truth's head axes move together (config.pose_axis_correlation) and finds the factors
config.pose_axis_temperature and config.pose_axis_smoothing under which each head axis
(yaw, pitch, roll, x, y) of the samples has the median amplitude and speed of the
truth's (smoothed by config.evals.motion.truth_smoothing seconds first: a tracked
head's frame-to-frame pose is mostly tracking noise); --mouth then fits config.mouth_gain
(evaluators/motion.calibrate_mouth: the opening's 95th percentile as the truth's). It
prints them as config lines and flags. --flags writes the flags to a file
(one per line: `evaluate ... $(cat FILE)`, as make demo does); --write puts them into
RUN/config.json, where motion.load (animate) reads them (a later training run in RUN
writes its own config there again).
"""

from __future__ import annotations

import json
import os
import sys

from stylehead_jax import console  # pylint: disable=g-import-not-at-top
console.import_tensorflow()  # first: its C++ start-up lines go to the log

from absl import app
from absl import flags
import jax
import numpy as np

from stylehead_jax import datasets
from stylehead_jax import input_pipeline
from stylehead_jax import motion
from stylehead_jax import train  # defines --config and --workdir
from stylehead_jax.errors import ConfigError
from stylehead_jax.evaluators import motion as motion_eval
from stylehead_jax.metrics import head_motion

_ITERATIONS = flags.DEFINE_integer("iterations", 8, "At most this many rounds of generation.")
_DRAWS = flags.DEFINE_integer("draws", 4, "Head-motion draws per clip in each round.")
_JSON = flags.DEFINE_string("json", None, "Also write the factors and the history here.")
_FLAGS_OUT = flags.DEFINE_string("flags", None, "Also write them as config flags here.")
_WRITE = flags.DEFINE_bool("write", False, "Put the factors into WORKDIR/config.json.")
_MOUTH = flags.DEFINE_bool("mouth", False, "Fit config.mouth_gain too (after the head).")


def _fmt(values) -> str:
  return "(" + ", ".join(f"{v:.3g}" for v in values) + ")"


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  config, workdir = flags.FLAGS.config, os.path.abspath(flags.FLAGS.workdir)
  console.log_to_workdir(workdir, "calibrate_pose")
  ev, data = config.evals.motion, config.data
  split, clip_ids = data.validation_split, tuple(data.validation_clip_ids)
  try:
    if split == data.eval_split:
      raise ConfigError(f"config.data.validation_split={split!r} is the evaluation split: "
                        "choose settings on other clips")
    model = motion.load(workdir)
    builder = datasets.get_builder(data)
    if split not in builder.info.splits:
      raise ConfigError(f"{data.name} has no split {split!r} (it has "
                        f"{', '.join(builder.info.splits)}): set config.data.validation_split"
                        " and validation_clip_ids to clips the run did not train on")
    clips = list(input_pipeline.clips(builder, split, motion.FEATURES, clip_ids=clip_ids))
  except (FileNotFoundError, ConfigError) as e:
    sys.exit(f"error: {e}")
  resolution = motion_eval.crop_size(builder)
  # This command's generation settings; the fit starts from its factors.
  model = model.with_settings(**{key: config[key] for key in (
      "pose_temperature", "pose_noise_seconds", "pose_smoothing_seconds",
      "pose_axis_temperature", "pose_axis_smoothing", "mouth_gain")})
  settings, history = motion_eval.calibrate_sampling(
      model, clips, resolution=resolution, chunk_frames=ev.chunk_frames, seed=ev.seed,
      iterations=_ITERATIONS.value, draws=_DRAWS.value,
      truth_smoothing=ev.get("truth_smoothing", 0.0))
  print(f"{len(clips)} clips of {split!r} x {_DRAWS.value} draws; axes {head_motion.AXES}")
  print("  correlation of the truth's frame-to-frame changes:")
  for axis, row in zip(head_motion.AXES, np.reshape(settings["pose_axis_correlation"],
                                                    (len(head_motion.AXES), -1))):
    print(f"    {axis:>5} {_fmt(row)}")
  for i, h in enumerate(history):
    print(f"  {i}: temperature x {_fmt(h['pose_axis_temperature'])}  smoothing x "
          f"{_fmt(h['pose_axis_smoothing'])}  ->  amplitude {_fmt(h['amplitude_ratio'])}  "
          f"speed {_fmt(h['speed_ratio'])}")
  mouth_history = []
  if _MOUTH.value:
    settings["mouth_gain"], mouth_history = motion_eval.calibrate_mouth(
        model.with_settings(**settings), clips, resolution=resolution,
        chunk_frames=ev.chunk_frames, seed=ev.seed)
    for i, h in enumerate(mouth_history):
      print(f"  mouth {i}: gain {h['mouth_gain']:.3g}  ->  p95 ratio {h['p95_ratio']:.3f}")
  lines = [f"--config.{key}=({','.join(map(str, values))})" if isinstance(values, tuple)
           else f"--config.{key}={values}" for key, values in settings.items()]
  for key, values in settings.items():
    print(f"config.{key} = {values}")
  print("flags: " + " ".join(lines))
  if jax.process_index() != 0:  # one process writes the run's files
    return
  if _FLAGS_OUT.value:
    with open(_FLAGS_OUT.value, "w") as f:
      f.write("".join(line + "\n" for line in lines))
  if _JSON.value:
    with open(_JSON.value, "w") as f:
      json.dump({"workdir": workdir, "split": split, "clip_ids": list(clip_ids), **settings,
                 "history": history, "mouth_history": mouth_history}, f, indent=1)
  if _WRITE.value:
    path = os.path.join(workdir, "config.json")
    with open(path) as f:
      run_config = json.load(f)
    run_config.update(settings)
    with open(path, "w") as f:
      json.dump(run_config, f, indent=1)
    print(f"wrote them into {path}")


if __name__ == "__main__":
  app.run(main, flags_parser=train.parse_flags)
