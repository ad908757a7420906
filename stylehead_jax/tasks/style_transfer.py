"""Stage style_transfer: a trained Motion Generator fine-tuned to a style reference.

Data: one style reference clip, `config.style.reference`: "<split>/<clip_id>" of
config.data's builder, or a video file, tracked as talking_head_videos prepares one
(once; cached in config.style.cache_dir). Its frames inside `config.style.span` (fractions
of its length) train: windows of config.data.window_frames at seeded random starts.
`config.style.drive_audio` (an audio or video file; required where the reference has no
sound) adds windows of that speech, drawn independently: the audio phi_mg is generated on.

Motion as f sees it: `motion.style_motion` (posed faces in FACE_UNITS about the source
head; the pose vectors scaled by config.critic.head_weight: 0 shows f the expression
alone, on a still head), cut into windows of config.critic.window frames, each centred on
its mean point and divided by the square root of its size (so |x| is a root-mean-square
in FACE_UNITS).
  phi_s: the reference's tracked motion;
  phi_mg: the Motion Generator's free-running output on the reference's audio (on the
    drive audio where one is given): the head pose fed back from its own samples (noise and
    temperature as at inference), i.e. the motion generation produces, not the
    teacher-forced one-step predictions L_mg trains.

Losses:
  L_mg: the Motion Generator's own loss (tasks/motion_generator.losses, with its run's
    weights) on the reference windows; left out where the reference has no sound (it needs
    the reference's audio and motion together);
  L_keep = mean_i (1 - r_i), r_i the Pearson r over window i of the mouth's opening
    (metrics/mouth.opening) in phi_mg against the pre-trained Motion Generator's on the same
    audio and noise: the style may change how far and in what manner the mouth moves, not
    on which syllables it opens (lip sync). Only with a drive audio (keep_weight);
  L_sc = |mean_i f(phi_mg,i) - mean_i f(phi_s,i)|^2, f's last-layer features averaged
    over the batch's windows (feature matching);
  L_r = mean_i (|grad_x u . f(x)|_2 at x = phi^_i - 1)^2, phi^ = gamma phi_s
    + (1 - gamma) phi_mg, gamma ~ U(0, 1) per window (config.loss.gamma < 0) or fixed, u the
    unit direction of the feature-mean difference (held constant), by jax.grad;
  L_transfer = L_mg + sc_weight L_sc + r_weight L_r + keep_weight L_keep: what the Motion
    Generator descends.

How f is updated (config.critic.mode):
  "adversarial" (the default): f is a critic. Before each Motion Generator step it takes
    config.critic.steps Adam steps on -sqrt(L_sc) + r_weight L_r: it looks for the features
    in which generated and reference motion differ most (the distance along u estimates a
    Wasserstein-1 distance while L_r keeps f 1-Lipschitz along u), and the generator's
    L_sc then closes that gap.
  "joint": f descends the same L_transfer as the Motion Generator (no opposing objective):
    it learns an embedding in which the two agree, kept from collapsing by L_r.
With sc_weight = r_weight = 0 (`:variant=no_sc`) f is left out: plain fine-tuning with L_mg.

Evaluated by the "style_transfer" evaluator (stylehead_jax/evaluators/style_transfer.py):
SLD, SLV, SMD and LMD of the Motion Generator before and after, on clips in the style.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from stylehead_jax import adversarial
from stylehead_jax import checkpoint
from stylehead_jax import input_pipeline
from stylehead_jax import losses
from stylehead_jax import media
from stylehead_jax import motion
from stylehead_jax import optim
from stylehead_jax.errors import ConfigError
from stylehead_jax.errors import MediaError
from stylehead_jax.metrics import mouth
from stylehead_jax.models import style_transfer as style_net
from stylehead_jax.style import references
from stylehead_jax.tasks import base

MODES = ("adversarial", "joint")


def mg_config(config):
  """The config of the Motion Generator run being fine-tuned."""
  workdir = config.style.motion_generator_workdir
  if not workdir:
    raise ConfigError("config.style.motion_generator_workdir is empty: train the "
                      "motion_generator stage first and point it there")
  return checkpoint.read_run_config(os.path.abspath(workdir))


def _critic(config) -> style_net.StyleNetwork:
  return style_net.StyleNetwork(tuple(config.critic.features))


def _uses_critic(config) -> bool:
  return config.loss.sc_weight > 0 or config.loss.r_weight > 0


def _keeps_sync(config) -> bool:
  return bool(config.style.drive_audio) and config.loss.keep_weight > 0


def make_optimizer(config) -> optim.Optimizer:
  return optim.make(config.optimizer, config.total_steps)


def make_critic_optimizer(config) -> optim.Optimizer:
  return optim.make(config.critic.optimizer, config.total_steps)


# --- Data -------------------------------------------------------------------------------
def train_batches(builder, config, *, start_step: int = 0):
  """Endless batches of windows of the reference's span; batch k is a pure function of
  (config.seed, k), so a resumed run sees the batches an uninterrupted one would."""
  clip = references.reference_clip(config.style.reference, builder,
                                   resolution=config.style.video_resolution,
                                   cache_dir=config.style.cache_dir)
  window = config.data.window_frames
  drive = drive_log_mel(config, window)
  where = f"config.style.reference {config.style.reference}"
  if drive is None:
    references.require_speech(clip, where, "the Motion Generator needs speech to run on: "
                              "set config.style.drive_audio")
  if config.loss.mg_weight > 0:
    references.require_speech(clip, where, "L_mg learns from the reference's own speech: "
                              "set config.loss.mg_weight=0")
  start, stop = references.span(input_pipeline.num_frames(clip), config.style.span, window)
  span = input_pipeline.cut_clip({k: clip[k] for k in motion.FEATURES},
                                 start, stop)
  host_batch = config.batch_size // jax.process_count()
  mels = window * media.MELS_PER_FRAME
  for step in range(start_step, 1 << 62):
    rng = np.random.default_rng((config.seed, jax.process_index(), step))
    starts = rng.integers(0, stop - start - window + 1, host_batch)
    windows = [input_pipeline.cut_clip(span, s, s + window) for s in starts]
    batch = jax.tree.map(lambda *x: np.stack(x), *windows)
    if drive is not None:
      frames = rng.integers(0, len(drive) // media.MELS_PER_FRAME - window + 1, host_batch)
      batch["drive_log_mel"] = np.stack(
          [drive[f * media.MELS_PER_FRAME:f * media.MELS_PER_FRAME + mels] for f in frames])
    yield batch


def drive_log_mel(config, window: int) -> np.ndarray | None:
  """The log-mel (2T, 80) of config.style.drive_audio, tiled to at least `window` frames;
  None where none is given."""
  if not config.style.drive_audio:
    return None
  try:
    samples = media.load_audio(config.style.drive_audio)
  except MediaError as e:
    raise ConfigError(f"config.style.drive_audio: {e}") from None
  log_mel = media.log_mel(samples)
  return np.resize(log_mel, (max(len(log_mel), window * media.MELS_PER_FRAME),
                             log_mel.shape[1]))


# --- State ------------------------------------------------------------------------------
def init(config, rng, batch):
  """{step, params, opt_state, audio_params, critic_params, critic_opt_state}: the Motion
  Generator's parameters are random here; `load_pretrained` fills in the trained ones."""
  if config.critic.mode not in MODES:
    raise ConfigError(f"config.critic.mode={config.critic.mode!r}: one of {MODES}")
  if config.critic.steps < 1:
    raise ConfigError(f"config.critic.steps={config.critic.steps}: at least 1")
  mg_rng, critic_rng = jax.random.split(rng)
  params, audio_params = motion.init_params(mg_config(config), mg_rng, batch)
  windows = jnp.zeros((1, config.critic.window) + batch["landmarks"].shape[2:3] + (3,))
  critic_params = _critic(config).init(critic_rng, windows)["params"]
  extra = {} if audio_params is None else {"audio_params": audio_params}
  if _keeps_sync(config):  # the pre-trained Motion Generator, frozen (L_keep)
    extra["anchor_params"] = params
  return adversarial.init_state(params, critic_params, make_optimizer(config),
                                make_critic_optimizer(config), **extra)


