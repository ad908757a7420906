"""Audio-driven motion phi_mg: the Motion Generator's representation and its Python API.

  model = motion.load("runs/motion_generator")
  track = motion.generate_motion("speech.wav", source_landmarks, model, jax.random.key(0),
                                 resolution=512)
  track.landmarks  # (T, 68, 3) pixels at 60 fps, T = round(seconds x 60)

Representation (one definition, used by training, evaluation and generation):
- Faces are canonical (head pose removed by `pose.canonical_face`), in FACE_UNITS per
  face width (hundredths).
- Pose and torso of frame t are a vector of POSE_SIZE values relative to the source frame
  r (`encode_pose`): yaw, pitch, roll minus the source's (degrees); the head's image
  position minus the source's, in FACE_UNITS of the source's face width; FACE_UNITS x
  log(scale / source scale); and each torso point's offset from the head position, in
  FACE_UNITS of the frame's face width, minus the source's offsets.
- phi_mg = posed_landmarks(face, pose) in pixels of the source's crop.
- Head motion is sampled (models/motion_generator.py: mean + temperature x sigma x noise,
  noise with the time constant config.pose_noise_seconds) and the sampled poses smoothed
  by a zero-phase Gaussian (`smooth_pose`): the pose head's samples change every frame, a
  head does not (metrics/head_motion.py measures the difference). Temperature and
  smoothing are per pose value (`sampling`): config.pose_temperature and
  pose_smoothing_seconds, times per-axis factors on the head's yaw, pitch, roll, x, y
  (config.pose_axis_temperature, pose_axis_smoothing) that eval/calibrate_pose.py fits so
  that each axis moves as much and as fast as the truth's. The noise starts at zero on the
  source frame (the head starts at the portrait's pose) and couples the axes as the
  truth's changes are coupled (config.pose_axis_correlation, `noise_mixing`).
- Mouth gain: generation opens the predicted mouth config.mouth_gain times as wide (1: as
  predicted): the gap between the inner lips' middles (62 to 66) grows by (g - 1) times
  itself, and the lower lip and the chin move with it as a jaw drops (JAW_DROP). A
  regression to the mean opens the mouth too little on speech it is unsure of (real
  speech, for a model that learnt mostly from the synthetic world); eval/calibrate_pose.py
  --mouth fits the gain on validation clips so that the opening's 95th percentile is the
  truth's. (Scaling the mouth's change from the source face instead fails when the
  portrait's mouth is open: the gain then closes it further.)
- Look-ahead: the model is causal in audio; its output at step t describes frame
  t - lookahead_frames, so each frame sees that many frames of audio after it (the mouth
  moves before the sound it makes). Generation pads the audio with that much silence.

Audio of any length streams through in chunks of `chunk_frames` frames (the recurrent
states carry over), so memory stays flat in the length and every chunk has one shape.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from stylehead_jax import checkpoint
from stylehead_jax import losses as losses_lib
from stylehead_jax import media
from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.landmarks import pose as pose_lib
from stylehead_jax.landmarks import tracking
from stylehead_jax.metrics import head_motion
from stylehead_jax.metrics import mouth
from stylehead_jax.models import audio_encoder as apc
from stylehead_jax.models import motion_generator as mg
from stylehead_jax.style import amplitude
from stylehead_jax.style import manifold
from stylehead_jax.errors import ConfigError

FACE_UNITS = 100.0  # model units per face width
# How far each point moves with the inner lips' gap when the mouth gain opens the mouth:
# the lower lip fully, the chin's middle fully and its sides half.
JAW_DROP = np.zeros(lmk.NUM_LANDMARKS, np.float32)
JAW_DROP[[55, 56, 57, 58, 59, 65, 66, 67, 7, 8, 9]] = 1.0
JAW_DROP[[6, 10]] = 0.5
# Per-frame features a Motion Generator trains on, is evaluated on and is styled by.
FEATURES = ("log_mel", "landmarks", "head_pose", "torso", "valid")
# A window whose true mouth opening varies less than this (eye distances, standard
# deviation) is silence or a held pose: its opening's r is noise (L_mg's opening term).
MOVING_OPENING = 0.01


# --- Representation ---------------------------------------------------------------------
def canonical(landmarks, rotation, translation):
  """Canonical faces (..., 68, 3) in FACE_UNITS."""
  return FACE_UNITS * pose_lib.canonical_face(landmarks, rotation, translation)


def encode_pose(rotation, translation, torso, source):
  """(..., POSE_SIZE) pose vectors of frames relative to `source` = (rotation (3, 3),
  translation (3,), torso (3, 2)) of the source frame (leading axes broadcast)."""
  xp = jnp if any(isinstance(a, jax.Array) for a in (rotation, *source)) else np
  s_rot, s_trans, s_torso = source
  angles = pose_lib.angles_from_rotation(rotation) - pose_lib.angles_from_rotation(s_rot)[..., None, :]
  s_xy, s_scale = s_trans[..., None, :2], s_trans[..., None, 2:3]
  xy = FACE_UNITS * (translation[..., :2] - s_xy) / s_scale
  log_scale = FACE_UNITS * xp.log(translation[..., 2:3] / s_scale)
  offsets = (torso - translation[..., None, :2]) / translation[..., None, 2:3]
  s_offsets = (s_torso - s_trans[..., None, :2]) / s_trans[..., None, 2:3]
  torso_vec = FACE_UNITS * (offsets - s_offsets[..., None, :, :])
  shape = torso_vec.shape[:-2] + (6,)
  return xp.concatenate([angles, xy, log_scale, torso_vec.reshape(shape)], -1)


def decode_pose(vectors: np.ndarray, source) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Inverse of `encode_pose` for one clip: vectors (T, POSE_SIZE) -> rotation (T, 3, 3),
  translation (T, 3), torso (T, 3, 2)."""
  v = np.asarray(vectors, np.float64)
  s_rot, s_trans, s_torso = (np.asarray(a, np.float64) for a in source)
  angles = pose_lib.angles_from_rotation(s_rot) + v[:, :3]
  rotation = pose_lib.rotation_from_angles(angles[:, 0], angles[:, 1], angles[:, 2])
  scale = s_trans[2] * np.exp(v[:, 5] / FACE_UNITS)
  xy = s_trans[:2] + v[:, 3:5] * s_trans[2] / FACE_UNITS
  translation = np.concatenate([xy, scale[:, None]], -1)
  s_offsets = (s_torso - s_trans[:2]) / s_trans[2]
  offsets = s_offsets + v[:, 6:].reshape(-1, 3, 2) / FACE_UNITS
  torso = xy[:, None] + offsets * scale[:, None, None]
  return rotation.astype(np.float32), translation.astype(np.float32), torso.astype(np.float32)


