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
  A track from a video below 60 fps holds each source frame for 2 or 3 frames (media.
  resample_indices): its frame-to-frame velocity is zero on every held frame and the
  whole step on the next, which no smooth 60 fps motion can match (against a 30 fps
  reference a still face scores below the reference's own halves, whose held frames
  line up). Given the tracks' source rates (`StyleSettings.source_fps`), SLV compares
  them at the reference's source rate instead: each track taken back to its source
  frames and linearly interpolated at the reference's frame times (`at_rate`), its
  velocities per 1/60 s as at 60 fps, over windows of the same 1 s. SLD and SMD compare
  positions and stay at 60 fps.

aioz (the paper's released code, aioz-ai/AudioDrivenStyleTransfer src/style_metrics,
  rewritten from its description). Per frame, SLD: all 68 points shifted by their
  per-axis minimum and divided by their x-extent, mean point distance x 100; SLV: the
  points shifted by their per-axis minimum, frame-to-frame differences divided by the
  current frame's x-extent, mean point distance x 100; SMD: the 20 mouth points centred
  on their centroid, mean point distance, in pixels. The figure is the average over every
  window length 10..100 and stride 1..19; a window longer than the clip makes the
  released code's figure NaN (an empty mean), which `StyleSettings.released_nan`
  reproduces and which by default is an error (`TooShort`). Its inner loop keeps one list of
  distances across all generated windows of a reference window, so the "min" is taken
  over running means (of windows 0..j), not over single windows: `aioz` reproduces that,
  and `AIOZ_RUNNING_MEAN` says so in the output. It walks both tracks with the generated
  clip's frame count (and fails where the reference is shorter): here both are cut to
  the shorter. The released code measures dlib landmarks on whole frames resampled to
  29.97 fps and resized to 512 x 512 (stylehead_jax/landmarks/aioz.py reproduces them).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from stylehead_jax import media
from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.metrics import distances

PROTOCOLS = ("clean", "aioz")
CLEAN_WINDOW, CLEAN_STRIDE = 60, 30  # frames: 1 s windows at 60 fps, half overlapping
AIOZ_WINDOWS = range(10, 101)
AIOZ_STRIDES = range(1, 20)
AIOZ_RUNNING_MEAN = True
_ROWS_PER_CHUNK = 64  # reference frames per block of the frame-pair distance matrix
# Frame-pair distances held at once by windowed_min_means (float64), whatever the
# tracks' lengths.
_BLOCK_ELEMENTS = 1 << 22


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


