"""Evaluator "motion": phi_mg over whole clips of the eval split, against baselines.

Runs `motion.generate_motion` over each clip (the inference code path) from the clip's
first frame, and scores phi_mg against the tracked landmarks with stylehead_jax.metrics,
next to two baselines: no motion (the source frame held) and the same model fed another
clip's audio; with config.manifold.weight > 0, also the model on features projected onto
a bank of the training split's (manifold_*). Measurements are means over clips, with
num_clips and num_frames.

eval_config: max_clips, chunk_frames (generation chunk), seed (clip i draws its head
motion from fold_in(key(seed), i)), num_image_frames, split (default
config.data.eval_split), clip_ids (only these clips of it; () all: a validation set
kept out of training with config.data.exclude_clips) and truth_smoothing (seconds: the
tracked head is smoothed so before the head's measures; 0 for the synthetic world).

`generate`, `mean_over_clips` and `facial_maps` are the clip-level loop every
motion evaluator shares (evaluators/style_transfer.py too), `score_clip` one clip's row;
`calibrate_sampling` fits the per-axis head sampling and `calibrate_mouth` the mouth gain
on the same loop (eval/calibrate_pose.py).
"""

from __future__ import annotations

from typing import Callable

import jax
import numpy as np

from stylehead_jax import input_pipeline
from stylehead_jax import metrics
from stylehead_jax import motion
from stylehead_jax.errors import ConfigError
from stylehead_jax.evaluators import base
from stylehead_jax.landmarks import facial_map
from stylehead_jax.metrics import head_motion
from stylehead_jax.metrics import mouth

METRICS = {"lmd": metrics.lmd, "d_l": metrics.landmark_distance,
           "d_v": metrics.velocity_distance, "d_a": metrics.area_difference}
# Measures averaged over clips as medians: ratios and their parts (head_motion, mouth).
MEDIAN_PREFIXES = ("pose_", "mouth_open_")


# --- The clip-level loop ----------------------------------------------------------------
def generate(model: motion.MotionModel, clip: dict, key, *, resolution: int,
             chunk_frames: int, log_mel=None, **kwargs) -> motion.MotionTrack:
  """phi_mg of `log_mel` (default the clip's own) from the clip's first frame: its
  landmarks, head pose and torso as the source."""
  return motion.generate_motion(
      clip["log_mel"] if log_mel is None else log_mel, clip["landmarks"][0], model, key,
      source_pose=(clip["head_pose"]["rotation"][0], clip["head_pose"]["translation"][0]),
      source_torso=clip["torso"][0], resolution=resolution, chunk_frames=chunk_frames,
      **kwargs)


def mean_over_clips(clips, score: Callable[[int, dict, jax.Array], dict], seed: int) -> dict:
  """Means over clips of score(i, clip, key) (key = fold_in(key(seed), i)), medians for
  the ratio-like measures (MEDIAN_PREFIXES; NaN rows left out), with num_clips and
  num_frames."""
  rng = jax.random.key(seed)
  rows = [score(i, clip, jax.random.fold_in(rng, i)) for i, clip in enumerate(clips)]
  keys = list(dict.fromkeys(k for r in rows for k in r))
  measurements = {k: float(np.mean([r[k] for r in rows])) for k in keys
                  if not k.startswith(MEDIAN_PREFIXES)}
  for k in (k for k in keys if k.startswith(MEDIAN_PREFIXES)):
    values = [r[k] for r in rows if k in r and np.isfinite(r[k])]
    measurements[k] = float(np.median(values)) if values else float("nan")
  measurements["num_clips"] = len(rows)
  measurements["num_frames"] = int(sum(len(c["landmarks"]) for c in clips))
  return measurements


def facial_maps(tracks, resolution: int, num: int) -> np.ndarray:
  """(num, len(tracks) R, R, 3) in [0, 1]: facial maps of `num` evenly spaced frames,
  the tracks stacked top to bottom."""
  idx = np.linspace(0, len(tracks[0]) - 1, num).astype(int)
  columns = [np.concatenate([facial_map.render_facial_map(t[i], resolution) for t in tracks], 0)
             for i in idx]
  return np.stack(columns).astype(np.float32) / 255.0


