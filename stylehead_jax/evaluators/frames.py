"""Evaluator "frames": the Style-Aware Generator's self-reenactment of held-out speakers,
against the warp renderer and the nearest ISP.

Per clip of the eval split (the first `max_clips`, round-robin over speakers): its
tracked landmarks drive `max_frames` consecutive frames from the middle of the clip
(facial maps at the model's input size); I_s is its first frame and the references its
own four template frames (style/templates.retrieve) among the frames outside that
window, so that no reference is a frame judged (the ISPs made from them as in training,
frames.make_isps). Every image
is compared with the clip's true frame at the output size. Measurements (prefix "" for
I', "warp_" for render/warp.py's piecewise-affine warp of I_s to each frame's landmarks,
the training-free renderer, "isp_" for the ISP nearest the true frame (frames.nearest_isp)
without the generator):
  lpips_face, lpips_mouth: AlexNet LPIPS (perceptual.lpips) over the pixels of region
    label > 0 and = 3 (landmarks/regions.py) of the true frame;
  psnr_face (label > 0), ssim (the whole frame);
  landmark_error_px: the project's dlib tracker on the image vs the driving landmarks, in
    pixels of a 512 crop (evaluators/faces.py); identity_distance: dlib face descriptors
    of the image and I_s; detection_rate;
  cpbd: sharpness (metrics/sharpness.py), mean over frames;
  flicker: mean |x_t - x_{t-1}| over the face (label > 0 in frame t) of consecutive
    images, minus the same of the true frames: > 0 is change the truth does not have
    (a still image scores minus the truth's own change);
  mouth_teeth_ratio, mouth_cavity_ratio: what an open mouth shows (metrics/mouth.py,
    `interior_measures`: the inner mouth's brightest and darkest tenth over the lips'
    median, on the frames where the truth is open), as ratios to the truth's, mean over
    the clips that open (NaN where none does).
Also truth_landmark_error_px (the tracker on the true frames: the floor) and truth_cpbd.
The baselines do not change with training and are computed once. Images (small ones
enlarged): per clip a middle frame as facial map | the 4 ISPs | I' | truth | warp, a
strip of 8 frames of the first clip, I' above the truth, and that clip as a video (I' |
truth | warp, every judged frame).
"""

from __future__ import annotations

import functools

import cv2
import jax
import jax.numpy as jnp
import numpy as np

from stylehead_jax import frames
from stylehead_jax import input_pipeline
from stylehead_jax import perceptual
from stylehead_jax.errors import ConfigError
from stylehead_jax.evaluators import base
from stylehead_jax.evaluators import faces
from stylehead_jax.landmarks import facial_map
from stylehead_jax.landmarks import regions
from stylehead_jax.metrics import images as image_metrics
from stylehead_jax.metrics import mouth
from stylehead_jax.metrics import sharpness
from stylehead_jax.render import sampling
from stylehead_jax.render import warp
from stylehead_jax.style import templates

CLIP_FEATURES = ("frames", "landmarks", "region_maps", "speaker_id")
PREFIXES = ("", "warp_", "isp_")
STRIP_FRAMES = 8
VIEW_SIZE = 256  # image rows smaller than this are enlarged (nearest) for TensorBoard


def _isps(isp_params, batch, *, config):
  """The clip's four ISPs (4, S, S, 3) from a batch of one of its frames."""
  return frames.make_isps(frames.prepare(batch, config), config, isp_params)[0]


def _generate(params, isps, vgg, batch, *, config):
  inputs = frames.prepare(batch, config)
  isps = jnp.broadcast_to(isps, (len(inputs["target"]),) + isps.shape)
  out = frames.generate(params, inputs, isps, config)
  nearest = frames.nearest_isp(isps, sampling.resize(inputs["target"], config.image_size),
                               vgg, min(3, config.loss.perceptual_blocks))
  return {"image": out["image"], "nearest": nearest}