def windowed_min_means(reference, generated, pairs, running_mean: bool = False) -> list[float]:
  """For each (length, stride) of `pairs`: the mean over reference windows s of the min
  over generated windows j of the mean distance of their `length` aligned frame pairs.
  Windows start on multiples of the stride; reference (N_r, P, D), generated (N_g, P, D);
  a window that does not fit gives NaN.

  running_mean: the min is over the mean of windows 0..j instead (the aioz loop).

  Each reference window's min is its own, so the reference is taken a block of rows at a
  time (the rows its windows cover, with the longest window's overlap): the distances
  held are about _BLOCK_ELEMENTS, for tracks of any length (ten minutes at 29.97 fps
  are 18,000 frames; their whole distance matrix would take 2.6 GB).
  """
  if not pairs:
    return []
  reference, generated = np.asarray(reference, np.float64), np.asarray(generated, np.float64)
  n_r, n_g = len(reference), len(generated)
  # Windows start on multiples of their stride, so only the diagonals j - i that are
  # multiples of the strides' gcd are read; blocks start on such multiples too.
  step = math.gcd(*[stride for _, stride in pairs])
  longest = max(length for length, _ in pairs)
  advance = max(step, (_BLOCK_ELEMENTS // max(1, n_g) - longest) // step * step)
  best = [[] for _ in pairs]
  for first in range(0, max(0, n_r - min(length for length, _ in pairs) + 1), advance):
    cumsum = diagonal_cumsum(pair_distances(reference[first:first + advance + longest],
                                            generated, step))
    for (length, stride), values in zip(pairs, best):
      starts = range(-(-first // stride) * stride, min(first + advance, n_r - length + 1),
                     stride)
      if not len(starts) or length > n_g:
        continue
      rows = slice(starts.start - first, starts.stop - first, stride)
      ends = slice(rows.start + length, rows.stop + length, stride)
      sums = cumsum[ends, length::stride] - cumsum[rows, :n_g + 1 - length:stride]
      means = sums / length
      if running_mean:
        means = np.cumsum(means, axis=1) / np.arange(1, means.shape[1] + 1)
      values.append(means.min(1))
  return [float(np.concatenate(v).mean()) if v else math.nan for v in best]


def at_rate(track, source_fps: float, rate: float) -> np.ndarray:
  """(K, ...) a 60 fps track (T, ...) whose frames come from a source at `source_fps`
  (held, media.resample_indices; 60: a track made at 60 fps) at the times k / `rate` that
  its source covers: its source frames (the first frame showing each) linearly
  interpolated there."""
  track = np.asarray(track, np.float64)
  shown = media.resample_indices(
      max(1, int(round(len(track) * source_fps / media.FPS))), source_fps, media.FPS)
  shown = shown[:len(track)]
  first = np.searchsorted(shown, np.arange(shown[-1] + 1))  # first frame showing each
  source = track[first]
  times = np.arange(int(np.floor((len(source) - 1) * rate / source_fps + 1e-6)) + 1)
  position = times * source_fps / rate  # in source frames
  low = np.minimum(np.floor(position + 1e-9).astype(int), len(source) - 1)
  high = np.minimum(low + 1, len(source) - 1)
  weight = (position - low).reshape((-1,) + (1,) * (track.ndim - 1))
  return (1 - weight) * source[low] + weight * source[high]


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


class TooShort(ValueError):
  """A window longer than the tracks it should fit in."""

  def __init__(self, window: int, reference_frames: int, generated_frames: int):
    self.window, self.frames = window, (reference_frames, generated_frames)
    super().__init__(f"windows of {window} frames do not fit in {reference_frames} "
                     f"(reference) and {generated_frames} (generated) frames")


@dataclasses.dataclass(frozen=True)
class StyleSettings:
  protocol: str = "clean"
  window: int | None = None  # None: 60 (clean) or the 10..100 sweep (aioz)
  stride: int | None = None  # None: 30 (clean) or the 1..19 sweep (aioz)
  # A window that does not fit: NaN for that (window, stride), which then makes the
  # averages NaN, as the released code does (aioz); False raises TooShort.
  released_nan: bool = False
  # clean: the (reference, generated) tracks' source frame rates; SLV is then compared at
  # the reference's (module doc). None: both as given, at 60 fps.
  source_fps: tuple[float, float] | None = None

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


def style_metrics(reference, generated, settings: StyleSettings = StyleSettings(),
                  metrics: tuple[str, ...] = METRICS) -> dict:
  """SLD, SLV, SMD (or those of `metrics`) of a generated track against a style reference
  track, and the (window, stride) pairs they average over. Tracks (N, 68, 2|3) in
  pixels. A window longer than either track raises TooShort (or gives NaN:
  `released_nan`)."""
  if settings.protocol == "aioz":  # the released code walks both with one frame count
    n = min(len(reference), len(generated))
    reference, generated = reference[:n], generated[:n]
  longest = max(window for window, _ in settings.pairs())
  if longest > min(len(reference), len(generated)) and not settings.released_nan:
    raise TooShort(longest, len(reference), len(generated))
  running = settings.protocol == "aioz" and AIOZ_RUNNING_MEAN
  pairs = settings.pairs()
  out = {}
  for metric in metrics:
    ref, gen, metric_pairs, scale = reference, generated, pairs, 1.0
    if metric == "slv" and settings.source_fps and settings.protocol == "clean":
      rate = float(settings.source_fps[0])  # the reference's own frame rate (module doc)
      ref, gen = (at_rate(t, f, rate) for t, f in zip((reference, generated),
                                                       settings.source_fps))
      metric_pairs = [(max(2, round(w * rate / media.FPS)), max(1, round(v * rate / media.FPS)))
                      for w, v in pairs]
      scale = media.FPS / rate  # velocities per 1/60 s, as at 60 fps
    # A window of F frames holds F - 1 velocities.
    lengths = [(window - 1 if metric == "slv" else window, stride)
               for window, stride in metric_pairs]
    fits = [length >= 1 and window <= min(len(ref), len(gen))
            for (length, _), (window, _) in zip(lengths, metric_pairs)]
    values = windowed_min_means(per_frame(ref, metric, settings.protocol) / scale,
                                per_frame(gen, metric, settings.protocol) / scale,
                                [p for p, fit in zip(lengths, fits) if fit], running)
    values = iter(values)
    out[metric] = float(np.mean([next(values) if fit else math.nan for fit in fits]))
  out["window_stride_pairs"] = len(pairs)
  return out
