"""`make pretrained`'s last step: a Motion Generator run -> the shipped set, pretrained/.

  python eval/export_pretrained.py --motion_generator RUN --command "make pretrained" \\
      [--seconds train=272 calibrate=28 measure=41] [--out pretrained]

The run's clips and their licences come from data_prep/real_clips.clips_seen (its
config.json says which it trained and was fitted on); stylehead_jax/pretrained.export
copies its last checkpoint, config, fit and figures and writes the manifest, and refuses
a run that saw a clip whose licence keeps its weights from shipping. Exits 2 with one line
on any problem.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from data_prep import real_clips
from stylehead_jax import pretrained


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--motion_generator", required=True, help="the Motion Generator's "
                      "workdir (configs/motion_generator.py:real,shipped)")
  parser.add_argument("--out", default=pretrained.DIR)
  parser.add_argument("--command", required=True, help="what trained it (the manifest's)")
  parser.add_argument("--seconds", nargs="*", default=[], metavar="STEP=SECONDS",
                      help="how long each step took")
  args = parser.parse_args(argv)
  try:
    seconds = {k: float(v) for k, v in (s.split("=", 1) for s in args.seconds)}
    with open(os.path.join(args.motion_generator, "config.json")) as f:
      clips = real_clips.clips_seen(json.load(f))
    manifest = pretrained.export(args.motion_generator, args.out, command=args.command,
                                 seconds=seconds, clips=clips)
  except (ValueError, OSError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  trained = manifest["stages"]["motion_generator"]["clips"]["trained_on"]
  print(f"{args.out}: {pretrained.folder_bytes(args.out) / 2**20:.1f} MB, trained on "
        f"{len(trained)} real clips ("
        + ", ".join(sorted({c['licence'] for c in trained})) + ")")
  return 0


if __name__ == "__main__":
  sys.exit(main())