def crop_size(builder) -> int:
  """The side of a talking-head dataset's frames, the pixels its landmarks are in."""
  return int(builder.info.features["frames"].shape[1])


def scores(generated: np.ndarray, truth: np.ndarray) -> dict[str, float]:
  return {name: fn(generated, truth) for name, fn in METRICS.items()}


def pose_series(clip: dict, track: motion.MotionTrack | None = None) -> np.ndarray:
  """(T, len(head_motion.AXES)) head pose of `track` (default the clip's tracked truth)
  relative to the clip's first frame: `motion.encode_pose`'s angles and position."""
  pose, torso = clip["head_pose"], clip["torso"]
  source = (pose["rotation"][0], pose["translation"][0], torso[0])
  if track is None:
    vectors = motion.encode_pose(pose["rotation"], pose["translation"], torso, source)
  else:
    vectors = motion.encode_pose(track.rotation, track.translation, track.torso, source)
  return np.asarray(vectors)[:, :len(head_motion.AXES)]


def same_style(clips, i: int) -> int | None:
  """The index of the next clip after i (cyclically) with clip i's "style" label, if any."""
  if "style" not in clips[i]:
    return None
  following = ((i + k) % len(clips) for k in range(1, len(clips)))
  return next((j for j in following if clips[j]["style"] == clips[i]["style"]), None)


# --- Calibrating the head's sampling -----------------------------------------------------
CALIBRATION_TOLERANCE = 0.03  # |log ratio| of every axis' amplitude and speed to stop at


def axis_correlation(series) -> np.ndarray:
  """(n, n) correlation of the frame-to-frame changes of pose series [(T, n), ...] over
  all their frames (an axis that does not move: uncorrelated with the others)."""
  changes = np.concatenate([np.diff(np.asarray(p, np.float64), axis=0) for p in series])
  std = changes.std(0)
  moving = std > 0
  correlation = np.eye(changes.shape[1])
  correlation[np.ix_(moving, moving)] = np.corrcoef(changes[:, moving].T)
  return correlation


