"""How much of a real clip's tracked mouth and head its own audio tells: the ceilings
against which eval/real_mouth.py's figures (the Real mouth issue's) are read.

  python eval/mouth_ceiling.py --config configs/motion_generator.py:real \\
      --config.data.data_dir=DIR [--split test] [--json OUT]

Per clip of the split, a person-specific linear map (`ridge`) from the clip's own
log-mel to its own tracked mouth, fitted on one half of the clip and scored on the other
(both ways): the same person, microphone and tracker on both sides, so it knows more
than a model that never met the person can. Its figures, as real_mouth computes them:
- the mouth opening's r (metrics/mouth.py), one fit per half predicting the opening;
- the mouth LMD on canonical faces (the head's pose removed, as
  evaluators/motion.mouth_lmds), one fit predicting the 20 mouth points' displacement
  from the first frame, against the still first frame's LMD.
The same map fitted on the train split instead (a held-out linear model) is the second
row. Last, the head: each split's tracked heads (smoothed as real_mouth compares them),
amplitude and speed per axis (metrics/head_motion.py) in median over its clips. The head
sampling is fitted on the validation split, so a test/validation ratio far from 1 is how
far from the test's heads a well-fitted sampling lands.
"""

from __future__ import annotations

import json

from stylehead_jax import console  # pylint: disable=g-import-not-at-top
console.import_tensorflow()  # first: its C++ start-up lines go to the log

from absl import app
from absl import flags
import numpy as np

from stylehead_jax import datasets
from stylehead_jax import input_pipeline
from stylehead_jax import media
from stylehead_jax import motion
from stylehead_jax import train  # defines --config
from stylehead_jax.evaluators import motion as motion_eval
from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.metrics import distances
from stylehead_jax.metrics import head_motion
from stylehead_jax.metrics import mouth
from stylehead_jax.metrics import sync

_SPLIT = flags.DEFINE_string("split", "test", "Which split of the real clips.")
_JSON = flags.DEFINE_string("json", None, "Write the rows and the medians here.")

CONTEXT = 6  # video frames of log-mel each side of a frame (100 ms)
CONTEXT_STRIDE = 2  # every other frame of that context
MEL_POOL = 4  # neighbouring mel bins averaged: 80 -> 20
RIDGE = 3000.0  # on standardised features; validation: 300 lowers r, 3,000 and 30,000 agree


