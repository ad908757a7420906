"""Style Mapping's shared parts: inputs, losses and ISP generation (the stage in
tasks/style_mapping.py; the isp evaluator and `animate` read the same definitions).

Losses of one frame pair (I_s, I_r) with I_o = SM(I_s, I_r), each weighted by
config.loss.<name>_weight:
  perceptual:     vgg16 pyramid (perceptual.vgg_pyramid_loss) or the l1_ssim fallback;
  equivariance:   |C̄(I_r) - T(C̄(T^-1 I_r))| on x, y, T a random affine + thin-plate map;
  keypoint_prior: sum_{i != j} relu(D - |C̄_i - C̄_j|^2) + |mean_k z_k - z_target|;
  deformation:    mean |ε̄_k| (the expression deltas stay small);
  pose:           |angles - tracked angles| in radians, for I_s and I_r, plus
                  |(τ̄ - tau)_xy - (nose_r - nose_s)| in normalised units: the dataset's
                  PnP head pose stands in for the anchors' pretrained Hopenet. Translation
                  is supervised as the nose's displacement between the frames only (the
                  keypoints' origin is the network's own), and depth not at all;
  gan, feature_matching (tasks/style_mapping.py: they need the discriminator).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from stylehead_jax import perceptual
from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.landmarks import pose as pose_lib
from stylehead_jax.models import layers
from stylehead_jax.models import style_mapping
from stylehead_jax.render import sampling

FEATURES = ("frames", "landmarks", "head_pose")


def output_size(config) -> int:
  return config.image_size * 2 ** config.model.extra_up


def images(source, driving, config) -> dict:
  """uint8 frames (B, H, W, 3) of sources and references -> float images in [0, 1]:
  "source" and "driving" at the model's input size, "target" (the driving frame) at its
  output size."""
  source, driving = layers.to_unit(source), layers.to_unit(driving)
  return {"source": sampling.resize(source, config.image_size),
          "driving": sampling.resize(driving, config.image_size),
          "target": sampling.resize(driving, output_size(config))}


def make_isps(config, params, source, references, source_points, target_points):
  """ISPs I_o = SM(I_s, I_r) (N, S', S', 3) at the output size, of float images in [0, 1]
  of any size (resized to the input size): one source (H, W, 3) with its landmarks (68, 2+)
  and N references (N, H', W', 3) with the landmarks each I_o should have (N, 68, 2+),
  all normalised (sampling.normalised). What the Style-Aware Generator's stage (its
  `isp_source` "style_mapping") and `animate` call."""
  n = references.shape[0]
  size = config.image_size
  source = jnp.broadcast_to(sampling.resize(source[None], size), (n, size, size, 3))
  out = style_mapping.make_model(config).apply(
      {"params": params}, source, sampling.resize(references, size),
      jnp.broadcast_to(source_points, (n,) + source_points.shape), target_points)
  return jax.lax.stop_gradient(out["image"])


def prepare(pair: dict, config) -> dict:
  """A batch of frame pairs (input_pipeline.train_pairs) -> `images`, the landmarks
  normalised ("source_points", "driving_points": the target's are the reference's own in
  self-reenactment) and the tracked poses (angles in degrees, the nose's shift in
  normalised units)."""
  resolution = pair["source"]["frames"].shape[1]
  return {
      **images(pair["source"]["frames"], pair["driving"]["frames"], config),
      "source_points": sampling.normalised(pair["source"]["landmarks"], resolution),
      "driving_points": sampling.normalised(pair["driving"]["landmarks"], resolution),
      "source_angles": pose_lib.angles_from_rotation(pair["source"]["head_pose"]["rotation"]),
      "driving_angles": pose_lib.angles_from_rotation(pair["driving"]["head_pose"]["rotation"]),
      "nose_shift": (pair["driving"]["head_pose"]["translation"][:, :2]
                     - pair["source"]["head_pose"]["translation"][:, :2]) * 2 / resolution,
  }


def keypoint_prior(keypoints, distance: float, depth: float):
  """sum_{i != j} relu(distance - |C_i - C_j|^2) + |mean_k z_k - depth|, batch mean."""
  d2 = jnp.sum((keypoints[:, :, None] - keypoints[:, None]) ** 2, -1)
  k = keypoints.shape[1]
  off_diagonal = 1 - jnp.eye(k)
  spread = jnp.sum(jax.nn.relu(distance - d2) * off_diagonal, (1, 2))
  return jnp.mean(spread + jnp.abs(keypoints[..., 2].mean(-1) - depth))


def deformation_prior(expression):
  """mean |eps_k|."""
  return jnp.mean(jnp.abs(expression))


def pose_loss(source_pose, driving_pose, inputs):
  """Angles vs the tracked head pose (radians) and the translation's change vs the
  nose's (module docstring)."""
  angles = (jnp.mean(jnp.abs(source_pose["angles"] - inputs["source_angles"]))
            + jnp.mean(jnp.abs(driving_pose["angles"] - inputs["driving_angles"])))
  shift = driving_pose["translation"][:, :2] - source_pose["translation"][:, :2]
  return jnp.deg2rad(angles) / 2 + jnp.mean(jnp.abs(shift - inputs["nose_shift"]))


