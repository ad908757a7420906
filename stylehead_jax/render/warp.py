"""The training-free renderer: piecewise-affine warping of a portrait by its 68 landmarks.

The portrait's landmarks plus 8 anchors on the frame's border (corners and edge
midpoints, which never move) are triangulated once (Delaunay); each output frame maps
every pixel, through the target triangle that holds it, to the same barycentric point of
the portrait's triangle and samples it bilinearly. Jitted JAX, batched over frames.

Targets come from `retarget`, the C̄ idea of Style Mapping with the 68 landmarks as
keypoints: the portrait's canonical face (pose removed, landmarks/pose.canonical_face),
plus the reference's expression (its canonical face minus that of the reference's own
neutral frame), posed by the reference's head pose. It is the baseline every ISP figure is
compared with (the `warp_` keys of the isp evaluator) and the renderer `animate` uses
when no trained generator exists.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from scipy import spatial

from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.landmarks import pose
from stylehead_jax.render import sampling


# The frame's corners and edge midpoints, normalised (render/sampling.py's coordinates).
_ANCHORS = np.array([[-1, -1], [0, -1], [1, -1], [1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0]],
                    np.float32)


def border_anchors(size: int) -> np.ndarray:
  """(8, 2) pixel positions of the frame's corners and edge midpoints."""
  return (_ANCHORS + 1) / 2 * (size - 1)


def with_anchors(landmarks: np.ndarray, size: int) -> np.ndarray:
  """(..., 68, 2+) landmarks -> (..., 76, 2) control points (x, y in pixels)."""
  landmarks = np.asarray(landmarks)[..., :2]
  anchors = np.broadcast_to(border_anchors(size), landmarks.shape[:-2] + (8, 2))
  return np.concatenate([landmarks, anchors], -2).astype(np.float32)


def triangulate(points: np.ndarray) -> np.ndarray:
  """(T, 3) vertex indices of the Delaunay triangulation of (P, 2) points."""
  return spatial.Delaunay(np.asarray(points, np.float64)).simplices.astype(np.int32)


def _barycentric(pixels, corners):
  """Barycentric coordinates (N, T, 3) of pixels (N, 2) in triangles (T, 3, 2)."""
  a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
  v0, v1 = b - a, c - a
  det = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]
  det = jnp.where(jnp.abs(det) < 1e-9, 1e-9, det)
  d = pixels[:, None] - a[None]
  l1 = (d[..., 0] * v1[:, 1] - d[..., 1] * v1[:, 0]) / det
  l2 = (v0[:, 0] * d[..., 1] - v0[:, 1] * d[..., 0]) / det
  return jnp.stack([1 - l1 - l2, l1, l2], -1)


def backward_map(source_points: jax.Array, target_points: jax.Array, triangles,
                 shape) -> jax.Array:
  """Where piecewise-affine warping takes each pixel of an output of spatial `shape`
  (H, W) from: (H, W, 2) source positions, for control points `source_points` moving to
  `target_points` (P, 2). Points and positions in normalised coordinates
  (render/sampling.py: x, y in [-1, 1], pixel centres at (2 i + 1) / n - 1)."""
  pixels = sampling.identity_grid(shape).reshape(-1, 2)
  return source_positions(source_points, target_points, triangles, pixels).reshape(*shape, 2)


def source_positions(source_points: jax.Array, target_points: jax.Array, triangles,
                     pixels: jax.Array) -> jax.Array:
  """`backward_map` at given output positions `pixels` (N, 2) -> (N, 2) source positions
  (all normalised), e.g. only the pixels of a crop."""
  bary = _barycentric(pixels, target_points[triangles])
  # The triangle that holds the pixel has all coordinates >= 0 (the largest minimum).
  best = jnp.argmax(bary.min(-1), -1)
  weights = jnp.take_along_axis(bary, best[:, None, None], 1)[:, 0]
  return jnp.einsum("nk,nkc->nc", weights, source_points[triangles][best])


@jax.jit
def warp(image: jax.Array, source_points: jax.Array, target_points: jax.Array,
         triangles: jax.Array) -> jax.Array:
  """The portrait `image` (H, W, C) warped so that its `source_points` (P, 2) move to
  each frame's `target_points` (N, P, 2) -> (N, H, W, C); points in pixels of a square
  image."""
  size = image.shape[0]
  source = sampling.normalised(source_points, size)

  def one(target):
    coords = backward_map(source, sampling.normalised(target, size), triangles, image.shape[:2])
    return sampling.sample(image[None], coords[None])[0]

  return jax.lax.map(one, target_points)


# Inside a jitted model Delaunay cannot run per face: one topology serves every face, the
# triangulation of the mean face (filling the middle half of the frame) with the border
# anchors at the frame's edges.
@functools.cache
def template_triangles() -> np.ndarray:
  """(T, 3) triangles over the 68 landmarks + 8 border anchors, from the mean face."""
  face = lmk.MEAN_FACE_3D[:, :2]
  face = (face - face.mean(0)) / np.abs(face - face.mean(0)).max() / 2
  return triangulate(np.concatenate([face, _ANCHORS]))


def landmark_flow(source_points: jax.Array, target_points: jax.Array, shape) -> jax.Array:
  """Batched `backward_map` over the template triangles: landmarks (B, 68, 2) of the
  sources and of the targets, normalised, -> (B, H, W, 2) source positions."""
  anchors = jnp.broadcast_to(jnp.asarray(_ANCHORS), source_points.shape[:1] + _ANCHORS.shape)
  triangles = jnp.asarray(template_triangles())
  return jax.lax.map(
      lambda st: backward_map(st[0], st[1], triangles, shape),
      (jnp.concatenate([source_points[..., :2], anchors], 1),
       jnp.concatenate([target_points[..., :2], anchors], 1)))


def retarget(portrait, reference, reference_neutral):
  """Target landmarks (N, 68, 3) in pixels: the portrait's canonical face plus the
  reference's expression relative to its own neutral frame, posed by the reference's pose.

  Each argument is (landmarks (..., 68, 3), rotation (..., 3, 3), translation (..., 3))
  as the datasets store them (landmarks/pose.py); `reference` is (N, ...), the others
  one frame. With the portrait as its own reference's neutral frame (one clip), this
  gives the reference's landmarks (x and y exactly).
  """
  canonical = pose.canonical_face(*map(np.asarray, portrait))
  expression = (pose.canonical_face(*map(np.asarray, reference))
                - pose.canonical_face(*map(np.asarray, reference_neutral)))
  return pose.posed_landmarks(canonical + expression, np.asarray(reference[1]),
                              np.asarray(reference[2]))


def render(portrait: np.ndarray, portrait_landmarks: np.ndarray,
           target_landmarks: np.ndarray) -> np.ndarray:
  """The portrait (H, W, 3) uint8 or float with its landmarks (68, 2+) warped to each
  of `target_landmarks` (N, 68, 2+) -> (N, H, W, 3) of the portrait's dtype."""
  size = portrait.shape[0]
  source = with_anchors(portrait_landmarks, size)
  targets = with_anchors(target_landmarks, size)
  frames = warp(jnp.asarray(portrait, jnp.float32), jnp.asarray(source),
                jnp.asarray(targets), jnp.asarray(triangulate(source)))
  frames = np.asarray(frames)
  if portrait.dtype == np.uint8:
    return np.clip(np.round(frames), 0, 255).astype(np.uint8)
  return frames.astype(portrait.dtype)