def calibrate_sampling(model: motion.MotionModel, clips, *, resolution: int,
                       chunk_frames: int, seed: int = 0, iterations: int = 8,
                       draws: int = 1, truth_smoothing: float = 0.0):
  """Head sampling (config.pose_axis_correlation, pose_axis_temperature,
  pose_axis_smoothing; motion.sampling, motion.noise_mixing) under which each head axis
  (head_motion.AXES) of `model`'s samples moves as much and as fast as the truth of `clips`
  (a validation set: clips the run did not train on), the axes coupled as the truth's.

  The correlation is the truth's (`axis_correlation`). Then each iteration generates every
  clip `draws` times (clip i's first draw from fold_in(key(seed), i), as the evaluator
  draws it; more draws, fewer chance factors) and takes the median over clips and draws
  of the amplitude ratio A and the speed ratio V of each axis; then smoothing factor x=
  V / A (a head moving fast for its size is smoothed more; only where
  config.pose_smoothing_seconds > 0) and temperature factor /= A. It stops once every
  |log A| and |log V| is below CALIBRATION_TOLERANCE, or after `iterations`. The mean
  motion does not scale with the temperature, so an axis whose mean alone moves more than
  the truth goes towards 0. Axes whose truth does not move keep their factors.
  `truth_smoothing` (seconds) smooths the truth first (motion.smooth_pose): for tracked
  footage, whose frame-to-frame pose is mostly tracking noise.

  Returns the settings of the iteration whose worst |log ratio| was smallest (a dict of
  those three config values, tuples; `MotionModel.with_settings(**settings)`) and the
  history: per iteration the factors and the medians.
  """
  n = len(head_motion.AXES)
  temperature = np.asarray(model.config.get("pose_axis_temperature", (1.0,) * n), np.float64)
  smoothing = np.asarray(model.config.get("pose_axis_smoothing", (1.0,) * n), np.float64)
  smoothed = model.config.get("pose_smoothing_seconds", 0.0) > 0
  truth = [motion.smooth_pose(pose_series(clip), truth_smoothing) for clip in clips]
  correlation = tuple(round(float(v), 4) for v in axis_correlation(truth).ravel())
  rng = jax.random.key(seed)
  history = []
  for _ in range(iterations):
    trial = model.with_settings(pose_axis_temperature=temperature,
                                pose_axis_smoothing=smoothing,
                                pose_axis_correlation=correlation)
    keys = [(i, jax.random.fold_in(jax.random.fold_in(rng, i), d) if d else
             jax.random.fold_in(rng, i)) for i in range(len(clips)) for d in range(draws)]
    rows = [head_motion.ratios(pose_series(clips[i], generate(
        trial, clips[i], key, resolution=resolution, chunk_frames=chunk_frames)), truth[i])
            for i, key in keys]
    amplitude, speed = (np.array([np.nanmedian([r[f"pose_{kind}_ratio_{a}"] for r in rows])
                                  for a in head_motion.AXES])
                        for kind in ("amplitude", "speed"))
    moving = np.isfinite(amplitude) & np.isfinite(speed) & (amplitude > 0) & (speed > 0)
    worst = float(np.max(np.abs(np.log(np.where(moving, [amplitude, speed], 1.0)))))
    history.append({"pose_axis_temperature": temperature.tolist(),
                    "pose_axis_smoothing": smoothing.tolist(), "amplitude_ratio":
                    amplitude.tolist(), "speed_ratio": speed.tolist(), "worst_log_ratio": worst})
    if worst < CALIBRATION_TOLERANCE:
      break
    a = np.where(moving, amplitude, 1.0)
    if smoothed:
      smoothing = smoothing * np.where(moving, speed, 1.0) / a
    temperature = temperature / a
  best = min(history, key=lambda h: h["worst_log_ratio"])
  settings = {key: tuple(round(float(v), 3) for v in best[key])
              for key in ("pose_axis_temperature", "pose_axis_smoothing")}
  return dict(settings, pose_axis_correlation=correlation), history


def calibrate_mouth(model: motion.MotionModel, clips, *, resolution: int,
                    chunk_frames: int, seed: int = 0, iterations: int = 4):
  """config.mouth_gain under which the 95th percentile of the mouth's opening
  (metrics/mouth.py) is the truth's on `clips` (a validation set), in median over clips:
  each iteration generates every clip (clip i from fold_in(key(seed), i)) and divides the
  gain by the median p95 ratio, until |log ratio| < CALIBRATION_TOLERANCE. Returns the
  gain of the best iteration and the history (gain, median ratio per iteration)."""
  gain = float(model.config.get("mouth_gain", 1.0))
  rng = jax.random.key(seed)
  history = []
  for _ in range(iterations):
    trial = model.with_settings(mouth_gain=gain)
    ratios = [mouth.measures(generate(trial, clip, jax.random.fold_in(rng, i),
                                      resolution=resolution, chunk_frames=chunk_frames
                                      ).landmarks, clip["landmarks"])["mouth_open_p95_ratio"]
              for i, clip in enumerate(clips)]
    median = float(np.nanmedian(ratios))
    history.append({"mouth_gain": gain, "p95_ratio": median,
                    "log_ratio": abs(float(np.log(median)))})
    if history[-1]["log_ratio"] < CALIBRATION_TOLERANCE:
      break
    gain = gain / median
  best = min(history, key=lambda h: h["log_ratio"])
  return round(best["mouth_gain"], 3), history


# --- The evaluator ----------------------------------------------------------------------
def mouth_lmds(clip: dict, tracks: dict) -> dict[str, float]:
  """{prefix + "mouth_lmd": LMD} of each track (None: the still first frame) against the
  clip's truth, on canonical faces (motion.canonical: the head's pose removed, FACE_UNITS of
  the face width): the mouth's shape alone, which a sampled head's phase does not touch."""
  pose = clip["head_pose"]
  truth = motion.canonical(clip["landmarks"], pose["rotation"], pose["translation"])
  out = {}
  for prefix, track in tracks.items():
    if track is None:
      face = np.repeat(truth[:1], len(truth), axis=0)
    else:
      face = motion.canonical(track.landmarks, track.rotation, track.translation)
    out[prefix + "mouth_lmd"] = metrics.lmd(np.asarray(face), np.asarray(truth))
  return out


