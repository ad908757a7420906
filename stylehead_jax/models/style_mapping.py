"""Style Mapping: a neutral portrait I_s and a style reference I_r -> the Intermediate
Style Pattern I_o (I_s's identity in I_r's pose and expression).

  c_k             = KeypointExtractor(I_s)               canonical keypoints (identity)
  R, tau, eps_k   = PoseExpression(I_s)                  the source's pose and expression
  R̄, τ̄, ε̄_k      = PoseExpression(I_r)                  the reference's
  C_k = c_k R + tau + eps_k,  C̄_k = c_k R̄ + τ̄ + ε̄_k     equations (1), (2): `posed_keypoints`
  f_s             = AppearanceEncoder(I_s)
  w, o            = DenseMotion(f_s, C_k, C̄_k, R, R̄)     flow to the source, occlusion
  I_o             = IntermediateGenerator(W(f_s, w), o)  W: trilinear sampling
  candidates, blended with I_o by the generator's per-pixel softmax weights:
    image_skip:         W2(I_s, w), the source image warped bilinearly by the flow's x, y
                        averaged over depth;
    landmark_guidance:  W2(I_s, g), I_s warped piecewise-affinely by the 68 landmarks of
                        I_s and the target (render/warp.landmark_flow); g also joins the
                        dense motion as one more proposal.

landmark_guidance is ours, not the paper's: the keypoints learned unsupervised from a few
thousand CPU steps place the mouth less precisely than the tracked landmarks do, and the
landmarks exist wherever an ISP is made (the dataset's tracks in training, the portrait's
and the retargeted template landmarks at inference). The network keeps the keypoint
flows and learns, per pixel, which motion and which candidate to trust. `guide_prior`
(a fixed logit added to the landmark warp's blend weight) starts the map at that warp,
the training-free renderer, so that a small training set refines it rather than
replaces it.

C̄_k reuses the source's c_k, as the paper says: the reference contributes only its pose
and expression, never its identity. Four references (the key motion templates
None/M/R/O, style/templates.retrieve) give the four ISP images of the Style-Aware
Generator.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from stylehead_jax.landmarks import pose as pose_lib
from stylehead_jax.models import appearance_encoder
from stylehead_jax.models import dense_motion
from stylehead_jax.models import intermediate_generator
from stylehead_jax.models import keypoint_extractor
from stylehead_jax.models import layers
from stylehead_jax.models import pose_expression
from stylehead_jax.render import sampling
from stylehead_jax.render import warp


def posed_keypoints(canonical, rotation, translation, expression):
  """Equations (1) and (2): C_k = c_k R + tau + eps_k.

  canonical c_k (B, K, 3), rotation R (B, 3, 3), translation tau (B, 3), expression
  eps_k (B, K, 3) -> C_k (B, K, 3). The paper writes points as rows (c_k R); our R is
  landmarks/pose.py's, which acts on columns, so the row form here is c_k R^T.
  """
  return (jnp.einsum("bij,bkj->bki", rotation, canonical) + translation[:, None]
          + expression)


class StyleMapping(nn.Module):
  """The five networks of the stage (sizes: the full config's, face-vid2vid's widths);
  methods give each part, __call__ the whole map."""
  num_keypoints: int = 15
  keypoint_widths: Sequence[int] = (64, 128, 256, 512)
  keypoint_depth: int = 16
  keypoint_temperature: float = 0.1
  keypoint_variance: float = 0.01
  pose_widths: Sequence[int] = (64, 128, 256, 512)
  encoder_widths: Sequence[int] = (128, 256)
  volume_depth: int = 16
  volume_channels: int = 32
  encoder_blocks: int = 6
  motion_widths: Sequence[int] = (64, 128, 256, 512, 1024)
  motion_compressed: int = 5
  generator_features: int = 256
  generator_blocks: int = 6
  extra_up: int = 1  # 256 px in, 512 px out
  image_skip: bool = True
  landmark_guidance: bool = False
  guide_prior: float = 0.0  # initial blend logit of the landmark warp over the others

  def setup(self):
    self.keypoints = keypoint_extractor.KeypointExtractor(
        num_keypoints=self.num_keypoints, widths=tuple(self.keypoint_widths),
        depth=self.keypoint_depth, temperature=self.keypoint_temperature)
    self.pose_expression = pose_expression.PoseExpression(
        num_keypoints=self.num_keypoints, widths=tuple(self.pose_widths))
    self.appearance = appearance_encoder.AppearanceEncoder(
        widths=tuple(self.encoder_widths), depth=self.volume_depth,
        channels=self.volume_channels, num_blocks=self.encoder_blocks)
    self.dense_motion = dense_motion.DenseMotion(
        widths=tuple(self.motion_widths), compressed=self.motion_compressed,
        variance=self.keypoint_variance)
    self.generator = intermediate_generator.IntermediateGenerator(
        features=self.generator_features, num_blocks=self.generator_blocks,
        widths=tuple(self.encoder_widths[::-1]), extra_up=self.extra_up,
        candidates=self.image_skip + self.landmark_guidance,
        prior_logits=(None if not (self.landmark_guidance and self.guide_prior) else
                      (0.0,) * (1 + self.image_skip) + (self.guide_prior,)))

  def pose(self, image):
    """{"angles", "translation", "expression", "rotation"} of an image."""
    out = self.pose_expression(image)
    angles = out["angles"]
    return dict(out, rotation=pose_lib.rotation_from_angles(
        angles[:, 0], angles[:, 1], angles[:, 2]))

  def driving_keypoints(self, image):
    """C_k of an image posed by its own pose and expression (the equivariance loss)."""
    p = self.pose(image)
    return posed_keypoints(self.keypoints(image), p["rotation"], p["translation"],
                           p["expression"])

  def __call__(self, source, reference, source_points=None, target_points=None):
    """source I_s, reference I_r (B, H, W, 3) in [0, 1] [, the 68 landmarks (B, 68, 2+)
    of I_s and of the target, normalised (render/sampling.normalised): landmark_guidance]
    -> {"image": I_o, "source_kp": C_k, "driving_kp": C̄_k, "canonical": c_k,
    "source_pose", "driving_pose", "occlusion", "weights"}."""
    if self.landmark_guidance and (source_points is None or target_points is None):
      raise ValueError("landmark_guidance needs the landmarks of I_s and of the target")
    canonical = self.keypoints(source)
    source_pose, driving_pose = self.pose(source), self.pose(reference)
    source_kp = posed_keypoints(canonical, source_pose["rotation"],
                                source_pose["translation"], source_pose["expression"])
    driving_kp = posed_keypoints(canonical, driving_pose["rotation"],
                                 driving_pose["translation"], driving_pose["expression"])
    volume = self.appearance(source)
    guide = None
    if self.landmark_guidance:
      guide = warp.landmark_flow(source_points, target_points, volume.shape[2:4])
    motion = self.dense_motion(volume, source_kp, driving_kp, source_pose["rotation"],
                               driving_pose["rotation"], guide)
    warped = sampling.sample(volume, motion["flow"])
    image, weights = self.generator(warped, motion["occlusion"])
    size = image.shape[1]
    candidates = []
    if self.image_skip:
      candidates.append(warp_source(source, motion["flow"], size))
    if self.landmark_guidance:
      candidates.append(sampling.sample(
          sampling.resize(source, size),
          warp.landmark_flow(source_points, target_points, (size, size))))
    if candidates:
      image = layers.blend(image, weights, candidates)
    return {"image": image, "source_kp": source_kp, "driving_kp": driving_kp,
            "canonical": canonical, "source_pose": source_pose,
            "driving_pose": driving_pose, "occlusion": motion["occlusion"],
            "weights": weights}


def warp_source(source: jax.Array, flow: jax.Array, size: int) -> jax.Array:
  """The source image (B, H, W, 3) resampled at `size` x `size` by the x, y of a volume
  flow (B, D, h, w, 3) averaged over depth (upsampled linearly)."""
  flow_2d = flow[..., :2].mean(1)
  return sampling.sample(sampling.resize(source, size), sampling.resize(flow_2d, size))


def make_model(config) -> StyleMapping:
  return StyleMapping(**config.model)