def style_motion(face, pose):
  """Motion as the style network f sees it (tasks/style_transfer.py): canonical faces
  (..., 68, 3) in FACE_UNITS posed by pose vectors (..., POSE_SIZE) relative to the source
  (`encode_pose`): turned by the angles, scaled by the log-scale, moved by the x, y offset.
  Landmarks (..., 68, 3) in FACE_UNITS of the source's face width about the source's head
  position: head motion and expression, without the identity's place and size in the
  image. JAX or numpy."""
  xp = jnp if isinstance(pose, jax.Array) or isinstance(face, jax.Array) else np
  rotation = pose_lib.rotation_from_angles(pose[..., 0], pose[..., 1], pose[..., 2])
  translation = xp.concatenate([pose[..., 3:5], xp.exp(pose[..., 5:6] / FACE_UNITS)], -1)
  return pose_lib.posed_landmarks(face, rotation.reshape(pose.shape[:-1] + (3, 3)),
                                  translation)


def style_amplitude(clip: dict, config, frames: int | None = None) -> amplitude.Amplitude:
  """The amplitude (style/amplitude.py) of a tracked clip's motion (a style reference:
  "landmarks", "head_pose", "torso"), its head smoothed as `config`'s samples are and
  measured over spans of `frames` (an output's length; None or longer: the whole
  clip)."""
  rotation, translation = clip["head_pose"]["rotation"], clip["head_pose"]["translation"]
  source = (rotation[0], translation[0], clip["torso"][0])
  vectors = encode_pose(rotation, translation, clip["torso"], source)
  poses = smooth_pose(np.asarray(vectors, np.float64), sampling(config)[1])
  return amplitude.measure(canonical(clip["landmarks"], rotation, translation), poses,
                           frames)