def equivariance_loss(model, params, image, keypoints, rng, config):
  """|C̄(I)_xy - T(C̄(I')_xy)| with I' = I warped by a random T (I'(p) = I(T(p)))."""
  eq = config.equivariance
  transform = sampling.random_transform(rng, image.shape[0], affine_sigma=eq.affine_sigma,
                                        tps_sigma=eq.tps_sigma, tps_points=eq.tps_points)
  moved = sampling.warp_image(image, transform)
  moved_kp = model.apply({"params": params}, moved, method=model.driving_keypoints)
  return jnp.mean(jnp.abs(keypoints[..., :2] - transform(moved_kp[..., :2])))


def perceptual_loss(kind: str, vgg_params, prediction, target, config):
  lc = config.loss
  if kind == "vgg16":
    return perceptual.vgg_pyramid_loss(vgg_params, prediction, target,
                                       scales=lc.perceptual_scales,
                                       num_blocks=lc.perceptual_blocks)
  return perceptual.l1_ssim_pyramid_loss(prediction, target, scales=lc.perceptual_scales)


def reconstruction_losses(params, inputs, rng, config, *, vgg_params=None):
  """Every loss that needs no discriminator: ({name: value}, model output)."""
  model = style_mapping.make_model(config)
  lc = config.loss
  out = model.apply({"params": params}, inputs["source"], inputs["driving"],
                    inputs["source_points"], inputs["driving_points"])
  own_kp = model.apply({"params": params}, inputs["driving"], method=model.driving_keypoints)
  terms = {
      "perceptual": perceptual_loss(perceptual.resolve_loss_kind(lc.perceptual), vgg_params,
                                    out["image"], inputs["target"], config),
      "equivariance": equivariance_loss(model, params, inputs["driving"], own_kp, rng, config),
      "keypoint_prior": keypoint_prior(out["driving_kp"], lc.keypoint_distance,
                                       lc.keypoint_depth),
      "deformation": deformation_prior(out["driving_pose"]["expression"]),
      "pose": pose_loss(out["source_pose"], out["driving_pose"], inputs),
  }
  return terms, out


def weighted_sum(terms: dict, config) -> jax.Array:
  return sum(config.loss[f"{name}_weight"] * value for name, value in terms.items())


def random_pairs(batch: int, size: int, seed: int = 0) -> dict:
  """A batch of frame pairs of random pixels, the mean face's landmarks, frontal poses
  (benchmarks and tests: the step's cost does not depend on the pixels)."""
  rng = np.random.default_rng(seed)
  face = np.concatenate([lmk.MEAN_FACE_3D[:, :2] * size / 2 + size / 2,
                         np.zeros((68, 1))], -1).astype(np.float32)
  part = lambda: {"frames": rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8),
                  "landmarks": np.tile(face, (batch, 1, 1)),
                  "head_pose": {"rotation": np.tile(np.eye(3, dtype=np.float32), (batch, 1, 1)),
                                "translation": np.full((batch, 3), size / 2, np.float32)}}
  return {"source": part(), "driving": part()}