def score_clip(model: motion.MotionModel, clips, i: int, key, *, resolution: int,
               chunk_frames: int, bank=None, truth_smoothing: float = 0.0):
  """(row, phi_mg) of clip i: phi_mg against its tracked landmarks (METRICS, the mouth's
  measures: metrics/mouth.py, `mouth_lmds`), the no-motion and shuffled-audio baselines (the next clip's
  audio, tiled or cut to length), the manifold projection given a `bank`, and the head's
  measures (metrics/head_motion.py) against its tracked head smoothed by
  `truth_smoothing` seconds (motion.smooth_pose; tracked footage's frame-to-frame pose is
  mostly tracking noise) and against a clip of the same style, if any."""
  clip = clips[i]
  truth = clip["landmarks"]
  run = lambda **kw: generate(model, clip, key, resolution=resolution,
                              chunk_frames=chunk_frames, **kw)
  generated = run()
  other = clips[(i + 1) % len(clips)]["log_mel"]
  shuffled = run(log_mel=np.resize(other, clip["log_mel"].shape))
  still = np.repeat(truth[:1], len(truth), axis=0)
  row = scores(generated.landmarks, truth)
  row.update({f"no_motion_{k}": v for k, v in scores(still, truth).items()})
  row.update({f"shuffled_audio_{k}": v for k, v in scores(shuffled.landmarks, truth).items()})
  if bank is not None:
    projected = run(bank=bank)
    row.update({f"manifold_{k}": v for k, v in scores(projected.landmarks, truth).items()})
  row.update(mouth.measures(generated.landmarks, truth))
  row.update(mouth_lmds(clip, {"": generated, "no_motion_": None,
                               "shuffled_audio_": shuffled}))
  row["shuffled_audio_mouth_opening_r"] = mouth.measures(shuffled.landmarks,
                                                         truth)["mouth_opening_r"]
  j = same_style(clips, i)
  smooth = lambda series: motion.smooth_pose(series, truth_smoothing)
  row.update(head_motion.measures(pose_series(clip, generated), smooth(pose_series(clip)),
                                  None if j is None else smooth(pose_series(clips[j]))))
  return row, generated



class Evaluator(base.Evaluator):

  def run(self, state) -> tuple[dict, dict]:
    config, ev, builder = self.config, self.eval_config, self.builder
    model = motion.MotionModel(config, jax.device_get(state["params"]),
                               jax.device_get(state.get("audio_params")))
    split = ev.split or config.data.eval_split
    features = motion.FEATURES + (("style",) if "style" in builder.info.features else ())
    clips = list(input_pipeline.clips(builder, split, features, limit=ev.max_clips,
                                      clip_ids=tuple(ev.clip_ids)))
    if len(clips) < 2:
      raise ConfigError(f"eval split {split!r} has {len(clips)} clips (of clip_ids "
                        f"{tuple(ev.clip_ids)}); the shuffled-audio baseline "
                        "needs 2")
    bank = None
    if config.manifold.weight > 0:  # the training speakers' features, as LSP's target bank
      train_clips = input_pipeline.clips(builder, config.data.train_split, ("log_mel",),
                                         limit=config.manifold.bank_clips)
      bank = motion.feature_bank(model, [c["log_mel"] for c in train_clips],
                                 config.manifold.bank_frames, ev.seed, ev.chunk_frames)
    resolution = crop_size(builder)
    images = {}

    def score(i, clip, key):
      row, generated = score_clip(model, clips, i, key, resolution=resolution,
                                  chunk_frames=ev.chunk_frames, bank=bank,
                                  truth_smoothing=ev.get("truth_smoothing", 0.0))
      if i == 0:
        images["facial_map_truth_above_generated"] = facial_maps(
            (clip["landmarks"], generated.landmarks), resolution, ev.num_image_frames)
      return row

    return mean_over_clips(clips, score, ev.seed), images
