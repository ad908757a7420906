"""Evaluator "isp": Style Mapping's ISP images on held-out speakers, against two baselines.

Pairs, from the first `max_clips` clips of the eval split (held-out speakers):
  same identity: I_s the clip's first frame, I_r each of its four template frames
    (style/templates.retrieve: None, M, R, O); the truth is I_r;
  cross identity (the real use): I_s of one clip, I_r the template frames of the next
    clip of another speaker; the target landmarks are render/warp.retarget's (the
    portrait's face with I_r's expression, relative to that clip's "None" frame, in
    I_r's pose).
Measurements (prefix "" for I_o, "warp_" for render/warp.py's piecewise-affine warp of
I_s to the target landmarks, "source_" for I_s unchanged):
  lpips (AlexNet LPIPS, perceptual.lpips), psnr_face (pixels whose region label of I_r is
  > 0), ssim: same identity, against I_r;
  landmark_error_px: the project's dlib tracker on the image (enlarged to
    `tracker_size`), mean distance to I_r's landmarks, in pixels of a 512 crop;
  identity_distance: dlib face descriptors of the image and I_s (metrics/identity.py);
  cross_identity_distance, cross_landmark_error_px: the same on cross pairs (landmarks
    against the retargeted target).
Also `truth_landmark_error_px` (the tracker on I_r itself: the floor of the landmark
error) and `detection_rate` (where the detector finds no face in an image, the predictor
runs in the box of the expected landmarks). The baselines do not change with training
and are computed once. Images: I_s | I_r | warp | I_o, keypoints C_k drawn on I_s and C̄_k
on I_o, and the blend weights of I_o's candidates.

The model gets the landmarks of I_s and of the target (I_r's own, or the retargeted ones
of a cross pair) where its config has landmark_guidance, as `animate` gives them.
"""

from __future__ import annotations

import functools

import cv2
import jax
import jax.numpy as jnp
import numpy as np

from stylehead_jax import input_pipeline
from stylehead_jax import isp
from stylehead_jax import perceptual
from stylehead_jax.errors import ConfigError
from stylehead_jax.evaluators import base
from stylehead_jax.evaluators import faces
from stylehead_jax.metrics import images as image_metrics
from stylehead_jax.models import style_mapping
from stylehead_jax.render import sampling
from stylehead_jax.render import warp
from stylehead_jax.style import templates

CLIP_FEATURES = ("frames", "landmarks", "head_pose", "region_maps", "speaker_id")
PREFIXES = ("", "warp_", "source_")


def _apply(params, sources, references, source_points, target_points, *, config):
  out = style_mapping.make_model(config).apply({"params": params}, sources, references,
                                               source_points, target_points)
  keep = ("image", "source_kp", "driving_kp") + (("weights",) if out["weights"] is not None
                                                 else ())
  return {k: out[k] for k in keep}


def _lpips(weights, a, b):
  return perceptual.lpips(weights, a, b, "alexnet")


