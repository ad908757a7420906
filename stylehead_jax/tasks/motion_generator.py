"""Stage motion_generator: audio features + neutral face -> phi_mg (stylehead_jax.motion).

Loss L_mg per frame (canonical faces in FACE_UNITS, see stylehead_jax.motion; computed by
`motion.losses`, which style_transfer fine-tunes with too):
  face:     sum_p w_p |F^_tp - F_tp|^2 / sum_p w_p, w_p = config.loss.mouth_weight on the
            20 mouth points, 1 elsewhere;
  velocity: the same on the frame-to-frame changes (F^_t - F^_t-1) - (F_t - F_t-1);
  pose:     Gaussian negative log-likelihood of the true pose vector under the predicted
            mean and sigma (teacher forcing), averaged over its POSE_SIZE values;
  opening:  1 - r, r the Pearson r over a window's frames of the mouth's opening
            (metrics/mouth.py) against the truth's, averaged over the windows whose true
            opening moves (`motion.opening_r`): when the mouth opens, not how wide;
  L_mg = face + velocity_weight velocity + pose_weight pose + opening_r_weight opening,
  over frames whose landmarks were detected (`valid`; interpolated frames of real footage
  do not teach).
The source (identity) frame of a window is its first frame, as at inference, where the
source is one portrait. The APC encoder (config.audio.encoder_workdir) stays frozen.

Evaluated by the "motion" evaluator (stylehead_jax/evaluators/motion.py): phi_mg over
whole eval clips against no-motion and shuffled-audio baselines.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from stylehead_jax import checkpoint
from stylehead_jax import motion
from stylehead_jax import optim
from stylehead_jax.tasks import base


def make_optimizer(config) -> optim.Optimizer:
  return optim.make(config.optimizer, config.total_steps)


def init(config, rng, batch):
  """Fresh state {step, params, opt_state, audio_params}. audio_params (the frozen APC
  encoder) are random here; `load_pretrained` fills in the trained ones."""
  params, audio_params = motion.init_params(config, rng, batch)
  state = {"step": jnp.zeros((), jnp.int32), "params": params,
           "opt_state": make_optimizer(config).init(params)}
  if audio_params is not None:
    state["audio_params"] = audio_params
  return state


def load_pretrained(state, config):
  """Puts the trained APC encoder of config.audio.encoder_workdir into a fresh state."""
  return checkpoint.load_into(state, config.audio.encoder_workdir, {"audio_params": "params"},
                              field="config.audio.encoder_workdir")


def train_step(state, batch, rng, *, config):
  (loss, parts), grads = jax.value_and_grad(motion.losses, has_aux=True)(
      state["params"], state.get("audio_params"), batch, config, rng)
  params, opt_state, measurements = make_optimizer(config).apply(
      state["params"], state["opt_state"], grads, state["step"])
  return (dict(state, step=state["step"] + 1, params=params, opt_state=opt_state),
          dict(loss=loss, **parts, **measurements))


STAGE = base.Stage(name="motion_generator", init=init, train_step=train_step,
                   load_pretrained=load_pretrained)
