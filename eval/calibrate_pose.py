"""Fits a Motion Generator's per-axis head sampling to a validation set of clips.

  python eval/calibrate_pose.py --config configs/motion_generator.py:runlocal \\
      --workdir RUN --config.data.data_dir=DIR --config.audio.encoder_workdir=APC \\
      --config.evals.motion.split=train --config.evals.motion.clip_ids="('id', ...)" \\
      [--iterations 8] [--draws 4] [--json OUT] [--write]

The clips are config.evals.motion's (split and clip_ids): give clips the run did not
train on (config.data.exclude_clips), never the test split. The fit
(evaluators/motion.calibrate_sampling) finds the factors config.pose_axis_temperature and
config.pose_axis_smoothing under which each head axis (yaw, pitch, roll, x, y) of the
samples has the median amplitude and speed of the truth's; it prints them as config lines
and flags, and with --write puts them into RUN/config.json, where motion.load (animate)
reads them (a later training run in RUN writes its own config there again).
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads

from absl import app
from absl import flags

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
_WRITE = flags.DEFINE_bool("write", False, "Put the factors into WORKDIR/config.json.")


def _fmt(values) -> str:
  return "(" + ", ".join(f"{v:.3g}" for v in values) + ")"


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  config, workdir = flags.FLAGS.config, os.path.abspath(flags.FLAGS.workdir)
  train.log_to_workdir(workdir, "calibrate_pose")
  ev = config.evals.motion
  try:
    if not ev.clip_ids:
      raise ConfigError("give the validation clips with --config.evals.motion.clip_ids "
                        "(clips the run did not train on)")
    model = motion.load(workdir)
    builder = datasets.get_builder(config.data)
    clips = list(input_pipeline.clips(builder, ev.split or config.data.eval_split,
                                      motion.FEATURES, clip_ids=tuple(ev.clip_ids)))
  except (FileNotFoundError, ConfigError) as e:
    sys.exit(f"error: {e}")
  resolution = motion_eval.crop_size(builder)
  # This command's generation settings; the fit starts from its factors.
  model = model.with_settings(**{key: config[key] for key in (
      "pose_temperature", "pose_noise_seconds", "pose_smoothing_seconds",
      "pose_axis_temperature", "pose_axis_smoothing")})
  temperature, smoothing, history = motion_eval.calibrate_sampling(
      model, clips, resolution=resolution, chunk_frames=ev.chunk_frames, seed=ev.seed,
      iterations=_ITERATIONS.value, draws=_DRAWS.value)
  print(f"{len(clips)} clips x {_DRAWS.value} draws; axes {head_motion.AXES}")
  for i, h in enumerate(history):
    print(f"  {i}: temperature x {_fmt(h['pose_axis_temperature'])}  smoothing x "
          f"{_fmt(h['pose_axis_smoothing'])}  ->  amplitude {_fmt(h['amplitude_ratio'])}  "
          f"speed {_fmt(h['speed_ratio'])}")
  t, s = tuple(round(float(v), 3) for v in temperature), tuple(round(float(v), 3) for v in smoothing)
  print(f"config.pose_axis_temperature = {t}\nconfig.pose_axis_smoothing = {s}")
  print(f'flags: --config.pose_axis_temperature="{t}" --config.pose_axis_smoothing="{s}"')
  if _JSON.value:
    with open(_JSON.value, "w") as f:
      json.dump({"workdir": workdir, "clip_ids": list(ev.clip_ids),
                 "pose_axis_temperature": t, "pose_axis_smoothing": s, "history": history},
                f, indent=1)
  if _WRITE.value:
    path = os.path.join(workdir, "config.json")
    with open(path) as f:
      run_config = json.load(f)
    run_config.update(pose_axis_temperature=t, pose_axis_smoothing=s)
    with open(path, "w") as f:
      json.dump(run_config, f, indent=1)
    print(f"wrote them into {path}")


if __name__ == "__main__":
  app.run(main)
