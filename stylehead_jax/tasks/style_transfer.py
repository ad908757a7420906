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

The evaluator generates with the untransferred Motion Generator (its checkpoint,
"before_*") and the transferred one ("after_*") from the same source frames and seeds,
and scores both against the tracked motion of the evaluation clips (config.eval.clips):
"style": the eval split's clips in the reference's style by other speakers (the synthetic
world's `style` label), "rest": the reference clip's frames after its span. SLD, SLV, SMD
(stylehead_jax.metrics.style_metrics, clean protocol) against those clips' own motion,
which is in the target style, and LMD for lip sync; `*_change` = after / before - 1.
`sld_true_head` and `slv_true_head` score the generated face re-posed on the clip's own
head motion: the expression part of the style, apart from head sway, whose phase no
audio-driven model can know (in the synthetic world it is random per utterance, and it
dominates SLD). `still_head_sld` / `_slv` / `_smd` score the clip's own face on its head
held at the first frame's pose: a perfect expression without head motion, the reference
line for how far SLD can fall without knowing the sway.
"""

from __future__ import annotations

import hashlib
import os

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np
import optax

from data_prep.talking_head_videos import talking_head_videos as thv
from stylehead_jax import checkpoint
from stylehead_jax import input_pipeline
from stylehead_jax import metrics
from stylehead_jax import motion
from stylehead_jax.landmarks import facial_map
from stylehead_jax.landmarks import pose as pose_lib
from stylehead_jax.models import style_transfer as style_net
from stylehead_jax.style import templates
from stylehead_jax.tasks import ConfigError
from stylehead_jax.tasks import motion_generator as mg_task

FEATURES = mg_task.FEATURES
CLIP_FEATURES = FEATURES + ("clip_id", "speaker_id")
METRICS = ("sld", "slv", "smd", "lmd", "sld_true_head", "slv_true_head")
MODES = ("adversarial", "joint")


def mg_config(config):
  """The config of the Motion Generator run being fine-tuned."""
  workdir = config.style.motion_generator_workdir
  if not workdir:
    raise ConfigError("config.style.motion_generator_workdir is empty: train the "
                     "motion_generator stage first and point it there")
  return motion.read_run_config(os.path.abspath(workdir))


def _critic(config) -> style_net.StyleNetwork:
  return style_net.StyleNetwork(tuple(config.critic.features))


def _uses_critic(config) -> bool:
  return config.loss.sc_weight > 0 or config.loss.r_weight > 0


def make_critic_optimizer(config):
  return optax.adam(config.critic.lr, b1=0.5, b2=0.9)  # the WGAN-GP settings


# --- Reference and data -----------------------------------------------------------------
def _is_video(reference: str) -> bool:
  return os.path.splitext(reference)[1].lower() in thv.VIDEO_SUFFIXES


def _video_reference(path: str, config) -> dict:
  """A video's longest face segment as a clip, tracked once and cached as .npz."""
  path = os.path.abspath(path)
  if not os.path.isfile(path):
    raise ConfigError(f"config.style.reference: {path} does not exist")
  stat = os.stat(path)
  key = hashlib.sha256(repr((path, stat.st_size, stat.st_mtime_ns,
                             config.style.video_resolution)).encode()).hexdigest()[:16]
  cache_dir = os.path.expanduser(config.style.cache_dir or "~/.cache/stylehead_jax/styles")
  cached = os.path.join(cache_dir, f"{os.path.basename(path)}-{key}.npz")
  if os.path.exists(cached):
    with np.load(cached) as z:
      flat = dict(z)
  else:
    prep = thv.PrepConfig(resolution=config.style.video_resolution)
    root, name = os.path.split(path)
    segments = [ex for _, ex in thv.prepare_video(root, name, 0.0, prep)]
    if not segments:
      raise ConfigError(f"config.style.reference: {path}: no usable face track (see the "
                       "warning above)")
    example = max(segments, key=lambda ex: len(ex["landmarks"]))
    flat = {k: example[k] for k in ("log_mel", "landmarks", "torso", "valid")}
    flat["rotation"] = example["head_pose"]["rotation"]
    flat["translation"] = example["head_pose"]["translation"]
    os.makedirs(cache_dir, exist_ok=True)
    np.savez(cached, **flat)
    logging.info("style reference %s: %d frames tracked, cached in %s", path,
                 len(flat["landmarks"]), cached)
  clip = {k: flat[k] for k in ("log_mel", "landmarks", "torso", "valid")}
  clip["head_pose"] = {"rotation": flat["rotation"], "translation": flat["translation"]}
  clip["clip_id"] = os.path.basename(path).encode()
  clip["speaker_id"] = os.path.basename(path).encode()
  return clip


def reference_clip(builder, config) -> dict:
  """The whole style reference clip (numpy), with its "style" label where it has one."""
  ref = config.style.reference
  if not ref:
    raise ConfigError("config.style.reference is empty: give '<split>/<clip_id>' of "
                     "config.data or a video path")
  if _is_video(ref):
    return _video_reference(ref, config)
  split, _, clip_id = ref.partition("/")
  if builder is None or not clip_id:
    raise ConfigError(f"config.style.reference={ref!r}: expected '<split>/<clip_id>' of "
                     "config.data's dataset, or a video file")
  features = CLIP_FEATURES + (("style",) if "style" in builder.info.features else ())
  for clip in input_pipeline.clips(builder, split, features):
    if clip["clip_id"].decode() == clip_id:
      return clip
  raise ConfigError(f"config.style.reference: no clip {clip_id!r} in the {split!r} split "
                   f"of {builder.name}")


def _span(config, frames: int) -> tuple[int, int]:
  start, stop = (int(round(f * frames)) for f in config.style.span)
  if stop - start < config.data.window_frames:
    raise ConfigError(f"config.style.span={tuple(config.style.span)} leaves {stop - start} "
                     f"frames of the reference, fewer than one window "
                     f"({config.data.window_frames})")
  return start, stop


def train_batches(builder, config, *, start_step: int = 0):
  """Endless batches of windows of the reference's span; batch k is a pure function of
  (config.seed, k), so a resumed run sees the batches an uninterrupted one would."""
  clip = reference_clip(builder, config)
  start, stop = _span(config, input_pipeline.num_frames(clip))
  span = input_pipeline.cut_clip({k: clip[k] for k in FEATURES}, start, stop)
  window = config.data.window_frames
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
  mg_rng, critic_rng = jax.random.split(rng)
  state = mg_task.init(mg_config(config), mg_rng, batch)
  state["opt_state"] = mg_task.make_optimizer(config).init(state["params"])
  windows = jnp.zeros((1, config.critic.window) + batch["landmarks"].shape[2:3] + (3,))
  critic_params = _critic(config).init(critic_rng, windows)["params"]
  state["critic_params"] = critic_params
  state["critic_opt_state"] = make_critic_optimizer(config).init(critic_params)
  return state


def load_pretrained(state, config):
  """Puts the Motion Generator checkpoint (and its audio encoder) into a fresh state."""
  workdir = os.path.abspath(config.style.motion_generator_workdir)
  try:
    loaded = checkpoint.load_state(checkpoint.checkpoint_dir(workdir))
  except FileNotFoundError as e:
    raise ConfigError(f"config.style.motion_generator_workdir: {e}") from None
  out = dict(state)
  for name in ("params", "audio_params"):
    if name not in state:
      continue
    if jax.tree.map(jnp.shape, loaded[name]) != jax.tree.map(jnp.shape, state[name]):
      raise ConfigError(f"{workdir}: its {name} do not match its config.json")
    shardings = jax.tree.map(lambda x: x.sharding, state[name])
    out[name] = jax.device_put(loaded[name], shardings)
  return out


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
  features, targets = mg_task.prepare(run, audio_params, batch)
  b, t = features.shape[:2]
  n = run.lookahead_frames
  white = jax.random.normal(rng, (t, b, targets["pose"].shape[-1]))
  noise = jnp.swapaxes(motion.correlated_noise(white, run.pose_noise_seconds), 0, 1)
  force = jnp.broadcast_to((jnp.arange(t) < n).astype(features.dtype), (b, t))
  out, _ = motion.motion_generator(run).apply(
      {"params": params}, features, targets["neutral"], noise=noise, force=force,
      temperature=run.pose_temperature)
  phi_mg = motion.style_motion(out["face"][:, n:], out["pose_sample"][:, n:])
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
  mixed = gamma * x_s + (1 - gamma) * x_mg
  # Windows are independent under f: the gradient of the sum is each window's own.
  grads = jax.grad(lambda x: (f.apply({"params": critic_params}, x) @ u).sum())(mixed)
  norms = jnp.sqrt((grads ** 2).sum(tuple(range(1, grads.ndim))) + 1e-12)
  l_r = jnp.mean((norms - 1.0) ** 2)
  return l_sc, l_r, jnp.sqrt(l_sc + 1e-12)


def transfer_loss(params, critic_params, audio_params, batch, rng, config):
  """(L_transfer, parts)."""
  mg_rng, motion_rng, gamma_rng = jax.random.split(rng, 3)
  l_mg, parts = mg_task.losses(params, audio_params, batch, mg_config(config), mg_rng)
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
  l_sc, l_r, distance = style_losses(critic_params, phi_mg, phi_s, rng, config)
  return -distance + config.loss.r_weight * l_r, l_r


def train_step(state, batch, rng, *, config):
  rng, critic_rng = jax.random.split(rng)
  audio_params = state.get("audio_params")
  critic_params, critic_opt_state = state["critic_params"], state["critic_opt_state"]
  measurements = {}
  if _uses_critic(config) and config.critic.mode == "adversarial":
    phi_mg, phi_s = jax.lax.stop_gradient(
        motions(state["params"], audio_params, batch, rng, config))
    critic_tx = make_critic_optimizer(config)
    for k in range(config.critic.steps):
      (critic_loss, _), grads = jax.value_and_grad(_critic_loss, has_aux=True)(
          critic_params, phi_mg, phi_s, jax.random.fold_in(critic_rng, k), config)
      updates, critic_opt_state = critic_tx.update(grads, critic_opt_state, critic_params)
      critic_params = optax.apply_updates(critic_params, updates)
    measurements["critic_loss"] = critic_loss

  (loss, parts), (grads, critic_grads) = jax.value_and_grad(
      transfer_loss, argnums=(0, 1), has_aux=True)(
          state["params"], critic_params, audio_params, batch, rng, config)
  if _uses_critic(config) and config.critic.mode == "joint":
    updates, critic_opt_state = make_critic_optimizer(config).update(
        critic_grads, critic_opt_state, critic_params)
    critic_params = optax.apply_updates(critic_params, updates)
  tx = mg_task.make_optimizer(config)
  updates, opt_state = tx.update(grads, state["opt_state"], state["params"])
  params = optax.apply_updates(state["params"], updates)
  measurements.update(loss=loss, **parts, grad_norm=optax.global_norm(grads),
                      learning_rate=mg_task.make_schedule(config)(state["step"]))
  return dict(state, step=state["step"] + 1, params=params, opt_state=opt_state,
              critic_params=critic_params, critic_opt_state=critic_opt_state), measurements


# --- Evaluation -------------------------------------------------------------------------
def eval_clips(builder, config, reference: dict) -> list[dict]:
  """The clips the evaluator scores (config.eval.clips, see the module docstring)."""
  if config.eval.clips == "rest":
    frames = input_pipeline.num_frames(reference)
    _, stop = _span(config, frames)
    if frames - stop < config.eval.min_frames:
      raise ConfigError(f"config.eval.clips='rest': {frames - stop} frames after "
                       f"config.style.span, fewer than config.eval.min_frames "
                       f"({config.eval.min_frames})")
    return [input_pipeline.cut_clip(reference, stop, frames)]
  if config.eval.clips != "style":
    raise ConfigError(f"config.eval.clips={config.eval.clips!r}: 'style' or 'rest'")
  if builder is None:
    raise ConfigError("config.eval.clips='style' needs config.data (a dataset to draw from)")
  styled = "style" in reference and "style" in builder.info.features
  features = CLIP_FEATURES + (("style",) if styled else ())
  out = []
  for clip in input_pipeline.clips(builder, config.data.eval_split, features):
    if clip["speaker_id"] == reference["speaker_id"]:
      continue
    if styled and clip["style"] != reference["style"]:
      continue
    if input_pipeline.num_frames(clip) >= config.eval.min_frames:
      out.append(clip)
    if len(out) == config.eval.max_clips:
      break
  if not out:
    raise ConfigError(f"no clip of split {config.data.eval_split!r} to evaluate on (other "
                     "speakers, the reference's style)")
  return out


def _on_head(landmarks, rotation, translation, head_rotation, head_translation):
  """A track's face (its pose removed) posed by other head motion (or one pose)."""
  face = pose_lib.canonical_face(landmarks, rotation, translation)
  return pose_lib.posed_landmarks(face, head_rotation, head_translation)


def _scores(generated: motion.MotionTrack, clip) -> dict[str, float]:
  truth, head = clip["landmarks"], clip["head_pose"]
  style = metrics.style_metrics(truth, generated.landmarks)
  # The generated face on the clip's own head motion: the expression part of the style.
  face_style = metrics.style_metrics(truth, _on_head(
      generated.landmarks, generated.rotation, generated.translation,
      head["rotation"], head["translation"]))
  return {"sld": style["sld"], "slv": style["slv"], "smd": style["smd"],
          "lmd": metrics.lmd(generated.landmarks, truth),
          "sld_true_head": face_style["sld"], "slv_true_head": face_style["slv"]}


def evaluate(state, builder, config) -> tuple[dict, dict]:
  """Before / after metrics (module docstring) and sample images."""
  before = motion.load(config.style.motion_generator_workdir)
  after = motion.MotionModel(before.config, jax.device_get(state["params"]),
                             jax.device_get(state.get("audio_params")))
  reference = reference_clip(builder, config)
  clips = eval_clips(builder, config, reference)
  resolution = _resolution(builder, config)
  rng = jax.random.key(config.eval.seed)
  rows, images = [], {}
  for i, clip in enumerate(clips):
    truth = clip["landmarks"]
    kwargs = dict(source_pose=(clip["head_pose"]["rotation"][0],
                               clip["head_pose"]["translation"][0]),
                  source_torso=clip["torso"][0], resolution=resolution,
                  chunk_frames=config.eval.chunk_frames)
    key = jax.random.fold_in(rng, i)
    row, tracks = {"frames": len(truth)}, {}
    for name, model in (("before", before), ("after", after)):
      generated = motion.generate_motion(clip["log_mel"], truth[0], model, key, **kwargs)
      tracks[name] = generated.landmarks
      row.update({f"{name}_{k}": v for k, v in _scores(generated, clip).items()})
    head = clip["head_pose"]
    still = _on_head(truth, head["rotation"], head["translation"], head["rotation"][:1],
                     head["translation"][:1])
    row.update({f"still_head_{k}": v for k, v in metrics.style_metrics(truth, still).items()
                if k in ("sld", "slv", "smd")})
    rows.append(row)
    if i == 0:
      images["facial_map_truth_before_after"] = _facial_maps(
          (truth, tracks["before"], tracks["after"]), resolution, config.eval.num_image_frames)
  measurements = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "frames"}
  for k in METRICS:
    measurements[f"{k}_change"] = measurements[f"after_{k}"] / measurements[f"before_{k}"] - 1
  measurements["num_clips"] = len(rows)
  measurements["num_frames"] = int(sum(r["frames"] for r in rows))
  start, stop = _span(config, input_pipeline.num_frames(reference))
  chosen = templates.retrieve(reference["landmarks"][start:stop])
  images["style_reference_none_m_r_o"] = _facial_maps(
      (chosen.landmarks,), resolution, len(chosen.names))
  return measurements, images


def _resolution(builder, config) -> int:
  """The crop size the reference and evaluation tracks are in."""
  if builder is None or _is_video(config.style.reference):
    return config.style.video_resolution
  return int(builder.info.features["frames"].shape[1])


def _facial_maps(tracks, resolution, num) -> np.ndarray:
  """(num, len(tracks) R, R, 3) in [0, 1]: facial maps of evenly spaced frames, the
  tracks stacked top to bottom."""
  idx = np.linspace(0, len(tracks[0]) - 1, num).astype(int)
  columns = [np.concatenate([facial_map.render_facial_map(t[i], resolution) for t in tracks], 0)
             for i in idx]
  return np.stack(columns).astype(np.float32) / 255.0
