"""Stage motion_generator: audio features + neutral face -> phi_mg (stylehead_jax.motion).

Loss L_mg per frame (canonical faces in FACE_UNITS, see stylehead_jax.motion):
  face:     sum_p w_p |F^_tp - F_tp|^2 / sum_p w_p, w_p = config.loss.mouth_weight on the
            20 mouth points, 1 elsewhere;
  velocity: the same on the frame-to-frame changes (F^_t - F^_t-1) - (F_t - F_t-1);
  pose:     Gaussian negative log-likelihood of the true pose vector under the predicted
            mean and sigma (teacher forcing), averaged over its POSE_SIZE values;
  L_mg = face + velocity_weight velocity + pose_weight pose, over frames whose landmarks
  were detected (`valid`; interpolated frames of real footage do not teach).
The source (identity) frame of a window is its first frame, as at inference, where the
source is one portrait.

The evaluator runs `motion.generate_motion` over whole clips of the eval split (the same
code path as inference) and scores phi_mg against the tracked landmarks with
stylehead_jax.metrics, next to two baselines: no motion (the source frame held) and the
same model fed another clip's audio; with config.manifold.weight > 0, also the model on
features projected onto a bank of the training split's (manifold_*).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from stylehead_jax import checkpoint
from stylehead_jax import input_pipeline
from stylehead_jax import metrics
from stylehead_jax import motion
from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.landmarks import facial_map
from stylehead_jax.metrics import sync
from stylehead_jax.tasks import ConfigError
from stylehead_jax.tasks import audio_encoder as audio_encoder_task

FEATURES = ("log_mel", "landmarks", "head_pose", "torso", "valid")
METRICS = {"lmd": metrics.lmd, "d_l": metrics.landmark_distance,
           "d_v": metrics.velocity_distance, "d_a": metrics.area_difference}

make_schedule = audio_encoder_task.make_schedule
make_optimizer = audio_encoder_task.make_optimizer


def init(config, rng, batch):
  """Fresh state {step, params, opt_state, audio_params}. audio_params (the frozen APC
  encoder) are random here; `load_pretrained` fills in the trained ones."""
  encoder = motion.audio_encoder(config)
  audio_params = None if encoder is None else encoder.init(rng, batch["log_mel"])["params"]
  features, targets = prepare(config, audio_params, batch)
  params = motion.motion_generator(config).init(
      rng, features, targets["neutral"], pose_targets=targets["pose_in"])["params"]
  state = {"step": jnp.zeros((), jnp.int32), "params": params,
           "opt_state": make_optimizer(config).init(params)}
  if audio_params is not None:
    state["audio_params"] = audio_params
  return state


def load_pretrained(state, config):
  """Puts the trained APC encoder of config.audio.encoder_workdir into a fresh state."""
  if "audio_params" not in state:
    return state
  workdir = config.audio.encoder_workdir
  try:
    loaded = checkpoint.load_state(checkpoint.checkpoint_dir(workdir))["params"]
  except FileNotFoundError as e:
    raise ConfigError(f"config.audio.encoder_workdir: {e}") from None
  expected = jax.tree.map(jnp.shape, state["audio_params"])
  if jax.tree.map(jnp.shape, loaded) != expected:
    raise ConfigError(f"{workdir}: its audio encoder's parameters do not match its "
                     "config.json (shapes differ)")
  shardings = jax.tree.map(lambda x: x.sharding, state["audio_params"])
  return dict(state, audio_params=jax.device_put(loaded, shardings))


def prepare(config, audio_params, batch):
  """Model inputs and targets of a batch of windows, aligned for the look-ahead."""
  rotation = batch["head_pose"]["rotation"]
  translation = batch["head_pose"]["translation"]
  features, _ = motion.audio_features(config, audio_params, batch["log_mel"])
  face = motion.canonical(batch["landmarks"], rotation, translation)
  source = (rotation[:, 0], translation[:, 0], batch["torso"][:, 0])
  pose = motion.encode_pose(rotation, translation, batch["torso"], source)
  n = config.lookahead_frames
  frames = face.shape[1]
  # Step t of the model describes frame t - n: the pose fed in at step t is frame t - n's.
  pose_in = jnp.concatenate([jnp.zeros_like(pose[:, :n]), pose[:, :frames - n]], 1)
  return features, {"neutral": face[:, 0], "face": face[:, :frames - n],
                    "pose": pose[:, :frames - n], "pose_in": pose_in,
                    "valid": batch["valid"][:, :frames - n].astype(jnp.float32)}


def _point_weights(config):
  w = np.ones(lmk.NUM_LANDMARKS, np.float32)
  w[lmk.MOUTH] = config.loss.mouth_weight
  return jnp.asarray(w / w.sum())


def losses(params, audio_params, batch, config, rng=None):
  """(L_mg, its parts) on a batch of windows. With `rng`, the previous poses fed to the
  pose head carry Gaussian noise of config.loss.pose_input_noise (pose units)."""
  features, targets = prepare(config, audio_params, batch)
  pose_in = targets["pose_in"]
  if rng is not None and config.loss.pose_input_noise > 0:
    pose_in = pose_in + config.loss.pose_input_noise * jax.random.normal(rng, pose_in.shape)
  out, _ = motion.motion_generator(config).apply(
      {"params": params}, features, targets["neutral"], pose_targets=pose_in)
  n = config.lookahead_frames
  face = out["face"][:, n:]
  mean, log_std = out["pose_mean"][:, n:], out["pose_log_std"][:, n:]
  w = _point_weights(config)
  valid = targets["valid"]
  count = jnp.maximum(valid.sum(), 1.0)
  face_err = (((face - targets["face"]) ** 2).sum(-1) * w).sum(-1)
  moved = jnp.diff(face, axis=1) - jnp.diff(targets["face"], axis=1)
  both = valid[:, 1:] * valid[:, :-1]
  velocity_err = ((moved ** 2).sum(-1) * w).sum(-1)
  z = (targets["pose"] - mean) * jnp.exp(-log_std)
  nll = (0.5 * z ** 2 + log_std + 0.5 * jnp.log(2 * jnp.pi)).mean(-1)
  parts = {"face": (face_err * valid).sum() / count,
           "velocity": (velocity_err * both).sum() / jnp.maximum(both.sum(), 1.0),
           "pose_nll": (nll * valid).sum() / count}
  total = (parts["face"] + config.loss.velocity_weight * parts["velocity"]
           + config.loss.pose_weight * parts["pose_nll"])
  return total, parts


def train_step(state, batch, rng, *, config):
  (loss, parts), grads = jax.value_and_grad(losses, has_aux=True)(
      state["params"], state.get("audio_params"), batch, config, rng)
  tx = make_optimizer(config)
  updates, opt_state = tx.update(grads, state["opt_state"], state["params"])
  params = optax.apply_updates(state["params"], updates)
  measurements = {"loss": loss, **parts, "grad_norm": optax.global_norm(grads),
                  "learning_rate": make_schedule(config)(state["step"])}
  return dict(state, step=state["step"] + 1, params=params, opt_state=opt_state), measurements


# --- Evaluation -------------------------------------------------------------------------
def _clip_metrics(generated, reference) -> dict[str, float]:
  return {name: fn(generated, reference) for name, fn in METRICS.items()}


def evaluate(state, builder, config) -> tuple[dict, dict]:
  """Metrics of phi_mg on whole eval clips, with the no-motion and shuffled-audio
  baselines: ({"lmd", "no_motion_lmd", "shuffled_audio_lmd", ... , "num_clips",
  "num_frames"}, sample images)."""
  model = motion.MotionModel(config, jax.device_get(state["params"]),
                             jax.device_get(state.get("audio_params")))
  clips = list(input_pipeline.clips(builder, config.data.eval_split, FEATURES,
                                    limit=config.eval.max_clips))
  if len(clips) < 2:
    raise ConfigError(f"eval split {config.data.eval_split!r} has {len(clips)} clips; the "
                     "shuffled-audio baseline needs 2")
  bank = None
  if config.manifold.weight > 0:  # the training speakers' features, as LSP's target bank
    train_clips = input_pipeline.clips(builder, config.data.train_split, ("log_mel",),
                                       limit=config.manifold.bank_clips)
    bank = motion.feature_bank(model, [c["log_mel"] for c in train_clips],
                               config.manifold.bank_frames, config.eval.seed,
                               config.eval.chunk_frames)
  rng = jax.random.key(config.eval.seed)
  rows, images = [], {}
  for i, clip in enumerate(clips):
    truth = clip["landmarks"]
    resolution = _resolution(builder)
    kwargs = dict(source_pose=(clip["head_pose"]["rotation"][0],
                               clip["head_pose"]["translation"][0]),
                  source_torso=clip["torso"][0], resolution=resolution,
                  chunk_frames=config.eval.chunk_frames)
    key = jax.random.fold_in(rng, i)
    generated = motion.generate_motion(clip["log_mel"], truth[0], model, key, **kwargs)
    other = clips[(i + 1) % len(clips)]["log_mel"]
    other = np.resize(other, clip["log_mel"].shape)  # tiled or cut to this clip's length
    shuffled = motion.generate_motion(other, truth[0], model, key, **kwargs)
    still = np.repeat(truth[:1], len(truth), axis=0)
    row = _clip_metrics(generated.landmarks, truth)
    row.update({f"no_motion_{k}": v for k, v in _clip_metrics(still, truth).items()})
    row.update({f"shuffled_audio_{k}": v
                for k, v in _clip_metrics(shuffled.landmarks, truth).items()})
    if bank is not None:
      projected = motion.generate_motion(clip["log_mel"], truth[0], model, key, bank=bank,
                                         **kwargs)
      row.update({f"manifold_{k}": v
                  for k, v in _clip_metrics(projected.landmarks, truth).items()})
    row["mouth_opening_r"] = sync.pearson(lmk.mouth_opening(generated.landmarks),
                                      lmk.mouth_opening(truth))
    row["frames"] = len(truth)
    rows.append(row)
    if i == 0:
      images = {"facial_map_truth_above_generated": _facial_maps(
          truth, generated.landmarks, resolution, config.eval.num_image_frames)}
  measurements = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "frames"}
  measurements["num_clips"] = len(rows)
  measurements["num_frames"] = int(sum(r["frames"] for r in rows))
  return measurements, images


def _resolution(builder) -> int:
  shape = builder.info.features["frames"].shape
  return int(shape[1])


def _facial_maps(truth, generated, resolution, num) -> np.ndarray:
  """(num, 2 R, R, 3) in [0, 1]: facial maps of evenly spaced frames, truth above."""
  idx = np.linspace(0, len(truth) - 1, num).astype(int)
  pairs = [np.concatenate([facial_map.render_facial_map(truth[t], resolution),
                           facial_map.render_facial_map(generated[t], resolution)], 0)
           for t in idx]
  return np.stack(pairs).astype(np.float32) / 255.0