def load_pretrained(state, config):
  """Puts the Motion Generator checkpoint (and its audio encoder) into a fresh state."""
  return checkpoint.load_into(state, config.style.motion_generator_workdir,
                              {"params": "params", "audio_params": "audio_params",
                               "anchor_params": "params"},
                              field="config.style.motion_generator_workdir")


# --- Losses -----------------------------------------------------------------------------
def _cut_windows(phi, window: int):
  """Non-overlapping windows (B k, W, 68, 3) of motion (B, T, 68, 3), each centred on its
  mean point and divided by sqrt(W 68 3)."""
  b, t = phi.shape[:2]
  k = t // window
  x = phi[:, :k * window].reshape((b * k, window) + phi.shape[2:])
  x = x - x.mean((1, 2), keepdims=True)
  return x / np.sqrt(np.prod(x.shape[1:]))


def motions(params, audio_params, batch, rng, config, anchor_params=None):
  """(phi_mg, phi_s, openings) of a batch of reference windows: motions (B, T - lookahead,
  68, 3), and with `anchor_params` the mouth's opening (B, T - lookahead) in phi_mg and in
  the anchor's motion on the same audio and noise (else None)."""
  run = mg_config(config)
  if "drive_log_mel" in batch:  # the targets (phi_s) are the reference's either way
    batch = dict(batch, log_mel=batch["drive_log_mel"])
  features, targets = motion.prepare(run, audio_params, batch)
  b, t = features.shape[:2]
  n = run.lookahead_frames
  white = jax.random.normal(rng, (t, b, targets["pose"].shape[-1]))
  temperatures, smoothing = motion.sampling(run)
  noise = jnp.swapaxes(motion.correlated_noise(white, run.pose_noise_seconds, n), 0, 1)
  noise = (noise @ motion.noise_mixing(run).T) * temperatures
  force = jnp.broadcast_to((jnp.arange(t) < n).astype(features.dtype), (b, t))
  run_with = lambda p: motion.motion_generator(run).apply(
      {"params": p}, features, targets["neutral"], noise=noise, force=force)[0]
  out = run_with(params)
  pose = motion.smooth_pose(out["pose_sample"][:, n:], smoothing, axis=1)
  w = config.critic.head_weight
  phi_mg = motion.style_motion(out["face"][:, n:], w * pose)
  phi_s = motion.style_motion(targets["face"], w * targets["pose"])
  openings = None
  if anchor_params is not None:
    anchor = jax.lax.stop_gradient(run_with(anchor_params)["face"][:, n:])
    openings = mouth.opening(out["face"][:, n:]), mouth.opening(anchor)
  return phi_mg, phi_s, openings


