"""Head motion as a viewer perceives it: amplitude, speed, jitter and kind, not phase.

Sampled head motion cannot match its truth frame by frame (the phase of a sway is not in
the audio), so frame-aligned distances (D-L, D-V) reward a still head. These measures
compare a generated head-pose series with the truth's over a whole clip instead.

A pose series is (T, len(AXES)) at 60 fps: yaw, pitch, roll in degrees and the head's
image position x, y in hundredths of the source's face width (the first five values of
`motion.encode_pose`); any constant offset drops out of every measure.

- amplitude: the standard deviation of each axis over the clip;
- speed: the RMS of its frame-to-frame velocity, per second;
- jitter share: the share of the velocity's power above JITTER_HZ (mean removed, Hann
  tapered so that a clip's ends do not leak power to high frequencies);
- window distance: the SLD-style distance (metrics/style.py's clean windows: 1 s,
  half overlapping) between the two angle series, each about its own mean: per frame the
  Euclidean distance of (yaw, pitch, roll) in degrees, mean over a window's aligned
  frames, min over the generated windows, mean over the reference's. It rewards the right
  kind of motion at any phase.

The ratios are generated / truth; a truth axis that does not move (amplitude or speed
below MIN_TRUTH) gives NaN rather than a ratio of noise. The jitter ratio compares shares
floored at JITTER_FLOOR: a smooth sway's share is about 1e-6 (the synthetic world's yaw is
one sinusoid), and a ratio of two shares that small says nothing a viewer could see; the
shares themselves are reported too.
"""

from __future__ import annotations

import numpy as np

from stylehead_jax import media
from stylehead_jax.metrics import style

AXES = ("yaw", "pitch", "roll", "x", "y")
ANGLES = slice(0, 3)
JITTER_HZ = 4.0
JITTER_FLOOR = 0.01  # shares of the velocity's power below 1% count as 1%
MIN_TRUTH = 1e-3  # degrees or hundredths of a face width (per second for speeds)


def _series(series) -> np.ndarray:
  s = np.asarray(series, np.float64)
  if s.ndim != 2 or s.shape[1] != len(AXES):
    raise ValueError(f"a pose series is (T, {len(AXES)}) {AXES}, got shape {s.shape}")
  if len(s) < 3:
    raise ValueError(f"a pose series needs at least 3 frames, got {len(s)}")
  return s


def amplitude(series) -> np.ndarray:
  """(len(AXES),) standard deviation of each axis over the clip."""
  return _series(series).std(0)


def speed(series, fps: float = media.FPS) -> np.ndarray:
  """(len(AXES),) RMS frame-to-frame velocity of each axis, per second."""
  return np.sqrt((np.diff(_series(series), axis=0) ** 2).mean(0)) * fps


def jitter_share(series, fps: float = media.FPS, cutoff_hz: float = JITTER_HZ) -> np.ndarray:
  """(len(AXES),) share of each axis' velocity power above `cutoff_hz` (0 where the axis
  does not move)."""
  velocity = np.diff(_series(series), axis=0)
  velocity = (velocity - velocity.mean(0)) * np.hanning(len(velocity))[:, None]
  power = np.abs(np.fft.rfft(velocity, axis=0)) ** 2
  high = np.fft.rfftfreq(len(velocity), 1.0 / fps) > cutoff_hz
  total = power.sum(0)
  return np.where(total > 0, power[high].sum(0) / np.maximum(total, 1e-300), 0.0)


def window_distance(reference, generated, window: int = style.CLEAN_WINDOW,
                    stride: int = style.CLEAN_STRIDE) -> float:
  """SLD-style distance of the head's angles (module doc), degrees; windows longer than
  either series shrink to the shorter one's length."""
  ref, gen = (_series(s)[:, ANGLES] for s in (reference, generated))
  ref, gen = ref - ref.mean(0), gen - gen.mean(0)
  window = min(window, len(ref), len(gen))
  return style.windowed_min_means(ref[:, None], gen[:, None], [(window, stride)])[0]


def _ratio(generated: np.ndarray, truth: np.ndarray) -> np.ndarray:
  return np.where(truth > MIN_TRUTH, generated / np.maximum(truth, MIN_TRUTH), np.nan)


def ratios(generated, truth) -> dict[str, float]:
  """pose_{amplitude,speed,jitter}_ratio_<axis>: generated / truth per axis (module doc),
  with the jitter shares themselves (pose_jitter_share_<axis>,
  pose_truth_jitter_share_<axis>)."""
  out = {}
  g_jitter, t_jitter = jitter_share(generated), jitter_share(truth)
  values = {"amplitude_ratio": _ratio(amplitude(generated), amplitude(truth)),
            "speed_ratio": _ratio(speed(generated), speed(truth)),
            "jitter_ratio": (np.maximum(g_jitter, JITTER_FLOOR)
                             / np.maximum(t_jitter, JITTER_FLOOR)),
            "jitter_share": g_jitter, "truth_jitter_share": t_jitter}
  for name, per_axis in values.items():
    out.update({f"pose_{name}_{axis}": float(v) for axis, v in zip(AXES, per_axis)})
  return out


def measures(generated, truth, other=None) -> dict[str, float]:
  """`ratios` and the window distances of the generated head (pose_window_distance), of
  a still one (pose_window_distance_still) and, given `other` (the truth of another clip
  of the same style), of that (pose_window_distance_other): reference points a motion
  should land between."""
  out = ratios(generated, truth)
  out["pose_window_distance"] = window_distance(truth, generated)
  out["pose_window_distance_still"] = window_distance(truth, np.zeros_like(_series(truth)))
  if other is not None:
    out["pose_window_distance_other"] = window_distance(truth, other)
  return out