class Evaluator(base.Evaluator):

  def __init__(self, context, config, eval_config):
    super().__init__(context, config, eval_config)
    self._apply = jax.jit(functools.partial(_apply, config=config))
    self._lpips = jax.jit(_lpips)
    self._ssim = jax.jit(perceptual.ssim)
    self._pairs = None
    self._baselines = None
    self._faces = faces.Faces(eval_config.tracker_size)

  # --- The pairs, built once ------------------------------------------------------------
  def pairs(self) -> dict:
    if self._pairs is None:
      self._pairs = self._build_pairs()
    return self._pairs

  def _clip_records(self) -> list[dict]:
    """Per eval clip only what the pairs use (its first frame, its four template frames,
    their landmarks, poses and region maps), clips streamed one at a time; up to
    `max_clips`, taken round-robin over the speakers (so cross pairs exist)."""
    by_speaker = {}
    for clip in input_pipeline.clips(self.builder, self.config.data.eval_split,
                                     CLIP_FEATURES):
      refs = templates.retrieve(clip["landmarks"]).indices
      keep = np.concatenate([[0], refs])
      by_speaker.setdefault(clip["speaker_id"], []).append({
          "speaker": clip["speaker_id"], "frames": clip["frames"][keep],
          "landmarks": clip["landmarks"][keep],
          "rotation": clip["head_pose"]["rotation"][keep],
          "translation": clip["head_pose"]["translation"][keep],
          "regions": clip["region_maps"][keep, ..., 0]})
    if not by_speaker:
      raise ConfigError(f"eval split {self.config.data.eval_split!r} of "
                        f"{self.config.data.name} is empty")
    return base.round_robin(by_speaker.values(), self.eval_config.max_clips)

  def _build_pairs(self) -> dict:
    clips = self._clip_records()
    size = isp.output_size(self.config)
    pose = lambda c, i: (c["landmarks"][i], c["rotation"][i], c["translation"][i])
    refs = np.arange(1, 5)  # the records' template frames (index 0: the portrait)
    out = {k: [] for k in ("source", "reference", "regions", "truth_landmarks",
                           "source_landmarks", "warp", "cross_source", "cross_reference",
                           "cross_landmarks", "cross_source_landmarks", "cross_warp")}
    for n, clip in enumerate(clips):
      scale = size / clip["frames"].shape[1]
      portrait = clip["frames"][0]
      out["source"] += [portrait] * len(refs)
      out["reference"] += list(clip["frames"][refs])
      out["regions"] += list(clip["regions"][refs])
      out["truth_landmarks"] += list(clip["landmarks"][refs] * scale)
      out["source_landmarks"] += [clip["landmarks"][0] * scale] * len(refs)
      out["warp"] += list(warp.render(portrait, clip["landmarks"][0], clip["landmarks"][refs]))
      other = next((clips[(n + k) % len(clips)] for k in range(1, len(clips))
                    if clips[(n + k) % len(clips)]["speaker"] != clip["speaker"]), None)
      if other is None:
        continue
      # The reference clip's neutral frame: its "None" template (the first of the four).
      target = warp.retarget(pose(clip, 0), pose(other, refs), pose(other, 1))
      out["cross_source"] += [portrait] * len(refs)
      out["cross_reference"] += list(other["frames"][refs])
      out["cross_landmarks"] += list(target * scale)
      out["cross_source_landmarks"] += [clip["landmarks"][0] * scale] * len(refs)
      out["cross_warp"] += list(warp.render(portrait, clip["landmarks"][0], target))
    resize = image_metrics.resize
    pairs = {k: np.stack(v) if v else np.zeros((0,)) for k, v in out.items()}
    for key in ("reference", "warp", "cross_warp"):  # compared at the output size
      if len(pairs[key]):
        pairs[key] = resize(pairs[key], size)
    pairs["regions"] = resize(pairs["regions"], size, cv2.INTER_NEAREST)
    pairs["source_out"] = resize(pairs["source"], size)
    pairs["cross_source_out"] = (resize(pairs["cross_source"], size)
                                 if len(pairs["cross_source"]) else None)
    return pairs

  # --- Generation -------------------------------------------------------------------------
  def generate(self, params, sources, references, source_landmarks, target_landmarks) -> dict:
    """I_o and keypoints for uint8 sources and references (the landmarks of the sources
    and of the targets in pixels of the output size), in eval batches."""
    b = self.config.eval_batch_size
    size = isp.output_size(self.config)
    outs = []
    for start in range(0, len(sources), b):
      s, r = sources[start:start + b], references[start:start + b]
      n = len(s)
      pad = lambda x: np.concatenate([x, np.repeat(x[-1:], b - n, 0)]) if n < b else x
      inputs = isp.images(pad(s), pad(r), self.config)
      points = [sampling.normalised(pad(x[start:start + b]), size)
                for x in (source_landmarks, target_landmarks)]
      out = jax.device_get(self._apply(params, inputs["source"], inputs["driving"], *points))
      outs.append(jax.tree.map(lambda x: x[:n], out))
    return jax.tree.map(lambda *x: np.concatenate(x), *outs)

  # --- Measures ---------------------------------------------------------------------------
  def _landmarks_and_identity(self, images, expected, portraits, portrait_landmarks):
    m = self._faces.measure(images, expected, portraits, portrait_landmarks)
    return (float(m["landmark_error_px"].mean()), float(m["identity_distance"].mean()),
            float(m["detected"].mean()))

  def measure(self, same: np.ndarray, cross: np.ndarray | None, prefix: str) -> dict:
    """The measurements of same-identity outputs (N, S, S, 3) uint8 and of cross ones."""
    p = self.pairs()
    unit = lambda x: jnp.asarray(x, jnp.float32) / 255
    weights = perceptual.load("alexnet")
    lp = np.concatenate([np.asarray(self._lpips(weights, unit(same[i:i + 16]),
                                                unit(p["reference"][i:i + 16])))
                         for i in range(0, len(same), 16)])
    ss = np.asarray(self._ssim(unit(same), unit(p["reference"])))
    psnr = [image_metrics.psnr(a / 255, b / 255, m > 0)
            for a, b, m in zip(same, p["reference"], p["regions"])]
    lmk_err, ident, det = self._landmarks_and_identity(
        same, p["truth_landmarks"], p["source_out"], p["source_landmarks"])
    out = {"lpips": float(lp.mean()), "psnr_face": float(np.mean(psnr)),
           "ssim": float(ss.mean()), "landmark_error_px": lmk_err,
           "identity_distance": ident}
    detections = [det]
    if cross is not None and len(cross):
      cross_err, cross_ident, cross_det = self._landmarks_and_identity(
          cross, p["cross_landmarks"], p["cross_source_out"], p["cross_source_landmarks"])
      out.update(cross_identity_distance=cross_ident, cross_landmark_error_px=cross_err)
      detections.append(cross_det)
    out = {prefix + k: v for k, v in out.items()}
    out[prefix + "detection_rate"] = float(np.mean(detections))
    return out

  def baselines(self) -> dict:
    if self._baselines is None:
      p = self.pairs()
      self._baselines = {**self.measure(p["warp"], p["cross_warp"], "warp_"),
                         **self.measure(p["source_out"], p["cross_source_out"], "source_")}
      truth = [self._faces.landmark_error(r, t)
               for r, t in zip(p["reference"], p["truth_landmarks"])]
      self._baselines["truth_landmark_error_px"] = float(np.mean(truth))
    return self._baselines

  def run(self, state) -> tuple[dict, dict]:
    p = self.pairs()
    to_uint8 = image_metrics.to_uint8
    same = self.generate(state["params"], p["source"], p["reference"],
                         p["source_landmarks"], p["truth_landmarks"])
    cross = (self.generate(state["params"], p["cross_source"], p["cross_reference"],
                           p["cross_source_landmarks"], p["cross_landmarks"])
             if len(p["cross_source"]) else None)
    measurements = self.measure(to_uint8(same["image"]),
                                None if cross is None else to_uint8(cross["image"]), "")
    measurements.update(self.baselines())
    measurements["num_pairs"] = len(p["source"])
    measurements["num_cross_pairs"] = len(p["cross_source"])
    return measurements, {"source_reference_warp_isp": self.image_grid(same)}

  def image_grid(self, same) -> np.ndarray:
    """(n, S, 4 S or 5 S, 3) in [0, 1]: I_s | I_r | warp | I_o with keypoints drawn [|
    the generator's blend weights as colours: red the decoded image, green and blue the
    candidates (models/style_mapping.py)]."""
    p = self.pairs()
    n = min(self.eval_config.num_image_pairs, len(same["image"]))
    rows = []
    for i in range(n):
      size = same["image"].shape[1]
      cells = [p["source_out"][i], p["reference"][i], p["warp"][i],
               image_metrics.to_uint8(same["image"][i])]
      cells = [cv2.resize(c, (4 * size, 4 * size), interpolation=cv2.INTER_NEAREST)
               for c in cells]
      for cell, kp in ((cells[0], same["source_kp"][i]), (cells[3], same["driving_kp"][i])):
        for x, y in (kp[:, :2] + 1) / 2 * 4 * size:
          cv2.circle(cell, (int(x), int(y)), 3, (255, 255, 0), -1)
      if "weights" in same:
        w = same["weights"][i][..., :3]
        w = np.concatenate([w, np.zeros(w.shape[:-1] + (3 - w.shape[-1],))], -1)
        cells.append(cv2.resize(np.round(w * 255).astype(np.uint8), (4 * size, 4 * size),
                                interpolation=cv2.INTER_NEAREST))
      rows.append(np.concatenate(cells, 1))
    return np.stack(rows).astype(np.float32) / 255
