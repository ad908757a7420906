"""Style transfer in the synthetic world (docs/style_transfer.md): opera, ballad and rap.

  python eval/synthetic_styles.py --data_dir DIR --workdir runs/synthetic_styles \\
      [--styles opera ballad rap] [--variant full] [--set critic.head_weight=0 ...]

A Motion Generator trained on talk only (16 speakers, :runlocal with its audio encoder),
then fine-tuned (configs/style_transfer.py:runlocal,variant=V, 300 steps) to one 4-8 s
clip of another style by a speaker it never saw, and evaluated on the 6 utterances in that
style of three other test speakers (evaluators/style_transfer.py): SLD, SLV, SMD, LMD and
SLD / SLV with the true head, before (the talk-trained model) and after. Every step is
skipped where its output exists, so a re-run resumes; --set items change the fine-tune's
config (a run per distinct setting, in WORKDIR/<style>-<variant>[-<settings>]).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

TALK = "styles=talk,num_train_speakers=16,utterances_per_style=4"
STYLES = ("num_train_speakers=1,utterances_per_style=1,test_utterances_per_style=2,"
          "min_seconds=4,max_seconds=8")
METRICS = ("sld", "slv", "smd", "lmd", "sld_true_head", "slv_true_head")


def _run(args: list[str], log: str) -> None:
  """Runs a module of this project; its output goes to `log`, a failure ends the script."""
  with open(log, "a") as f:
    done = subprocess.run([sys.executable, "-m", *args], stdout=f, stderr=subprocess.STDOUT)
  if done.returncode:
    sys.exit(f"failed ({done.returncode}): python -m {' '.join(args)}; see {log}")


def _build(data_dir: str, overrides: str, log: str) -> None:
  sets = [a for item in overrides.split(",") for a in ("--set", item)]
  _run(["data_prep.build", "synthetic_talking_heads", "--data_dir", data_dir, *sets], log)


def _train(config: str, workdir: str, flags: list[str], log: str) -> None:
  if not os.path.exists(os.path.join(workdir, "result.json")):
    _run(["stylehead_jax.train", "--config", config, "--workdir", workdir,
          "--config.progress=False", *flags], log)


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--data_dir", required=True)
  p.add_argument("--workdir", required=True)
  p.add_argument("--styles", nargs="*", default=["opera", "ballad", "rap"])
  p.add_argument("--variant", default="full", help="configs/style_transfer.py's :variant=")
  p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                 help="the fine-tune's config changed (critic.head_weight=0 ...)")
  args = p.parse_args(argv)
  os.makedirs(args.workdir, exist_ok=True)
  log = os.path.join(args.workdir, "synthetic_styles.log")
  data = [f"--config.data.data_dir={args.data_dir}"]
  print(f"full output: {log}", flush=True)
  for overrides in (TALK, STYLES):  # a built config is found and kept by the builder
    _build(args.data_dir, overrides, log)
  apc = os.path.join(args.workdir, "apc")
  mg = os.path.join(args.workdir, "mg")
  _train("configs/audio_encoder.py:runlocal", apc, data + [f"--config.data.overrides={TALK}"],
         log)
  _train("configs/motion_generator.py:runlocal", mg,
         data + [f"--config.data.overrides={TALK}", f"--config.audio.encoder_workdir={apc}"],
         log)
  suffix = "".join(f"-{item.replace('=', '_')}" for item in args.set)
  rows = {}
  for style in args.styles:
    run = os.path.join(args.workdir, f"{style}-{args.variant}{suffix}")
    _train(f"configs/style_transfer.py:runlocal,variant={args.variant}", run,
           data + [f"--config.data.overrides={STYLES}",
                   f"--config.style.motion_generator_workdir={mg}",
                   f"--config.style.reference=test/test-0000-{style}-000"]
           + [f"--config.{item}" for item in args.set], log)
    with open(os.path.join(run, "result.json")) as f:
      rows[style] = json.load(f)["eval"]["style"]
    m = rows[style]
    print(f"{style:7s} before " + " ".join(f"{k} {m[f'before_{k}']:.3f}" for k in METRICS),
          flush=True)
    print(f"{style:7s} after  " + " ".join(
        f"{k} {m[f'after_{k}']:.3f} ({100 * m[f'{k}_change']:+.0f}%)" for k in METRICS),
          flush=True)
  with open(os.path.join(args.workdir, f"summary-{args.variant}{suffix}.json"), "w") as f:
    json.dump(rows, f, indent=1)
  return 0


if __name__ == "__main__":
  sys.exit(main())