def features(log_mel: np.ndarray, frames: int) -> np.ndarray:
  """(frames, F) each video frame's log-mel context: its MELS_PER_FRAME mel frames with
  MEL_POOL bins pooled, at every CONTEXT_STRIDE-th frame within +-CONTEXT frames."""
  m = media.normalize_log_mel(np.asarray(log_mel, np.float64))
  m = m[:media.MELS_PER_FRAME * frames].reshape(
      frames, media.MELS_PER_FRAME, media.N_MELS // MEL_POOL, MEL_POOL).mean(-1)
  m = np.pad(m.reshape(frames, -1), ((CONTEXT, CONTEXT), (0, 0)), mode="edge")
  return np.concatenate([m[i:i + frames] for i in range(0, 2 * CONTEXT + 1, CONTEXT_STRIDE)],
                        1)


def ridge(x: np.ndarray, y: np.ndarray):
  """The ridge map fitted on (x, y) (features standardised, penalty RIDGE), as a
  function of new features."""
  mu, sd = x.mean(0), x.std(0) + 1e-6
  xs = (x - mu) / sd
  w = np.linalg.solve(xs.T @ xs + RIDGE * np.eye(xs.shape[1]), xs.T @ (y - y.mean(0)))
  return lambda z: ((z - mu) / sd) @ w + y.mean(0)


def targets(clip: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(opening (T,), mouth displacement (T, 40) on canonical faces, canonical faces)."""
  pose = clip["head_pose"]
  face = np.asarray(motion.canonical(clip["landmarks"], pose["rotation"],
                                     pose["translation"]))
  points = face[:, lmk.MOUTH, :2]
  return (mouth.opening(clip["landmarks"]), (points - points[:1]).reshape(len(face), -1),
          face)


def scores(x, opening, face, first, predict_opening, predict_mouth) -> dict[str, float]:
  """r of the opening predicted from features `x` against `opening`, and the mouth LMD of
  `face` (canonical, (T, 68, 3)) with its mouth replaced by the clip's `first` frame's
  plus the predicted displacement, against `face`."""
  predicted = face.copy()
  predicted[:, lmk.MOUTH, :2] = first[lmk.MOUTH, :2] + predict_mouth(x).reshape(
      len(face), len(lmk.MOUTH), 2)
  return {"mouth_opening_r": sync.pearson(predict_opening(x), opening),
          "mouth_lmd": distances.lmd(predicted, face)}


def within_clip(clip: dict, held_out=None) -> dict[str, float]:
  """`scores` of the maps fitted on each half of the clip, on the other half, averaged;
  with the still face's mouth LMD (over the whole clip, as real_mouth's) and, given
  `held_out` (maps fitted elsewhere: (opening, mouth)), their `scores` on the whole clip
  (keys prefixed held_out_)."""
  opening, displacement, face = targets(clip)
  frames = len(face)
  x = features(clip["log_mel"], frames)
  half = frames // 2
  rows = [scores(x[held], opening[held], face[held], face[0], ridge(x[fit], opening[fit]),
                 ridge(x[fit], displacement[fit]))
          for fit, held in ((slice(0, half), slice(half, frames)),
                            (slice(half, frames), slice(0, half)))]
  out = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
  out["no_motion_mouth_lmd"] = float(distances.lmd(np.repeat(face[:1], frames, 0), face))
  if held_out is not None:
    out.update({f"held_out_{k}": v
                for k, v in scores(x, opening, face, face[0], *held_out).items()})
  return out


def head(clips: list[dict], smoothing: float) -> dict[str, float]:
  """Median over clips of the tracked head's amplitude and speed per axis."""
  series = [motion.smooth_pose(motion_eval.pose_series(c), smoothing) for c in clips]
  out = {}
  for name, measure in (("amplitude", head_motion.amplitude), ("speed", head_motion.speed)):
    values = np.median([measure(s) for s in series], 0)
    out.update({f"pose_{name}_{a}": float(v) for a, v in zip(head_motion.AXES, values)})
  return out


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  config = flags.FLAGS.config
  console.log_to_workdir(config.data.data_dir, "mouth_ceiling")
  builder = datasets.get_builder(config.data)
  load = lambda split: list(input_pipeline.clips(builder, split,
                                                 motion.FEATURES + ("clip_id",)))
  train_clips, clips = load("train"), load(_SPLIT.value)
  # The held-out linear model: the same map fitted on every train frame.
  train_x = np.concatenate([features(c["log_mel"], len(c["landmarks"])) for c in train_clips])
  fitted = [targets(c)[:2] for c in train_clips]
  held_out = (ridge(train_x, np.concatenate([f[0] for f in fitted])),
              ridge(train_x, np.concatenate([f[1] for f in fitted])))
  rows = {clip["clip_id"].decode(): within_clip(clip, held_out) for clip in clips}
  medians = {k: float(np.median([r[k] for r in rows.values()])) for k in next(iter(rows.values()))}
  smoothing = config.evals.motion.truth_smoothing
  heads = {split: head(load(split), smoothing) for split in ("validation", _SPLIT.value)}

  print(f"{len(rows)} clips of {_SPLIT.value!r}: a ridge map from each clip's own audio, "
        "fitted on one half, scored on the other; and fitted on the train split")
  names = ("r, own half", "LMD, own half", "still", "r, train", "LMD, train")
  keys = ("mouth_opening_r", "mouth_lmd", "no_motion_mouth_lmd", "held_out_mouth_opening_r",
          "held_out_mouth_lmd")
  print(f"{'clip':44s} " + " ".join(f"{n:>13s}" for n in names))
  for cid, row in list(rows.items()) + [("median", medians)]:
    print(f"{cid:44s} " + " ".join(f"{row[k]:13.3f}" for k in keys))
  print(f"mouth LMD over the still face's, medians: own half "
        f"{medians['mouth_lmd'] / medians['no_motion_mouth_lmd']:.2f}, train "
        f"{medians['held_out_mouth_lmd'] / medians['no_motion_mouth_lmd']:.2f}")
  print(f"tracked heads (smoothed {smoothing} s), median amplitude / speed per axis, "
        f"{_SPLIT.value} over validation:")
  for axis in head_motion.AXES:
    ratio = [heads[_SPLIT.value][f"pose_{k}_{axis}"] / heads["validation"][f"pose_{k}_{axis}"]
             for k in ("amplitude", "speed")]
    print(f"  {axis:5s} {ratio[0]:.2f} / {ratio[1]:.2f}")
  if _JSON.value:
    with open(_JSON.value, "w") as f:
      json.dump({"split": _SPLIT.value, "clips": rows, "medians": medians, "heads": heads},
                f, indent=1)


if __name__ == "__main__":
  app.run(main, flags_parser=train.parse_flags)
