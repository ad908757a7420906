"""The Mouth Painter's crops: where it draws, what it sees, how its crop goes back.

models/mouth_painter.py is the network; this is its geometry, the same in training
(tasks/mouth_painter.py, jitted on batches) and in `animate` (`Painter`):
  - the crop: a square of `crop` pixels of the frame around the driving landmarks' mouth
    (the mean of points 48-67), inside the frame; its side in training is the config's
    (96 px on 256 px face crops, about 1.8 mouth widths) and at inference that side
    scaled by the portrait's eye distance over TRAIN_EYE_DISTANCE, in the frame's own
    pixels (never resampled);
  - the network's inputs: that crop of the warped frame, the same-sized crop around the
    portrait's own mouth, and masks of the driving inner and outer lip polygons and of the
    portrait's inner lips (the latter in the portrait's crop);
  - the region it may change: the outer-lip polygon grown REGION_GROW times about its
    centre, feathered by a Gaussian of FEATHER crop sides; outside it the frame is the
    warp's, pixel for pixel.
The network's warped crop is made here in training and at inference alike (`warped_crop`:
the warp's piecewise-affine map over the template triangles, render/warp.py, at the
crop's pixels only): the warp renderer's frames triangulate each portrait's own
landmarks (Delaunay, not jittable), which moves single pixels of the crop by up to 0.2
(mean 0.005 over the region, the real clips' test split), so those frames are only what
the painted crop is composited into.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from stylehead_jax import checkpoint
from stylehead_jax import perceptual
from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.metrics import images as image_metrics
from stylehead_jax.models import layers
from stylehead_jax.models import mouth_painter as network
from stylehead_jax.render import sampling
from stylehead_jax.render import warp

REGION_GROW = 1.35  # the outer lips' polygon, about its centre
FEATHER = 1 / 48  # the region's Gaussian edge, sigma in crop sides
TRAIN_EYE_DISTANCE = 86.0  # px: the real clips' median at 256 px (data_prep/real_clips.py)
NUM_MASKS = 3  # driving inner lips, driving outer lips, the portrait's inner lips


def mouth_centre(landmarks: jax.Array) -> jax.Array:
  """(..., 68, 2+) -> (..., 2) the mean of the mouth's 20 points (x, y, pixels)."""
  return landmarks[..., lmk.MOUTH, :2].mean(-2)


def crop_origin(landmarks: jax.Array, crop: int, size: int) -> jax.Array:
  """(B, 68, 2+) -> (B, 2) int32 top-left (x, y) of each crop, inside a frame of `size`."""
  origin = jnp.round(mouth_centre(landmarks) - crop / 2)
  return jnp.clip(origin, 0, size - crop).astype(jnp.int32)


def cut(images: jax.Array, origin: jax.Array, crop: int) -> jax.Array:
  """(B, H, W, C) -> (B, crop, crop, C) at each origin (x, y)."""
  return jax.vmap(lambda image, o: jax.lax.dynamic_slice(
      image, (o[1], o[0], 0), (crop, crop, image.shape[-1])))(images, origin)


def paste(images: jax.Array, crops: jax.Array, origin: jax.Array) -> jax.Array:
  """`crops` (B, c, c, C) written into `images` (B, H, W, C) at each origin (x, y)."""
  return jax.vmap(lambda image, c, o: jax.lax.dynamic_update_slice(
      image, c.astype(image.dtype), (o[1], o[0], 0)))(images, crops, origin)


def polygon_mask(points: jax.Array, crop: int) -> jax.Array:
  """Inside-polygon test (even-odd) of the pixel centres of a crop: points (B, K, 2) in
  the crop's pixels -> (B, crop, crop, 1) in {0, 1}."""
  grid = jnp.arange(crop, dtype=jnp.float32)
  y, x = grid[:, None, None], grid[None, :, None]  # (crop, crop, 1) against K edges

  def one(p):
    q = jnp.roll(p, -1, axis=0)
    spans = (p[:, 1] > y) != (q[:, 1] > y)
    dy = jnp.where(q[:, 1] == p[:, 1], 1e-6, q[:, 1] - p[:, 1])
    crossing = p[:, 0] + (y - p[:, 1]) * (q[:, 0] - p[:, 0]) / dy
    return (jnp.sum(spans & (x < crossing), -1) % 2 == 1).astype(jnp.float32)[..., None]

  return jax.vmap(one)(points)


def region(landmarks: jax.Array, crop: int) -> jax.Array:
  """(B, 68, 2+) in the crop's pixels -> (B, crop, crop, 1) in [0, 1]: where the
  painter's crop replaces the warp (module doc)."""
  lips = landmarks[:, lmk.OUTER_LIPS, :2]
  centre = lips.mean(1, keepdims=True)
  grown = centre + REGION_GROW * (lips - centre)
  return perceptual.gaussian_blur(polygon_mask(grown, crop), FEATHER * crop)


def masks(driving: jax.Array, source: jax.Array, crop: int) -> jax.Array:
  """The network's mask channels (B, crop, crop, NUM_MASKS): landmarks (B, 68, 2+) of the
  driving frame and of the portrait, each in its own crop's pixels."""
  return jnp.concatenate([polygon_mask(driving[:, lmk.INNER_LIPS, :2], crop),
                          polygon_mask(driving[:, lmk.OUTER_LIPS, :2], crop),
                          polygon_mask(source[:, lmk.INNER_LIPS, :2], crop)], -1)