def _region_lpips(weights, a, b, labels):
  face = (labels > 0).astype(jnp.float32)
  inside_mouth = (labels == regions.MOUTH).astype(jnp.float32)
  return (perceptual.lpips(weights, a, b, "alexnet", face),
          perceptual.lpips(weights, a, b, "alexnet", inside_mouth))


class Evaluator(base.Evaluator):

  def __init__(self, context, config, eval_config):
    super().__init__(context, config, eval_config)
    self._generate = jax.jit(functools.partial(_generate, config=config))
    self._isps = jax.jit(functools.partial(_isps, config=config))
    self._lpips = jax.jit(_region_lpips)
    self._ssim = jax.jit(perceptual.ssim)
    self._faces = faces.Faces(eval_config.tracker_size)
    self._clips = None
    self._baselines = None
    self._vgg = None

  # --- The clips, read once -------------------------------------------------------------
  def clips(self) -> list[dict]:
    if self._clips is None:
      self._clips = self._read_clips()
    return self._clips

  def _read_clips(self) -> list[dict]:
    by_speaker = {}
    minimum = 2 + len(templates.TEMPLATES)
    for clip in input_pipeline.clips(self.builder, self.config.data.eval_split,
                                     CLIP_FEATURES):
      if input_pipeline.num_frames(clip) >= minimum:
        by_speaker.setdefault(clip["speaker_id"], []).append(self._cut(clip))
    if not by_speaker:
      raise ConfigError(f"eval split {self.config.data.eval_split!r} of "
                        f"{self.config.data.name} has no clip of {minimum} frames or more")
    return [self._record(cut) for cut in
            base.round_robin(by_speaker.values(), self.eval_config.max_clips)]

  def _cut(self, clip) -> dict:
    """What the clip's evaluation uses: `max_frames` consecutive frames from its middle
    (their landmarks, region maps), the portrait (frame 0), and the four template frames
    found among the frames outside that window, so that no reference is a frame judged."""
    total = input_pipeline.num_frames(clip)
    t = min(self.eval_config.max_frames, total - len(templates.TEMPLATES))
    start = 1 + (total - 1 - t) // 2
    window = np.arange(start, start + t)
    rest = np.setdiff1d(np.arange(total), window)
    picked = rest[templates.retrieve(clip["landmarks"][rest]).indices]
    return {"portrait": clip["frames"][0], "portrait_landmarks": clip["landmarks"][0],
            "frames": clip["frames"][window], "landmarks": clip["landmarks"][window],
            "region_maps": clip["region_maps"][window],
            "template_frames": clip["frames"][picked],
            "template_landmarks": clip["landmarks"][picked]}

  def _record(self, cut: dict) -> dict:
    """A cut clip with its facial maps (input size), and at the output size its true
    frames, region labels and the warp renderer's frames."""
    resolution = cut["frames"].shape[1]
    out = frames.output_size(self.config)
    return dict(
        cut,
        facial_maps=facial_map.render_facial_maps(cut["landmarks"], self.config.image_size,
                                                  resolution),
        truth=image_metrics.resize(cut["frames"], out),
        labels=image_metrics.resize(cut["region_maps"][..., 0], out, cv2.INTER_NEAREST),
        warp=image_metrics.resize(warp.render(cut["portrait"], cut["portrait_landmarks"],
                                     cut["landmarks"]), out),
        scale=out / resolution)

  def _batches(self, clip):
    """The clip's frames as padded batches of the training step's layout."""
    b = self.config.eval_batch_size
    t = len(clip["frames"])
    for start in range(0, t, b):
      idx = np.minimum(np.arange(start, start + b), t - 1)
      yield min(b, t - start), {
          "target": {"frames": clip["frames"][idx], "landmarks": clip["landmarks"][idx],
                     "region_maps": clip["region_maps"][idx]},
          "source": {"frames": np.repeat(clip["portrait"][None], b, 0),
                     "landmarks": np.repeat(clip["portrait_landmarks"][None], b, 0)},
          "templates": {"frames": np.repeat(clip["template_frames"][None], b, 0),
                        "landmarks": np.repeat(clip["template_landmarks"][None], b, 0)},
          "facial_map": clip["facial_maps"][idx]}

  def _vgg_params(self):
    if self._vgg is None and perceptual.resolve_loss_kind(
        self.config.loss.perceptual) == "vgg16":  # the nearest ISP as training picks it
      self._vgg = perceptual.vgg_params(min(3, self.config.loss.perceptual_blocks))
    return self._vgg

  def generate(self, state, clip) -> dict:
    """I' (T, S', S', 3) uint8, the ISPs (4, S, S, 3) uint8 and the ISP nearest each
    true frame, at the output size (T, S', S', 3) uint8."""
    batches = list(self._batches(clip))
    first = jax.tree.map(lambda x: x[:1], batches[0][1])  # I_s and references are per clip
    isps = self._isps(state.get("isp_params"), first)
    images, nearest = [], []
    for n, batch in batches:
      out = jax.device_get(self._generate(state["params"], isps, self._vgg_params(), batch))
      images.append(out["image"][:n])
      nearest.append(out["nearest"][:n])
    isps = image_metrics.to_uint8(isps)
    size = frames.output_size(self.config)
    nearest_images = image_metrics.resize(isps, size)[np.concatenate(nearest)]
    return {"image": image_metrics.to_uint8(np.concatenate(images)), "isps": isps,
            "nearest_isp": nearest_images}

  # --- Measures ---------------------------------------------------------------------------
  def measure(self, outputs: list[np.ndarray], prefix: str) -> dict:
    """The measurements of per-clip images (T, S', S', 3) uint8, keys prefixed."""
    weights = perceptual.load("alexnet")
    unit = lambda x: jnp.asarray(x, jnp.float32) / 255
    per_frame = {k: [] for k in ("lpips_face", "lpips_mouth", "psnr_face", "ssim",
                                 "landmark_error_px", "identity_distance", "detected")}
    flicker, sharp, interior = [], [], []
    for clip, images in zip(self.clips(), outputs):
      truth, labels = clip["truth"], clip["labels"]
      for i in range(0, len(images), 16):
        face, in_mouth = self._lpips(weights, unit(images[i:i + 16]), unit(truth[i:i + 16]),
                                  jnp.asarray(labels[i:i + 16, ..., None]))
        per_frame["lpips_face"] += list(np.asarray(face))
        per_frame["lpips_mouth"] += list(np.asarray(in_mouth))
      per_frame["ssim"] += list(np.asarray(self._ssim(unit(images), unit(truth))))
      per_frame["psnr_face"] += [image_metrics.psnr(a / 255, b / 255, m > 0)
                                 for a, b, m in zip(images, truth, labels)]
      scale = clip["scale"]
      portrait = image_metrics.resize(clip["portrait"][None], images.shape[1])
      tracked = self._faces.measure(images, clip["landmarks"] * scale,
                                    np.repeat(portrait, len(images), 0),
                                    np.repeat(clip["portrait_landmarks"][None] * scale,
                                              len(images), 0))
      for k, v in tracked.items():
        per_frame[k] += list(v)
      flicker.append(_change(images, labels) - _change(truth, labels))
      sharp.append(sharpness.mean_cpbd(images))
      driving = clip["landmarks"] * scale
      shown = mouth.interior_measures(images, driving, truth, driving)
      interior.append([shown["mouth_teeth_ratio"], shown["mouth_cavity_ratio"]])
    out = {k: float(np.mean(v)) for k, v in per_frame.items() if k != "detected"}
    interior = np.array(interior)
    opened = interior[np.isfinite(interior).all(1)]
    teeth, cavity = opened.mean(0) if len(opened) else (float("nan"),) * 2
    out.update(detection_rate=float(np.mean(per_frame["detected"])),
               cpbd=float(np.mean(sharp)), flicker=float(np.mean(flicker)),
               mouth_teeth_ratio=float(teeth), mouth_cavity_ratio=float(cavity))
    return {prefix + k: v for k, v in out.items()}

  def baselines(self, generated: list[dict]) -> dict:
    """The warp renderer's and the nearest ISP's measurements and the truth's floors,
    computed once (neither renderer trains; the ISPs are the template frames or a frozen
    Style Mapping's), the nearest ISPs taken from `generated`."""
    if self._baselines is None:
      clips = self.clips()
      self._baselines = {**self.measure([c["warp"] for c in clips], "warp_"),
                         **self.measure([g["nearest_isp"] for g in generated], "isp_")}
      truth = [self._faces.landmark_error(image, lm * c["scale"])
               for c in clips for image, lm in zip(c["truth"], c["landmarks"])]
      self._baselines.update(
          truth_landmark_error_px=float(np.mean(truth)),
          truth_cpbd=float(np.mean([sharpness.mean_cpbd(c["truth"]) for c in clips])))
    return self._baselines

  def run(self, state) -> tuple[dict, dict]:
    generated = [self.generate(state, clip) for clip in self.clips()]
    measurements = self.measure([g["image"] for g in generated], "")
    measurements.update(self.baselines(generated))
    measurements["num_clips"] = len(generated)
    measurements["num_frames"] = sum(len(g["image"]) for g in generated)
    return measurements, self.summaries(generated)

  def summaries(self, generated) -> dict:
    """The images and the video a run sends to TensorBoard."""
    return {"map_isps_generated_truth_warp": self.image_grid(generated),
            "clip_generated_over_truth": self.strip(generated[0]),
            "clip_generated_truth_warp_video": self.video(generated[0])}

  # --- Images -----------------------------------------------------------------------------
  def image_grid(self, generated) -> np.ndarray:
    """(n, k S', 8 k S', 3) in [0, 1], one row per clip at its middle frame (k: _enlarged)."""
    rows = []
    for clip, g in list(zip(self.clips(), generated))[:self.eval_config.num_image_clips]:
      t = len(g["image"]) // 2
      size = g["image"].shape[1]
      cells = ([image_metrics.resize(clip["facial_maps"][t:t + 1], size)[0]]
               + list(image_metrics.resize(g["isps"], size))
               + [g["image"][t], clip["truth"][t], clip["warp"][t]])
      rows.append(_enlarged(np.concatenate(cells, 1)))
    return np.stack(rows).astype(np.float32) / 255

  def strip(self, g) -> np.ndarray:
    """(1, 2 k S', STRIP_FRAMES k S', 3): evenly spaced frames of a clip, I' above the
    truth (k: _enlarged)."""
    clip = self.clips()[0]
    idx = np.linspace(0, len(g["image"]) - 1, STRIP_FRAMES).round().astype(int)
    top = np.concatenate(list(g["image"][idx]), 1)
    bottom = np.concatenate(list(clip["truth"][idx]), 1)
    return _enlarged(np.concatenate([top, bottom], 0))[None].astype(np.float32) / 255

  def video(self, g) -> np.ndarray:
    """(T, k S', 3 k S', 3): the first clip's frames, I' | truth | warp side by side."""
    clip = self.clips()[0]
    frames = np.concatenate([g["image"], clip["truth"], clip["warp"]], 2)
    return np.stack([_enlarged(f) for f in frames]).astype(np.float32) / 255


def _enlarged(image: np.ndarray) -> np.ndarray:
  """A grid of small cells (under VIEW_SIZE px tall) enlarged by whole pixels to be seen."""
  factor = max(1, VIEW_SIZE // image.shape[0])
  return np.repeat(np.repeat(image, factor, 0), factor, 1)


def _change(images: np.ndarray, labels: np.ndarray) -> float:
  """Mean |x_t - x_{t-1}| over the face pixels of frame t (0 for a single frame)."""
  if len(images) < 2:
    return 0.0
  diff = np.abs(images[1:].astype(np.float32) - images[:-1].astype(np.float32)).mean(-1)
  face = labels[1:] > 0
  return float((diff * face).sum() / max(face.sum(), 1) / 255)
