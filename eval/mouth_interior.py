"""What an open mouth shows in self-reenactment: the warp renderer's baseline for teeth and
the cavity on the real clips (metrics/mouth.py, `interior_measures`).

  python eval/mouth_interior.py --data_dir DIR [--split test] [--json OUT]

Each clip of the split (data_prep/real_clips.py; built there) is redrawn from its first
frame by the warp renderer (render/warp.py) driven by its own tracked landmarks; on the
frames where the truth's mouth is open above mouth.OPEN_THRESHOLD (at most MAX_FRAMES,
evenly spread), the brightest tenth of the inner mouth over the lips' median (teeth) and
the darkest tenth (cavity), each as a ratio to the truth's. A learned renderer is measured
the same way (Real faces issue) against this baseline.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

MAX_FRAMES = 60
KEYS = ("mouth_teeth", "mouth_truth_teeth", "mouth_teeth_ratio", "mouth_cavity",
        "mouth_truth_cavity", "mouth_cavity_ratio")  # the table's columns


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--data_dir", required=True, help="TFDS data directory")
  parser.add_argument("--split", default="test")
  parser.add_argument("--json", help="write the rows and the medians here")
  args = parser.parse_args(argv)
  # pylint: disable=g-import-not-at-top
  from stylehead_jax import console
  console.import_tensorflow()
  console.log_to_workdir(args.data_dir, "mouth_interior")
  import tensorflow_datasets as tfds
  from data_prep import real_clips
  from stylehead_jax.metrics import mouth
  from stylehead_jax.render import warp
  builder = real_clips.build(args.data_dir, real_clips.default_shared())
  rows = {}
  for ex in tfds.as_numpy(builder.as_dataset(split=args.split)):
    frames, landmarks = ex["frames"], ex["landmarks"]
    open_frames = np.flatnonzero(mouth.opening(landmarks) > mouth.OPEN_THRESHOLD)
    picks = open_frames[np.linspace(0, len(open_frames) - 1,
                                    min(MAX_FRAMES, len(open_frames))).astype(int)]
    warped = (np.asarray(warp.render(frames[0], landmarks[0], landmarks[picks]))
              if len(picks) else frames[:0])  # the truth never opens: a row of NaNs
    rows[ex["clip_id"].decode()] = mouth.interior_measures(
        warped, landmarks[picks], frames[picks], landmarks[picks])
  medians = {k: float(np.nanmedian([r[k] for r in rows.values()])) for k in KEYS}
  print(f"warp renderer (first frame + true landmarks) against the truth, {args.split!r} "
        f"split, open frames")
  print(f"{'clip':44s} {'teeth':>7s} {'truth':>7s} {'ratio':>7s} {'cavity':>7s} "
        f"{'truth':>7s} {'ratio':>7s} {'frames':>6s}")
  for cid, r in list(rows.items()) + [("median", dict(medians, mouth_open_frames=0))]:
    print(f"{cid:44s} " + " ".join(f"{r[k]:7.3f}" for k in KEYS)
          + f" {r['mouth_open_frames']:6d}")
  if args.json:
    with open(args.json, "w") as f:
      json.dump({"split": args.split, "renderer": "warp", "clips": rows, "median": medians},
                f, indent=1)
  return 0


if __name__ == "__main__":
  sys.exit(main())