# --- Models -----------------------------------------------------------------------------
def audio_encoder(config) -> apc.APCEncoder | None:
  """The frozen APC encoder of config.audio (None when the input is plain log-mels): its
  shape comes from the audio_encoder run's own config.json."""
  if config.audio.source == "log_mel":
    return None
  if config.audio.source != "apc":
    raise ConfigError(f"config.audio.source={config.audio.source!r}: 'apc' or 'log_mel'")
  if not config.audio.encoder_workdir:
    raise ConfigError("config.audio.encoder_workdir is empty: train the audio_encoder stage "
                     "first and point it there (or set config.audio.source='log_mel')")
  workdir = os.path.abspath(config.audio.encoder_workdir)
  return apc.APCEncoder(**checkpoint.read_run_config(workdir).model)


def motion_generator(config) -> mg.MotionGenerator:
  return mg.MotionGenerator(**config.model)


def audio_features(config, audio_params, log_mel, carries=None):
  """Per-frame audio features (B, T, 2 D) of log-mels (B, 2T, 80), and the APC carries."""
  x = media.normalize_log_mel(log_mel)
  encoder = audio_encoder(config)
  if encoder is not None:
    _, aux = encoder.apply({"params": audio_params}, x, carries)
    x, carries = jax.lax.stop_gradient(aux["features"]), aux["carries"]
  b, steps, d = x.shape
  return x.reshape(b, steps // media.MELS_PER_FRAME, media.MELS_PER_FRAME * d), carries


@dataclasses.dataclass(frozen=True)
class MotionModel:
  """A trained Motion Generator: its config, parameters and the APC encoder's."""
  config: Any
  params: Any
  audio_params: Any

  def with_settings(self, **values) -> "MotionModel":
    """The same networks with these config values changed (generation settings such as
    pose_temperature or pose_axis_temperature); this model's config is left as it is."""
    config = self.config.copy_and_resolve_references()
    with config.unlocked():
      for key, value in values.items():
        is_sequence = isinstance(value, (tuple, list, np.ndarray))
        config[key] = tuple(float(v) for v in value) if is_sequence else value
    return MotionModel(config, self.params, self.audio_params)


def load(workdir: str, step: int | None = None) -> MotionModel:
  """The Motion Generator of a motion_generator training workdir (latest checkpoint)."""
  workdir = os.path.abspath(workdir)
  config = checkpoint.read_run_config(workdir)
  state = checkpoint.load_state(checkpoint.checkpoint_dir(workdir), step)
  return MotionModel(config, state["params"], state.get("audio_params"))


# --- Training: L_mg ----------------------------------------------------------------------
def init_params(config, rng, batch):
  """(params, audio_params) of a fresh Motion Generator and its audio encoder (random;
  None without one) for a batch of windows; checkpoint.load_into fills in trained ones."""
  encoder = audio_encoder(config)
  audio_params = None if encoder is None else encoder.init(rng, batch["log_mel"])["params"]
  features, targets = prepare(config, audio_params, batch)
  params = motion_generator(config).init(
      rng, features, targets["neutral"], pose_targets=targets["pose_in"])["params"]
  return params, audio_params


def prepare(config, audio_params, batch):
  """Model inputs and targets of a batch of windows, aligned for the look-ahead."""
  rotation = batch["head_pose"]["rotation"]
  translation = batch["head_pose"]["translation"]
  features, _ = audio_features(config, audio_params, batch["log_mel"])
  face = canonical(batch["landmarks"], rotation, translation)
  source = (rotation[:, 0], translation[:, 0], batch["torso"][:, 0])
  pose = encode_pose(rotation, translation, batch["torso"], source)
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


def opening_r(face, target, valid):
  """Mean over windows (B, T, 68, 3) of the Pearson r over the valid frames between the
  mouth's opening (metrics/mouth.py) in `face` and in `target`, over the windows whose
  target opening moves (standard deviation above MOVING_OPENING eye distances)."""
  g, t = mouth.opening(face), mouth.opening(target)
  # Floored: a freshly initialised face does not move at all, and the first steps'
  # gradient would be unbounded.
  r = losses_lib.pearson(g, t, valid, floor=1e-12)
  count = jnp.maximum(valid.sum(-1, keepdims=True), 1.0)
  centred = t - (t * valid).sum(-1, keepdims=True) / count
  moving = (((centred ** 2 * valid).sum(-1, keepdims=True) / count)[..., 0]
            > MOVING_OPENING ** 2).astype(r.dtype)
  return (r * moving).sum() / jnp.maximum(moving.sum(), 1.0)


def losses(params, audio_params, batch, config, rng=None):
  """(L_mg, its parts) on a batch of windows (tasks/motion_generator.py defines L_mg).
  With `rng`, the previous poses fed to the pose head carry Gaussian noise of
  config.loss.pose_input_noise (pose units)."""
  features, targets = prepare(config, audio_params, batch)
  pose_in = targets["pose_in"]
  if rng is not None and config.loss.pose_input_noise > 0:
    pose_in = pose_in + config.loss.pose_input_noise * jax.random.normal(rng, pose_in.shape)
  out, _ = motion_generator(config).apply(
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
  parts["opening_r"] = opening_r(face, targets["face"], valid)
  opening_weight = config.loss.get("opening_r_weight", 0.0)  # older runs' configs: none
  if opening_weight > 0:
    total = total + opening_weight * (1.0 - parts["opening_r"])
  return total, parts


# --- Generation -------------------------------------------------------------------------
def _networks_json(config) -> str:
  """What the jitted generation functions below read of a run's config (config.model and
  config.audio), as their static argument: the generation settings (pose_temperature,
  pose_axis_temperature, ...) act outside them, so trying another setting (calibration,
  `MotionModel.with_settings`) does not compile them again."""
  return json.dumps({"model": config.model.to_dict(), "audio": config.audio.to_dict()},
                    sort_keys=True)


@functools.partial(jax.jit, static_argnames=("config_json",))
def _encode_audio(config_json, audio_params, log_mel, carries):
  config = ml_collections.ConfigDict(json.loads(config_json))
  return audio_features(config, audio_params, log_mel, carries)


@functools.partial(jax.jit, static_argnames=("config_json",))
def _generate_chunk(config_json, params, features, neutral, noise, force, carries):
  config = ml_collections.ConfigDict(json.loads(config_json))
  return motion_generator(config).apply({"params": params}, features, neutral, noise=noise,
                                        force=force, carries=carries)


def _silence_padded(log_mel: np.ndarray, num_frames: int) -> np.ndarray:
  """Log-mels (2 num_frames, 80): `log_mel`'s whole frames, then silence."""
  mel = np.full((num_frames * media.MELS_PER_FRAME, media.N_MELS), media.SILENCE_LOG_MEL,
                np.float32)
  n = min(len(log_mel) // media.MELS_PER_FRAME, num_frames) * media.MELS_PER_FRAME
  mel[:n] = log_mel[:n]
  return mel


def _streamed_features(params: MotionModel, mel: np.ndarray, chunk_frames: int):
  """Per-frame audio features (1, chunk_frames, 2 D) of each chunk of `mel` (whole chunks),
  the APC state carried from chunk to chunk: the same as encoding it in one piece."""
  config_json = _networks_json(params.config)
  steps = chunk_frames * media.MELS_PER_FRAME
  carries = None
  for start in range(0, len(mel), steps):
    features, carries = _encode_audio(config_json, params.audio_params,
                                      mel[None, start:start + steps], carries)
    yield features


def feature_bank(params: MotionModel, log_mels, size: int, seed: int = 0,
                 chunk_frames: int = 240) -> np.ndarray:
  """A manifold-projection bank: at most `size` audio features (one per mel frame, as the
  Motion Generator sees them before merging) of clips' log-mels [(2T, 80), ...]."""
  features = []
  for log_mel in log_mels:
    frames = len(log_mel) // media.MELS_PER_FRAME
    mel = _silence_padded(log_mel, -(-frames // chunk_frames) * chunk_frames)
    streamed = np.concatenate([np.asarray(f[0]) for f in
                               _streamed_features(params, mel, chunk_frames)])
    features.append(streamed.reshape(len(mel), -1)[:frames * media.MELS_PER_FRAME])
  return manifold.sample_bank(features, size, seed)


@dataclasses.dataclass
class MotionTrack:
  """phi_mg at 60 fps in pixels of the source crop."""
  landmarks: np.ndarray  # (T, 68, 3)
  rotation: np.ndarray  # (T, 3, 3)
  translation: np.ndarray  # (T, 3)
  torso: np.ndarray  # (T, 3, 2)


def open_mouth(face: np.ndarray, gain) -> np.ndarray:
  """Canonical faces (T, 68, 3) whose inner-lip gap (62 to 66, where the lower lip is
  below the upper) is `gain` (a number, or one per frame (T,)) times as wide, the points
  of JAW_DROP moved with it."""
  gain = np.asarray(gain, np.float64)
  if np.all(gain == 1.0):
    return face
  gap = face[:, 66] - face[:, 62]
  gap = gap * (gap[:, 1:2] > 0)  # y points down: only an open mouth opens further
  factor = np.broadcast_to(gain, face.shape[:1])[:, None, None] - 1.0
  return (face + factor * JAW_DROP[None, :, None] * gap[:, None, :]).astype(face.dtype)


def correlated_noise(white, seconds, start: int = 0):
  """AR(1) noise over the leading (time) axis of standard normal `white` (T, ...), zero up
  to step `start` (the source frame: a sampled head starts at the portrait's pose) and
  from there e_t = rho e_t-1 + sqrt(1 - rho^2) n_t with rho = exp(-1 / (seconds x 60))
  (`seconds` a number, or one per value of the last axis), so
  sampled head motion wanders away smoothly instead of jittering frame to frame (white
  noise where seconds is 0). e_t has variance 1 - rho^(2 (t - start)): it grows to standard
  normal over about `seconds`, as a head moves away from where it was."""
  seconds = np.asarray(seconds, np.float64)
  rho = np.where(seconds > 0, np.exp(-1.0 / (np.maximum(seconds, 1e-9) * media.FPS)), 0.0)
  rho, gain = jnp.asarray(rho, jnp.float32), jnp.asarray(np.sqrt(1.0 - rho ** 2), jnp.float32)
  white = jnp.asarray(white)
  after = (jnp.arange(white.shape[0]) > start).reshape((-1,) + (1,) * (white.ndim - 1))

  def step(previous, n):
    e = rho * previous + gain * n
    return e, e

  _, out = jax.lax.scan(step, jnp.zeros_like(white[0]), jnp.where(after, white, 0.0))
  return out


def sampling(config, temperature: float | None = None) -> tuple[np.ndarray, np.ndarray]:
  """(temperatures, smoothing seconds), each (POSE_SIZE,): config.pose_temperature (or
  `temperature`) and config.pose_smoothing_seconds for every pose value, times
  config.pose_axis_temperature and pose_axis_smoothing (one factor per head axis,
  head_motion.AXES: the first values) on the head's yaw, pitch, roll, x, y. Runs trained
  before a setting existed read it as 0 smoothing and factors of 1."""
  n = len(head_motion.AXES)
  temperatures = np.full(mg.POSE_SIZE, config.pose_temperature if temperature is None
                         else temperature, np.float64)
  seconds = np.full(mg.POSE_SIZE, config.get("pose_smoothing_seconds", 0.0), np.float64)
  for values, key in ((temperatures, "pose_axis_temperature"), (seconds, "pose_axis_smoothing")):
    factors = np.asarray(config.get(key, (1.0,) * n), np.float64)
    if factors.shape != (n,):
      raise ConfigError(f"config.{key}={tuple(factors.ravel())}: one factor per head axis "
                        f"{head_motion.AXES}")
    values[:n] *= factors
  return temperatures.astype(np.float32), seconds


def noise_mixing(config) -> np.ndarray:
  """(POSE_SIZE, POSE_SIZE) matrix M: the head-pose noise is standard normal noise e
  times M^T, so that the head axes' noise has the correlation config.pose_axis_correlation
  (head_motion.AXES x AXES, row-major; identity when absent): a head turning about a pivot
  behind the face also moves the face sideways (yaw with x, pitch with y). The Cholesky
  factor of the correlation on the head axes, the identity elsewhere."""
  n = len(head_motion.AXES)
  values = np.asarray(config.get("pose_axis_correlation", np.eye(n).ravel()), np.float64)
  if values.shape != (n * n,):
    raise ConfigError(f"config.pose_axis_correlation: {n} x {n} = {n * n} values (row-major), "
                      f"got {values.size}")
  correlation = values.reshape(n, n)
  problem = "config.pose_axis_correlation is not a correlation matrix: "
  if not np.allclose(correlation, correlation.T, atol=1e-6):
    raise ConfigError(problem + "not symmetric")
  try:
    factor = np.linalg.cholesky(correlation)
  except np.linalg.LinAlgError:
    raise ConfigError(problem + "not positive definite") from None
  mixing = np.eye(mg.POSE_SIZE)
  mixing[:n, :n] = factor
  return mixing.astype(np.float32)


def smooth_pose(vectors, seconds, axis: int = 0):
  """Pose vectors (..., T, ..., V) smoothed over `axis` (time) by a Gaussian of standard
  deviation `seconds` (a number, or (V,) per value of the last axis; truncated at 3 of
  them), zero-phase, so the head moves no later than sampled; values whose seconds are 0
  stay as they are. The start is padded by point reflection through the first frame, so
  the first frame keeps its value (the source's pose), the end with the last value.
  JAX or numpy."""
  xp = jnp if isinstance(vectors, jax.Array) else np
  per_value = np.broadcast_to(np.asarray(seconds, np.float64), (vectors.shape[-1],))
  out = vectors
  for s in np.unique(per_value[per_value > 0]):
    sigma = s * media.FPS
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel = kernel / kernel.sum()
    x = xp.moveaxis(vectors, axis, 0)
    extended = xp.concatenate([x, xp.repeat(x[-1:], radius, 0)])
    padded = xp.concatenate([2 * x[:1] - extended[radius:0:-1], extended])
    smoothed = xp.moveaxis(sum(float(w) * padded[k:k + len(x)] for k, w in enumerate(kernel)),
                           0, axis)
    out = xp.where(per_value == s, smoothed, out)
  return out


def pose_noise(rng, steps: int, seconds, start: int) -> np.ndarray:
  """(steps, POSE_SIZE) `correlated_noise` for the head-pose samples of a generation whose
  step `start` is the source frame; n_t depends on (rng, t) only, so chunked generation
  draws the same noise."""
  white = jax.vmap(lambda t: jax.random.normal(
      jax.random.fold_in(rng, t), (mg.POSE_SIZE,)))(jnp.arange(steps))
  return np.asarray(correlated_noise(white, seconds, start), np.float32)


def _to_log_mel(audio) -> np.ndarray:
  if isinstance(audio, (str, os.PathLike)):
    audio = media.load_audio(audio)
  audio = np.asarray(audio, np.float32)
  if audio.ndim == 2 and audio.shape[1] == media.N_MELS:
    return audio
  if audio.ndim != 1:
    raise ValueError(f"audio: expected a waveform (N,) at {media.SAMPLE_RATE} Hz or log-mels "
                     f"(2T, {media.N_MELS}), got shape {audio.shape}")
  return media.log_mel(media.pad_to_frames(audio))


def generate_motion(audio, source_landmarks, params: MotionModel, rng, *,
                    source_pose=None, source_torso=None, resolution: int = media.CROP_SIZE,
                    temperature: float | None = None, chunk_frames: int = 240,
                    bank=None, manifold_weight: float | None = None,
                    style: amplitude.Amplitude | None = None) -> MotionTrack:
  """phi_mg for `audio` spoken by the face of `source_landmarks`.

  Args:
    audio: a path, a waveform (N,) at 24 kHz, or log-mels (2T, 80); gives
      T = ceil(N / 400) frames at 60 fps.
    source_landmarks: (68, 2|3) landmarks of the source image in pixels of a
      `resolution` crop (`landmarks.extract(image)`).
    params: `load(workdir)`.
    rng: seeds the head-motion samples.
    source_pose: (rotation (3, 3), translation (3,)) of the source; default PnP.
    source_torso: (3, 2); default `tracking.initial_torso`.
    temperature: times sigma of the head-pose samples (default config.pose_temperature;
      0 gives the mean motion), before the per-axis factors (`sampling`).
    bank, manifold_weight: project the audio features onto this bank (M, D) first
      (`stylehead_jax.style.manifold`; weight default config.manifold.weight).
    style: a style's amplitude (`style_amplitude` of its clip with this audio's number
      of frames): the generated head's spread per axis (over spans as long as the
      style's were) and the mouth's opening are scaled to it (style/amplitude.py).
  """
  config = params.config
  config_json = _networks_json(config)
  temperatures, smoothing = sampling(config, temperature)
  n = len(head_motion.AXES)
  log_mel = _to_log_mel(audio)
  frames = log_mel.shape[0] // media.MELS_PER_FRAME
  lookahead = int(config.lookahead_frames)

  landmarks = np.zeros((lmk.NUM_LANDMARKS, 3), np.float32)
  landmarks[:, :source_landmarks.shape[-1]] = source_landmarks
  if source_pose is None:
    rotation, translation = pose_lib.solve_head_pose(landmarks[None], resolution)
    source_pose = (rotation[0], translation[0])
  if source_torso is None:
    source_torso = tracking.initial_torso(landmarks, resolution)
  source = (np.asarray(source_pose[0], np.float32), np.asarray(source_pose[1], np.float32),
            np.asarray(source_torso, np.float32))
  neutral = canonical(landmarks[None], source[0][None], source[1][None])

  # Steps: every frame plus the look-ahead, padded with silence to whole chunks.
  steps = frames + lookahead
  padded = -(-steps // chunk_frames) * chunk_frames
  mel = _silence_padded(log_mel[:frames * media.MELS_PER_FRAME], padded)
  force = (np.arange(padded) < lookahead).astype(np.float32)
  weight = config.manifold.weight if manifold_weight is None else manifold_weight

  def sample(speedup):
    """Canonical faces and smoothed pose vectors, the head's noise and smoothing
    `speedup` (n,) times faster per axis (the audio streamed through again: memory stays
    flat in its length)."""
    seconds = np.full(mg.POSE_SIZE, config.pose_noise_seconds, np.float64)
    seconds[:n] /= speedup
    sampled_smoothing = smoothing.copy()
    sampled_smoothing[:n] /= speedup
    noise = (pose_noise(rng, padded, seconds, lookahead) @ noise_mixing(config).T) * temperatures
    faces, poses = [], []
    motion_carries = None
    for start, chunk in zip(range(0, padded, chunk_frames),
                            _streamed_features(params, mel, chunk_frames)):
      sl = slice(start, start + chunk_frames)
      if bank is not None and weight > 0:
        chunk = manifold.project(chunk.reshape(-1, bank.shape[-1]), bank, weight,
                                 config.manifold.num_neighbours).reshape(chunk.shape)
      out, motion_carries = _generate_chunk(
          config_json, params.params, chunk, neutral, noise[None, sl], force[None, sl],
          motion_carries)
      faces.append(np.asarray(out["face"][0]))
      poses.append(np.asarray(out["pose_sample"][0]))
    face = np.concatenate(faces)[lookahead:lookahead + frames] / FACE_UNITS
    return (open_mouth(face, float(config.get("mouth_gain", 1.0))),
            smooth_pose(np.concatenate(poses)[lookahead:lookahead + frames], sampled_smoothing))

  face, poses = sample(np.ones(n))
  if style is not None:
    # Measured as a style video's track is (`style_amplitude`: smoothed once more).
    view = lambda head: smooth_pose(head, smoothing[:n])
    # Where the head is slower than the style's, it is sampled again faster (the face and
    # the other axes stay the first sample's: a faster axis's noise would leak into them
    # through noise_mixing).
    head, sampled = poses[:, :n], np.ones(n)
    for _ in range(amplitude.TEMPO_PASSES):
      speedup = amplitude.tempo_speedup(head, style, view, sampled=sampled)
      if np.allclose(speedup, sampled, rtol=0.05):
        break
      head = np.where(speedup > 1, sample(speedup)[1][:, :n], poses[:, :n])
      sampled = speedup
    head = amplitude.slow_head(head, style, smooth_pose, view=view)
    poses = np.concatenate([head, poses[:, n:]], -1)
    measured = amplitude.measure(face, smooth_pose(poses, smoothing), style.window)
    head_gains = amplitude.head_gains(measured, style)
    head = amplitude.scale_head(head, head_gains, style.head_centre,
                                style.window, media.FPS, target=style.head)
    head = amplitude.bound_head(head, style)
    poses = np.concatenate([head, poses[:, n:]], -1).astype(np.float32)
    face = amplitude.hold_mouth_width(face, style, neutral[0] / FACE_UNITS)
    face = open_mouth(face, amplitude.mouth_gains(mouth.opening(face), style))
  rotation, translation, torso = decode_pose(poses, source)
  landmarks = pose_lib.posed_landmarks(face, rotation, translation).astype(np.float32)
  return MotionTrack(landmarks=landmarks, rotation=rotation, translation=translation,
                     torso=torso)
