"""Style metrics SLD, SLV, SMD (Pham et al.): how close a generated motion is to a style.

A sequence of N frames is cut into windows of F frames with stride v: starts 0, v, ...,
kappa v with kappa = floor((N - F) / v). With d(w_s, w_a) the mean over the F aligned
frame pairs of a per-frame distance,

  S(reference, generated) = mean over reference windows w_s of
                            min over generated windows w_a of d(w_s, w_a).

SLD uses the landmark distance, SLV the distance of frame-to-frame velocities (a window
has F - 1 of them), SMD the mouth. Lower is better. The two sequences need not have the
same length: each is cut into its own windows.

Two protocols give the per-frame distances (`PROTOCOLS`):

clean (ours, the default). Each track is expressed relative to its own mean centroid
  (over all frames and points) in percent of its median interocular distance (IOD, outer
  eye corners), so the identity's placement and size drop out while head motion stays.
  SLD: mean over 68 points of |g - r|; SLV: mean over 68 points of |v_g - v_r| (percent
  IOD per frame); SMD: |A_g - A_r| with A the inner-lip polygon's area in percent of
  IOD^2. One (F, v), CLEAN_WINDOW and CLEAN_STRIDE by default (60 and 30 frames: 1 s
  windows at 60 fps, half overlapping).

aioz (the paper's released code, aioz-ai/AudioDrivenStyleTransfer src/style_metrics,
  rewritten from its description). Per frame, SLD: all 68 points shifted by their
  per-axis minimum and divided by their x-extent, mean point distance x 100; SLV: the
  points shifted by their per-axis minimum, frame-to-frame differences divided by the
  current frame's x-extent, mean point distance x 100; SMD: the 20 mouth points centred
  on their centroid, mean point distance, in pixels. The figure is the average over every
  window length 10..100 and stride 1..19 (pairs whose window does not fit are left out,
  as the released loop's exception handler does). Its inner loop keeps one list of
  distances across all generated windows of a reference window, so the "min" is taken
  over running means (of windows 0..j), not over single windows: `aioz` reproduces that,
  and `AIOZ_RUNNING_MEAN` says so in the output. The released code measures dlib
  landmarks on whole frames resampled to 29.97 fps and resized to 512 x 512 (see
  stylehead_jax/landmarks/aioz.py).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.metrics import distances

PROTOCOLS = ("clean", "aioz")
CLEAN_WINDOW, CLEAN_STRIDE = 60, 30  # frames: 1 s windows at 60 fps, half overlapping
AIOZ_WINDOWS = range(10, 101)
AIOZ_STRIDES = range(1, 20)
AIOZ_RUNNING_MEAN = True
_ROWS_PER_CHUNK = 64  # reference frames per block of the frame-pair distance matrix


def pair_distances(reference: np.ndarray, generated: np.ndarray, step: int = 1) -> np.ndarray:
  """(N_r, N_g) mean point distance between reference frame i and generated frame j.

  reference (N_r, P, D), generated (N_g, P, D). step > 1: only the diagonals where
  j - i is a multiple of `step` are computed (the rest stay 0), all that windows with
  starts on multiples of `step` read (`windowed_min_mean`). Computed in blocks of
  reference frames (or diagonal by diagonal), so no (N_r, N_g, P, D) array is held.
  """
  n_r, n_g = len(reference), len(generated)
  if step > 1:
    out = np.zeros((n_r, n_g))
    for offset in range(-((n_r - 1) // step) * step, n_g, step):
      i = np.arange(max(0, -offset), min(n_r, n_g - offset))
      out[i, i + offset] = np.linalg.norm(reference[i] - generated[i + offset], axis=-1).mean(-1)
    return out
  out = np.empty((n_r, n_g))
  for i in range(0, n_r, _ROWS_PER_CHUNK):
    block = reference[i:i + _ROWS_PER_CHUNK, None] - generated[None]
    out[i:i + _ROWS_PER_CHUNK] = np.linalg.norm(block, axis=-1).mean(-1)
  return out


def diagonal_cumsum(distances: np.ndarray) -> np.ndarray:
  """c (N_r + 1, N_g + 1) with c[i, j] = sum over k < min(i, j) of distances[i-1-k, j-1-k],
  so the sum over a window of L aligned frame pairs from (s, j) is
  c[s + L, j + L] - c[s, j], for every L, from one pass."""
  n_r, n_g = distances.shape
  c = np.zeros((n_r + 1, n_g + 1))
  for i in range(n_r):
    c[i + 1, 1:] = c[i, :-1] + distances[i]
  return c


def windowed_min_mean(cumsum: np.ndarray, length: int, stride: int,
                      running_mean: bool = False) -> float:
  """mean over reference windows s of min over generated windows j of the mean distance
  of their `length` aligned frame pairs; `cumsum` from `diagonal_cumsum`.

  `length` counts the per-frame distances in a window (F, or F - 1 for velocities).
  running_mean: the min is over the mean of windows 0..j instead (the aioz loop).
  """
  n_r, n_g = cumsum.shape[0] - 1, cumsum.shape[1] - 1
  if length > min(n_r, n_g):
    raise ValueError(f"windows of {length} frames do not fit in {n_r} and {n_g} frames")
  sums = cumsum[length:, length:] - cumsum[:n_r + 1 - length, :n_g + 1 - length]
  means = sums[::stride, ::stride] / length
  if running_mean:
    means = np.cumsum(means, axis=1) / np.arange(1, means.shape[1] + 1)
  return float(means.min(1).mean())


def _clean_normalise(track) -> np.ndarray:
  xy = np.asarray(track, np.float64)[..., :2]
  iod = float(np.median(lmk.interocular(xy)))
  if not iod > 0:
    raise ValueError("the track has no interocular distance (eye corners coincide)")
  return 100 * (xy - xy.mean((0, 1))) / iod


def _aioz_positions(xy):
  shifted = xy - xy.min(1, keepdims=True)
  return shifted, shifted[..., 0].max(1)[:, None, None]


def per_frame(track, metric: str, protocol: str) -> np.ndarray:
  """The per-frame quantity each metric compares: (N, P, D) points or (N, 1, 1) areas."""
  if protocol == "clean":
    x = _clean_normalise(track)
    if metric == "sld":
      return x
    if metric == "slv":
      return np.diff(x, axis=0)
    iod = float(np.median(lmk.interocular(np.asarray(track)[..., :2])))
    area = distances.mouth_area(track)
    return (100 * area / iod ** 2)[:, None, None]
  if protocol != "aioz":
    raise ValueError(f"protocol {protocol!r}: expected one of {PROTOCOLS}")
  xy = np.asarray(track, np.float64)[..., :2]
  shifted, extent = _aioz_positions(xy)
  if metric == "sld":
    return 100 * shifted / extent
  if metric == "slv":
    return 100 * np.diff(shifted, axis=0) / extent[1:]
  mouth = xy[:, lmk.MOUTH]
  return mouth - mouth.mean(1, keepdims=True)


METRICS = ("sld", "slv", "smd")


@dataclasses.dataclass(frozen=True)
class StyleSettings:
  protocol: str = "clean"
  window: int | None = None  # None: 60 (clean) or the 10..100 sweep (aioz)
  stride: int | None = None  # None: 30 (clean) or the 1..19 sweep (aioz)

  def pairs(self) -> list[tuple[int, int]]:
    if self.protocol == "clean":
      return [(self.window or CLEAN_WINDOW, self.stride or CLEAN_STRIDE)]
    windows = [self.window] if self.window else AIOZ_WINDOWS
    strides = [self.stride] if self.stride else AIOZ_STRIDES
    return [(w, s) for w in windows for s in strides]

  def describe(self) -> dict:
    pairs = self.pairs()
    windows, strides = sorted({w for w, _ in pairs}), sorted({s for _, s in pairs})
    span = lambda v: v[0] if len(v) == 1 else f"{v[0]}..{v[-1]}"
    return {"window": span(windows), "stride": span(strides)}


def style_metrics(reference, generated, settings: StyleSettings = StyleSettings()) -> dict:
  """SLD, SLV, SMD of a generated track against a style reference track, and the
  (window, stride) pairs they average over. Tracks (N, 68, 2|3) in pixels."""
  if settings.protocol == "aioz":  # the released code walks both with one frame count
    n = min(len(reference), len(generated))
    reference, generated = reference[:n], generated[:n]
  running = settings.protocol == "aioz" and AIOZ_RUNNING_MEAN
  # Window starts are multiples of the stride, so only those diagonals are needed.
  step = math.gcd(*[stride for _, stride in settings.pairs()])
  out, used = {}, []
  for metric in METRICS:
    cumsum = diagonal_cumsum(pair_distances(per_frame(reference, metric, settings.protocol),
                                            per_frame(generated, metric, settings.protocol),
                                            step))
    values = []
    for window, stride in settings.pairs():
      length = window - 1 if metric == "slv" else window
      if window > min(len(reference), len(generated)) or length < 1:
        continue
      values.append(windowed_min_mean(cumsum, length, stride, running))
      if metric == "sld":
        used.append((window, stride))
    if not values:
      raise ValueError(f"no window of {settings.pairs()[0][0]} frames fits in "
                       f"{len(reference)} and {len(generated)} frames")
    out[metric] = float(np.mean(values))
  out["window_stride_pairs"] = len(used)
  return out
