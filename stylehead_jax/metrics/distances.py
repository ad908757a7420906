"""Frame-aligned landmark metrics of a generated track against its ground truth.

Tracks are (T, 68, 2|3) arrays in pixels of the evaluated image (our extractor gives the
512 x 512 face crop); only x and y are used. Both tracks must have the same length
(`trim` cuts the longer one). No alignment is applied unless a metric says so: a track
shifted by 3 px is 3 px away in D-L, because where the head is belongs to the motion.
Lower is better for all of them.
"""

import numpy as np

from stylehead_jax.landmarks import conventions as lmk


def trim(*tracks: np.ndarray) -> tuple[np.ndarray, ...]:
  """The tracks cut to the length of the shortest (their first frames are kept)."""
  n = min(len(t) for t in tracks)
  return tuple(np.asarray(t)[:n] for t in tracks)


def _xy(track) -> np.ndarray:
  return np.asarray(track, np.float64)[..., :2]


def lmd(generated, reference) -> float:
  """Landmark distance around the mouth (LMD), as in ATVGnet's evaluation (Chen et al. 2019).

  Each frame's 20 mouth points (48-67) are centred on their own centroid (this removes
  head translation, not rotation or scale); LMD = 1/T sum_t sum_{p in mouth}
  |g_tp - r_tp|_2, in pixels: the per-point distances are summed over the 20 points and
  averaged over frames.
  """
  g, r = _xy(generated)[:, lmk.MOUTH], _xy(reference)[:, lmk.MOUTH]
  g = g - g.mean(1, keepdims=True)
  r = r - r.mean(1, keepdims=True)
  return float(np.linalg.norm(g - r, axis=-1).sum(1).mean())


def landmark_distance(generated, reference) -> float:
  """D-L = 1/(68 T) sum_t sum_p |g_tp - r_tp|_2, pixels, all 68 points, no alignment."""
  return float(np.linalg.norm(_xy(generated) - _xy(reference), axis=-1).mean())


def velocity(track) -> np.ndarray:
  """(T-1, 68, 2) frame-to-frame displacement, pixels per frame."""
  return np.diff(_xy(track), axis=0)


def velocity_distance(generated, reference) -> float:
  """D-V = 1/(68 (T-1)) sum_t sum_p |(g_t+1,p - g_tp) - (r_t+1,p - r_tp)|_2, pixels per
  frame (at the track's frame rate: 60 fps for ours), all 68 points."""
  return float(np.linalg.norm(velocity(generated) - velocity(reference), axis=-1).mean())


def polygon_area(points) -> np.ndarray:
  """Area (...,) of the closed polygon through points (..., N, 2) in order (shoelace)."""
  p = np.asarray(points, np.float64)
  x, y = p[..., 0], p[..., 1]
  return 0.5 * np.abs((x * np.roll(y, -1, -1) - np.roll(x, -1, -1) * y).sum(-1))


def mouth_area(track) -> np.ndarray:
  """(T,) area of the open mouth: the inner-lip polygon (points 60-67), pixels^2."""
  return polygon_area(_xy(track)[:, lmk.INNER_LIPS])


def area_difference(generated, reference) -> float:
  """D-A = 1/T sum_t |A(g_t) - A(r_t)|, A = the inner-lip polygon's area, pixels^2."""
  return float(np.abs(mouth_area(generated) - mouth_area(reference)).mean())
