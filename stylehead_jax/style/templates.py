"""Key motion templates (None, M, R, O) and the style reference frames retrieved for them.

A style reference is summed up by four frames of the reference video, one per key mouth
shape (closed and open syllables). Each frame is described on a face with pose and scale
removed: every frame's 68 points are mapped onto the mean face (MEAN_FACE_3D, x and y) by
the similarity transform (rotation, scale, translation) that best fits its rigid points
(`pose.PNP_POINTS`: upper jaw line, nose, eye corners; orthogonal Procrustes). On that
face a frame's mouth shape is two numbers, both divided by the clip's median mouth width
(so the size of a speaker's mouth drops out):

  opening: the inner-lip gap, mean of |61-67|, |62-66|, |63-65|;
  width:   the mouth-corner distance |48-54|.

TEMPLATES gives each key shape as (opening, width); `retrieve` returns, per template, the
frame whose shape is nearest (distance with `OPENING_WEIGHT` on the opening: it is what
tells the shapes apart on real footage, where widths vary by a few percent only), four
different frames: a clip that never presses its lips would otherwise give None and M one
frame.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.landmarks import pose

TEMPLATES = {
    "None": (0.02, 1.00),  # no syllable: the mouth at rest, lips together or just apart
    "M": (0.00, 0.94),  # closed syllable (/m/, /b/, /p/): lips pressed shut, drawn in
    "R": (0.16, 1.06),  # half-open and spread (/r/, /e/, /i/)
    "O": (0.40, 0.86),  # open and rounded (/o/, /a/)
}
OPENING_WEIGHT = 3.0


def align(track) -> np.ndarray:
  """(T, 68, 2) x and y of a track (T, 68, 2|3) in the mean face's frame (face widths):
  each frame mapped by its own least-squares similarity fit of the rigid points."""
  xy = np.asarray(track, np.float64)[..., :2]
  target = lmk.MEAN_FACE_3D[pose.PNP_POINTS, :2]
  target = target - target.mean(0)
  source = xy[:, pose.PNP_POINTS]
  centre = source.mean(1, keepdims=True)
  source = source - centre
  # Orthogonal Procrustes per frame: R = U V^T of the 2 x 2 cross-covariance, no reflection.
  u, s, vt = np.linalg.svd(np.einsum("tpi,pj->tij", source, target))
  d = np.sign(np.linalg.det(u @ vt))
  s[:, 1] *= d
  u[:, :, 1] *= d[:, None]
  rotation = u @ vt
  scale = s.sum(-1) / (source ** 2).sum((1, 2))
  return np.einsum("tpi,tij->tpj", xy - centre, rotation) * scale[:, None, None]


def mouth_shapes(track) -> np.ndarray:
  """(T, 2) (opening, width) of every frame, as the module docstring defines them."""
  face = align(track)
  gap = np.linalg.norm(face[:, lmk.INNER_LIP_TOP] - face[:, lmk.INNER_LIP_BOTTOM], axis=-1)
  width = np.linalg.norm(face[:, lmk.RIGHT_MOUTH_CORNER] - face[:, lmk.LEFT_MOUTH_CORNER],
                         axis=-1)
  rest = float(np.median(width))
  if not rest > 0:
    raise ValueError("the track's mouth corners coincide: not a face track")
  return np.stack([gap.mean(-1), width], -1) / rest


@dataclasses.dataclass
class StyleReference:
  """The frames retrieved for TEMPLATES, in their order."""
  names: tuple[str, ...]
  indices: np.ndarray  # (4,) frame indices into the track
  landmarks: np.ndarray  # (4, 68, D) those frames' landmarks
  shapes: np.ndarray  # (4, 2) their (opening, width)
  frames: np.ndarray | None  # (4, H, W, 3) the images, where the video frames were given


def retrieve(track, frames=None) -> StyleReference:
  """The style reference frames of a landmark track (T, 68, 2|3): per template the
  frame of nearest mouth shape; `frames` (T, H, W, 3) adds the images."""
  track = np.asarray(track)
  shapes = mouth_shapes(track)
  templates = np.array(list(TEMPLATES.values()))
  weight = np.array([OPENING_WEIGHT, 1.0])
  distance = np.linalg.norm((shapes[None] - templates[:, None]) * weight, axis=-1)
  if distance.shape[1] < len(TEMPLATES):
    raise ValueError(f"a track of {distance.shape[1]} frames cannot give {len(TEMPLATES)} "
                     "different reference frames")
  # Four different images: the closest (template, frame) pair is taken first, then the
  # closest among the templates and frames left, and so on.
  indices = np.zeros(len(TEMPLATES), int)
  for _ in TEMPLATES:
    t, i = np.unravel_index(np.argmin(distance), distance.shape)
    indices[t] = i
    distance[t] = np.inf
    distance[:, i] = np.inf
  return StyleReference(names=tuple(TEMPLATES), indices=indices, landmarks=track[indices],
                        shapes=shapes[indices],
                        frames=None if frames is None else np.asarray(frames)[indices])