def warped_crop(source_frames: jax.Array, source_landmarks: jax.Array,
                driving_landmarks: jax.Array, origin: jax.Array, crop: int) -> jax.Array:
  """The crop at `origin` of each source frame (B, S, S, C) warped piecewise-affinely
  (render/warp.py, template triangles) from its landmarks to the driving ones (B, 68,
  2+): only the crop's pixels are mapped."""
  size = source_frames.shape[1]
  anchors = jnp.asarray(warp.border_anchors(size))
  triangles = jnp.asarray(warp.template_triangles())
  grid = jnp.stack(jnp.meshgrid(jnp.arange(crop), jnp.arange(crop)), -1)  # (x, y)

  def one(frame, src, dst, o):
    points = lambda lm: sampling.normalised(jnp.concatenate([lm[:, :2], anchors]), size)
    pixels = sampling.normalised((grid + o).reshape(-1, 2).astype(jnp.float32), size)
    coords = warp.source_positions(points(src), points(dst), triangles, pixels)
    return sampling.sample(frame[None], coords.reshape(1, crop, crop, 2))[0]

  return jax.vmap(one)(source_frames, source_landmarks, driving_landmarks, origin)


def crop_inputs(warped: jax.Array, source_frames: jax.Array, source_landmarks: jax.Array,
                driving_landmarks: jax.Array, origin: jax.Array) -> dict:
  """The network's inputs around a warped crop (B, c, c, 3) at `origin` (B, 2) of the
  driving frames, with the portraits (B, S, S, 3) in [0, 1] and the landmarks (B, 68,
  2+): {"warped", "source" (the crop at the portrait's mouth), "masks", "region"}."""
  crop = warped.shape[1]
  source_origin = crop_origin(source_landmarks, crop, source_frames.shape[1])
  shift = lambda lm, o: lm[..., :2] - o[:, None].astype(jnp.float32)
  driving = shift(driving_landmarks, origin)
  return {"warped": warped, "source": cut(source_frames, source_origin, crop),
          "masks": masks(driving, shift(source_landmarks, source_origin), crop),
          "region": region(driving, crop)}


def composite(painted: jax.Array, warped: jax.Array, region_mask: jax.Array) -> jax.Array:
  """The painted crop inside the region, the warp's outside."""
  return region_mask * painted + (1 - region_mask) * warped


def inference_crop(eye_distance: float, train_crop: int, size: int, multiple: int) -> int:
  """The crop side at inference: the training side scaled by the face's eye distance
  over TRAIN_EYE_DISTANCE, a multiple of `multiple`, at most the frame."""
  side = train_crop * eye_distance / TRAIN_EYE_DISTANCE
  return int(min(size // multiple, max(1, round(side / multiple))) * multiple)


@functools.partial(jax.jit, static_argnames=("apply", "crop"))
def _paint(params, frames, portrait, portrait_landmarks, landmarks, *, apply, crop):
  b = frames.shape[0]
  unit = layers.to_unit(frames)
  source = jnp.broadcast_to(layers.to_unit(portrait), unit.shape)
  origin = crop_origin(landmarks, crop, unit.shape[1])
  source_landmarks = jnp.broadcast_to(portrait_landmarks, (b,) + portrait_landmarks.shape)
  # The network's input is the crop warped as in training (template triangles); the
  # frame's own warp (the portrait's Delaunay triangles) stays outside the region.
  warped = warped_crop(source, source_landmarks, landmarks, origin, crop)
  x = crop_inputs(warped, source, source_landmarks, landmarks, origin)
  painted = apply({"params": params}, x["warped"], x["source"], x["masks"])["image"]
  out = composite(painted, cut(unit, origin, crop), x["region"])
  return paste(unit, out, origin)


def paint(params, model, frames: np.ndarray, portrait: np.ndarray,
          portrait_landmarks: np.ndarray, landmarks: np.ndarray, crop: int) -> np.ndarray:
  """Frames (T, H, W, 3) uint8 of `portrait` (H, W, 3) uint8 warped from its landmarks
  (68, 2+) to `landmarks` (T, 68, 2+), with the mouth painted by `model` (a MouthPainter)
  in crops of `crop` px -> (T, H, W, 3) uint8."""
  if not len(frames):
    return np.asarray(frames)
  return image_metrics.to_uint8(_paint(
      params, jnp.asarray(frames), jnp.asarray(portrait),
      jnp.asarray(np.asarray(portrait_landmarks, np.float32)[:, :2]),
      jnp.asarray(np.asarray(landmarks, np.float32)[..., :2]), apply=model.apply, crop=crop))


def crop_for(config, portrait: np.ndarray, portrait_landmarks: np.ndarray) -> int:
  """The inference crop (`inference_crop`) of a run's config for one portrait."""
  eye = float(lmk.interocular(np.asarray(portrait_landmarks, np.float32)[None])[0])
  return inference_crop(eye, config.crop_size, portrait.shape[0],
                        2 ** len(config.model.widths))


class Painter:
  """A trained Mouth Painter (a mouth_painter run's workdir) drawing the mouth on the warps
  of one portrait (H, W, 3) uint8 with its landmarks (68, 2+)."""

  def __init__(self, workdir: str, portrait: np.ndarray, portrait_landmarks: np.ndarray):
    config = checkpoint.read_run_config(workdir)
    self.params = checkpoint.load_state(checkpoint.checkpoint_dir(workdir))["params"]
    self.model = network.make(config)
    self.portrait, self.portrait_landmarks = np.asarray(portrait), portrait_landmarks
    self.crop = crop_for(config, self.portrait, portrait_landmarks)

  def draw(self, frames: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Frames (T, H, W, 3) uint8 of the portrait warped to `landmarks` (T, 68, 2+) with
    the mouth painted -> (T, H, W, 3) uint8."""
    return paint(self.params, self.model, frames, self.portrait, self.portrait_landmarks,
                 landmarks, self.crop)
