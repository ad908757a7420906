"""What an open mouth shows in self-reenactment: the warp renderer, with and without its
drawn mouth interior (render/mouth_interior.py), against the truth on the real clips.

  python eval/mouth_interior.py --data_dir DIR [--split test] [--json OUT]

Each clip of the split (data_prep/real_clips.py; built there) is redrawn from its first
frame by the warp renderer (render/warp.py) driven by its own tracked landmarks, as it is
and with the interior drawn; on the frames where the truth's mouth is open above
mouth.OPEN_THRESHOLD (at most MAX_FRAMES, evenly spread):
  teeth, cavity: the brightest and darkest tenth of the inner mouth over the lips' median
    luma, each as a ratio to the truth's (metrics/mouth.py, `interior_measures`);
  tracked opening: the inner-mouth opening that the project's tracker (dlib) reads from
    the rendered frame over the driving landmarks' (median over the frames; the truth's
    own frames give the tracker's figure on real mouths);
  mouth obedience: the mean distance of the 20 mouth points tracked on the rendered frame
    from the driving ones, in percent of the eye distance (median over the frames).
A learned renderer is measured the same way (Real faces issue) against these rows.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

MAX_FRAMES = 60
KEYS = ("mouth_teeth", "mouth_truth_teeth", "mouth_teeth_ratio", "mouth_cavity",
        "mouth_truth_cavity", "mouth_cavity_ratio", "tracked_opening_ratio",
        "mouth_obedience")  # the table's columns
HEADS = ("teeth", "truth", "ratio", "cavity", "truth", "ratio", "tr.open", "obey%")


def _obedience(tracked, driving) -> dict[str, float]:
  """The tracked opening over the driving one and the mouth points' distance (percent
  of the eye distance), medians over frames (NaN where the tracker found no face)."""
  from stylehead_jax.landmarks import conventions as lmk  # pylint: disable=g-import-not-at-top
  from stylehead_jax.metrics import mouth  # pylint: disable=g-import-not-at-top
  if not len(tracked):
    return {"tracked_opening_ratio": float("nan"), "mouth_obedience": float("nan")}
  ratio = mouth.opening(tracked) / np.maximum(mouth.opening(driving), 1e-6)
  distance = np.linalg.norm(tracked[:, lmk.MOUTH, :2] - driving[:, lmk.MOUTH, :2], axis=-1)
  return {"tracked_opening_ratio": float(np.median(ratio)),
          "mouth_obedience": float(np.median(distance.mean(-1) / lmk.interocular(driving)) * 100)}


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
  from stylehead_jax.landmarks import detectors
  from stylehead_jax.landmarks import tracking
  from stylehead_jax.metrics import mouth
  from stylehead_jax.render import mouth_interior
  from stylehead_jax.render import warp
  backend = detectors.get_backend("dlib")
  renderers = {
      "warp": lambda frames, landmarks, picks: np.asarray(
          warp.render(frames[0], landmarks[0], landmarks[picks])),
      "warp + interior": lambda frames, landmarks, picks: mouth_interior.Interior(
          frames[0], landmarks[0]).draw(
              np.asarray(warp.render(frames[0], landmarks[0], landmarks[picks])),
              landmarks[picks]),
      "truth": lambda frames, landmarks, picks: frames[picks],
  }
  builder = real_clips.build(args.data_dir, real_clips.default_shared())
  rows = {name: {} for name in renderers}
  for ex in tfds.as_numpy(builder.as_dataset(split=args.split)):
    frames, landmarks = ex["frames"], ex["landmarks"]
    open_frames = np.flatnonzero(mouth.opening(landmarks) > mouth.OPEN_THRESHOLD)
    picks = open_frames[np.linspace(0, len(open_frames) - 1,
                                    min(MAX_FRAMES, len(open_frames))).astype(int)]
    for name, render in renderers.items():
      drawn = render(frames, landmarks, picks) if len(picks) else frames[:0]
      row = mouth.interior_measures(drawn, landmarks[picks], frames[picks], landmarks[picks])
      tracked, found = tracking.detect_track(drawn, backend)
      row.update(_obedience(tracked[found], landmarks[picks][found]))
      rows[name][ex["clip_id"].decode()] = row
  medians = {name: {k: float(np.nanmedian([r[k] for r in table.values()])) for k in KEYS}
             for name, table in rows.items()}
  for name, table in rows.items():
    print(f"\n{name} (first frame + true landmarks) against the truth, {args.split!r} "
          "split, open frames")
    print(f"{'clip':44s} " + " ".join(f"{h:>8s}" for h in HEADS) + f" {'frames':>6s}")
    for cid, r in list(table.items()) + [("median", dict(medians[name], mouth_open_frames=0))]:
      print(f"{cid:44s} " + " ".join(f"{r[k]:8.3f}" for k in KEYS)
            + f" {r['mouth_open_frames']:6d}")
  if args.json:
    with open(args.json, "w") as f:
      json.dump({"split": args.split, "clips": rows, "median": medians},
                f, indent=1)
  return 0


if __name__ == "__main__":
  sys.exit(main())
