"""Stage style_transfer: a trained Motion Generator fine-tuned to a style reference.

Data: one style reference clip, `config.style.reference`: "<split>/<clip_id>" of
config.data's builder, or a video file, tracked as talking_head_videos prepares one
(once; cached in config.style.cache_dir). Its frames inside `config.style.span` (fractions
of its length) train: windows of config.data.window_frames at seeded random starts.

Motion as f sees it: `motion.style_motion` (posed faces in FACE_UNITS about the source
head), cut into windows of config.critic.window frames, each centred on its mean point
and divided by the square root of its size (so |x| is a root-mean-square in FACE_UNITS).
  phi_s: the reference's tracked motion;
  phi_mg: the Motion Generator's free-running output on the reference's audio: the head
    pose fed back from its own samples (noise and temperature as at inference), i.e. the
    motion generation produces, not the teacher-forced one-step predictions L_mg trains.

Losses:
  L_mg: the Motion Generator's own loss (tasks/motion_generator.losses, with its run's
    weights) on the reference windows;
  L_sc = |mean_i f(phi_mg,i) - mean_i f(phi_s,i)|^2, f's last-layer features averaged
    over the batch's windows (feature matching);
  L_r = mean_i (|grad_x u . f(x)|_2 at x = phi^_i - 1)^2, phi^ = gamma phi_s
    + (1 - gamma) phi_mg, gamma ~ U(0, 1) per window (config.loss.gamma < 0) or fixed, u the
    unit direction of the feature-mean difference (held constant), by jax.grad;
  L_transfer = L_mg + sc_weight L_sc + r_weight L_r: what the Motion Generator descends.

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
from stylehead_jax import motion
from stylehead_jax import optim
from stylehead_jax.errors import ConfigError
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
  references.require_speech(clip, f"config.style.reference {config.style.reference}")
  window = config.data.window_frames
  start, stop = references.span(input_pipeline.num_frames(clip), config.style.span, window)
  span = input_pipeline.cut_clip({k: clip[k] for k in motion.FEATURES},
                                 start, stop)
  host_batch = config.batch_size // jax.process_count()
  for step in range(start_step, 1 << 62):
    rng = np.random.default_rng((config.seed, jax.process_index(), step))
    starts = rng.integers(0, stop - start - window + 1, host_batch)
    windows = [input_pipeline.cut_clip(span, s, s + window) for s in starts]
    yield jax.tree.map(lambda *x: np.stack(x), *windows)


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
  return adversarial.init_state(params, critic_params, make_optimizer(config),
                                make_critic_optimizer(config), **extra)


def load_pretrained(state, config):
  """Puts the Motion Generator checkpoint (and its audio encoder) into a fresh state."""
  return checkpoint.load_into(state, config.style.motion_generator_workdir,
                              {"params": "params", "audio_params": "audio_params"},
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


def motions(params, audio_params, batch, rng, config):
  """(phi_mg, phi_s) of a batch of reference windows, (B, T - lookahead, 68, 3) each."""
  run = mg_config(config)
  features, targets = motion.prepare(run, audio_params, batch)
  b, t = features.shape[:2]
  n = run.lookahead_frames
  white = jax.random.normal(rng, (t, b, targets["pose"].shape[-1]))
  temperatures, smoothing = motion.sampling(run)
  noise = jnp.swapaxes(motion.correlated_noise(white, run.pose_noise_seconds, n), 0, 1)
  noise = (noise @ motion.noise_mixing(run).T) * temperatures
  force = jnp.broadcast_to((jnp.arange(t) < n).astype(features.dtype), (b, t))
  out, _ = motion.motion_generator(run).apply(
      {"params": params}, features, targets["neutral"], noise=noise, force=force)
  pose = motion.smooth_pose(out["pose_sample"][:, n:], smoothing, axis=1)
  phi_mg = motion.style_motion(out["face"][:, n:], pose)
  phi_s = motion.style_motion(targets["face"], targets["pose"])
  return phi_mg, phi_s


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


def transfer_loss(params, critic_params, audio_params, batch, rng, config):
  """(L_transfer, parts)."""
  mg_rng, motion_rng, gamma_rng = jax.random.split(rng, 3)
  l_mg, parts = motion.losses(params, audio_params, batch, mg_config(config), mg_rng)
  parts = {f"mg_{k}": v for k, v in parts.items()}
  parts["l_mg"] = l_mg
  total = l_mg
  if _uses_critic(config):
    phi_mg, phi_s = motions(params, audio_params, batch, motion_rng, config)
    l_sc, l_r, distance = style_losses(critic_params, phi_mg, phi_s, gamma_rng, config)
    total = total + config.loss.sc_weight * l_sc + config.loss.r_weight * l_r
    parts.update(l_sc=l_sc, l_r=l_r, feature_distance=distance)
  return total, parts


def _critic_loss(critic_params, phi_mg, phi_s, rng, config):
  _, l_r, distance = style_losses(critic_params, phi_mg, phi_s, rng, config)
  return -distance + config.loss.r_weight * l_r, l_r


def train_step(state, batch, rng, *, config):
  rng, critic_rng = jax.random.split(rng)
  audio_params = state.get("audio_params")
  measurements = {}
  if _uses_critic(config) and config.critic.mode == "adversarial":
    phi_mg, phi_s = jax.lax.stop_gradient(
        motions(state["params"], audio_params, batch, rng, config))
    state, _, measurements = adversarial.critic_update(
        state, lambda p, r: _critic_loss(p, phi_mg, phi_s, r, config),
        make_critic_optimizer(config), critic_rng, steps=config.critic.steps)
  joint = _uses_critic(config) and config.critic.mode == "joint"
  state, parts, measured = adversarial.generator_update(
      state, lambda p, c: transfer_loss(p, c, audio_params, batch, rng, config),
      make_optimizer(config), critic_optimizer=make_critic_optimizer(config) if joint else None)
  return state, dict(measured, **parts, **measurements)


STAGE = base.Stage(name="style_transfer", init=init, train_step=train_step,
                   load_pretrained=load_pretrained, train_batches=train_batches)
