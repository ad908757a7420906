"""Evaluates a trained stage: `python -m stylehead_jax.evaluate --config C --workdir W`.

  python -m stylehead_jax.evaluate --config configs/motion_generator.py:runlocal \\
      --config.audio.encoder_workdir=/tmp/apc --workdir /tmp/mg --json /tmp/mg/eval.json

Restores the workdir's latest checkpoint (or `--step`) and runs the config's evaluators
(config.evals, stylehead_jax.evaluators: the same ones training runs), printing a table
each and writing JSON: {"config", "workdir", "step", "evals": {name: measurements}};
`--images DIR` also writes each evaluator's images (what training sends to TensorBoard,
videos left out) as DIR/<evaluator>_<name>.png, their rows stacked.
"""

from __future__ import annotations

import json
import os

from stylehead_jax import console  # pylint: disable=g-import-not-at-top
console.import_tensorflow()  # first: its C++ start-up lines go to the log
import sys

from absl import app
from absl import flags
import cv2
import jax
import numpy as np

from stylehead_jax import checkpoint
from stylehead_jax import train  # defines --config and --workdir, shared with training
from stylehead_jax.errors import ConfigError

_JSON = flags.DEFINE_string("json", None, "Also write the results here.")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step (default: the latest).")
_IMAGES = flags.DEFINE_string("images", None, "Also write the evaluators' images here (PNG).")


def evaluate_workdir(config, workdir: str, step: int | None = None) -> dict:
  """{"step", "evals": {name: measurements}, "images": {name: {key: array}}} of the
  checkpoint at `step` (latest) of `workdir`."""
  ckpt = checkpoint.Checkpointer(checkpoint.checkpoint_dir(workdir), read_only=True)
  step = ckpt.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f"{os.path.abspath(workdir)}: no checkpoint to evaluate "
                            "(train the stage there first)")
  run = train.setup(config)
  state = ckpt.restore(run.abstract_state, step)
  ckpt.close()
  outputs = {name: evaluator.run(state) for name, evaluator in run.evaluators(config).items()}
  return {"step": int(jax.device_get(state["step"])),
          "evals": {name: out[0] for name, out in outputs.items()},
          "images": {name: out[1] for name, out in outputs.items()}}


def write_images(images: dict, directory: str) -> list[str]:
  """Each image summary (n, H, W, 3) in [0, 1] as one PNG, rows stacked; keys ending in
  "_video" are left out. Returns the paths."""
  os.makedirs(directory, exist_ok=True)
  paths = []
  for name, summaries in images.items():
    for key, rows in summaries.items():
      if key.endswith("_video"):
        continue
      path = os.path.join(directory, f"{name}_{key}.png")
      image = np.concatenate(list(np.asarray(rows)), 0)
      cv2.imwrite(path, cv2.cvtColor(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8),
                                     cv2.COLOR_RGB2BGR))
      paths.append(path)
  return paths


def format_table(measurements: dict) -> str:
  width = max(len(k) for k in measurements)
  return "\n".join(f"  {k:<{width}}  {v:.5g}" if isinstance(v, float) else f"  {k:<{width}}  {v}"
                   for k, v in measurements.items())


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  config, workdir = flags.FLAGS.config, os.path.abspath(flags.FLAGS.workdir)
  console.log_to_workdir(workdir, "evaluate")
  try:
    result = evaluate_workdir(config, workdir, _STEP.value)
  except (FileNotFoundError, ConfigError) as e:
    sys.exit(f"error: {e}")
  print(f"{config.task} at step {result['step']} in {workdir}")
  for name, measurements in result["evals"].items():
    print(f" {name}:")
    print(format_table(measurements))
  if _IMAGES.value:
    for path in write_images(result["images"], _IMAGES.value):
      print(f"  wrote {path}")
  if _JSON.value:
    out = {"config": json.loads(config.to_json_best_effort()), "workdir": workdir,
           "step": result["step"], "evals": result["evals"]}
    with open(_JSON.value, "w") as f:
      json.dump(out, f, indent=1)
    print(f"  wrote {_JSON.value}")


if __name__ == "__main__":
  flags.mark_flags_as_required(["config", "workdir"])
  app.run(main, flags_parser=train.parse_flags)