def keep_loss(openings) -> jax.Array:
  """L_keep (module doc) of the openings (B, T) of phi_mg and of the anchor's motion."""
  # No absolute epsilon: an untrained model's mouth moves by 1e-4 eye distances or less.
  return jnp.mean(1.0 - losses.pearson(*openings))


def style_losses(critic_params, phi_mg, phi_s, rng, config):
  """(L_sc, L_r, |mean feature difference|) of motions (B, T, 68, 3)."""
  f = _critic(config)
  x_mg = _cut_windows(phi_mg, config.critic.window)
  x_s = _cut_windows(phi_s, config.critic.window)
  delta = f.apply({"params": critic_params}, x_mg).mean(0) - f.apply(
      {"params": critic_params}, x_s).mean(0)
  l_sc = jnp.sum(delta ** 2)
  u = jax.lax.stop_gradient(delta / (jnp.linalg.norm(delta) + 1e-8))
  shape = (x_s.shape[0],) + (1,) * (x_s.ndim - 1)
  gamma = (jax.random.uniform(rng, shape) if config.loss.gamma < 0
           else jnp.full(shape, config.loss.gamma))
  # Windows are independent under f: the gradient of the sum is each window's own.
  l_r = losses.gradient_penalty(lambda x: f.apply({"params": critic_params}, x) @ u,
                                losses.interpolates(x_s, x_mg, gamma))
  return l_sc, l_r, jnp.sqrt(l_sc + 1e-12)


def transfer_loss(params, critic_params, audio_params, batch, rng, config,
                  anchor_params=None):
  """(L_transfer, parts); `anchor_params` (the frozen pre-trained Motion Generator) where
  L_keep is on."""
  mg_rng, motion_rng, gamma_rng = jax.random.split(rng, 3)
  total, parts = 0.0, {}
  if config.loss.mg_weight > 0:
    l_mg, mg_parts = motion.losses(params, audio_params, batch, mg_config(config), mg_rng)
    parts = {f"mg_{k}": v for k, v in mg_parts.items()}
    parts["l_mg"] = l_mg
    total = config.loss.mg_weight * l_mg
  if _uses_critic(config) or _keeps_sync(config):
    phi_mg, phi_s, openings = motions(params, audio_params, batch, motion_rng, config,
                                      anchor_params if _keeps_sync(config) else None)
  if _uses_critic(config):
    l_sc, l_r, distance = style_losses(critic_params, phi_mg, phi_s, gamma_rng, config)
    total = total + config.loss.sc_weight * l_sc + config.loss.r_weight * l_r
    parts.update(l_sc=l_sc, l_r=l_r, feature_distance=distance)
  if _keeps_sync(config):
    parts["l_keep"] = keep_loss(openings)
    total = total + config.loss.keep_weight * parts["l_keep"]
  return total, parts


def _critic_loss(critic_params, phi_mg, phi_s, rng, config):
  _, l_r, distance = style_losses(critic_params, phi_mg, phi_s, rng, config)
  return -distance + config.loss.r_weight * l_r, l_r


def train_step(state, batch, rng, *, config):
  rng, critic_rng = jax.random.split(rng)
  audio_params = state.get("audio_params")
  measurements = {}
  if _uses_critic(config) and config.critic.mode == "adversarial":
    phi_mg, phi_s, _ = jax.lax.stop_gradient(
        motions(state["params"], audio_params, batch, rng, config))
    state, _, measurements = adversarial.critic_update(
        state, lambda p, r: _critic_loss(p, phi_mg, phi_s, r, config),
        make_critic_optimizer(config), critic_rng, steps=config.critic.steps)
  joint = _uses_critic(config) and config.critic.mode == "joint"
  state, parts, measured = adversarial.generator_update(
      state, lambda p, c: transfer_loss(p, c, audio_params, batch, rng, config,
                                        state.get("anchor_params")),
      make_optimizer(config), critic_optimizer=make_critic_optimizer(config) if joint else None)
  return state, dict(measured, **parts, **measurements)


STAGE = base.Stage(name="style_transfer", init=init, train_step=train_step,
                   load_pretrained=load_pretrained, train_batches=train_batches)
