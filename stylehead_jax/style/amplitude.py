"""A style's amplitude: how far its head turns and moves and how wide its mouth opens,
given to generated motion without training (statistics matching, as AdaIN matches a
feature's spread to a style's).

Both sides are measured alike (`measure`), over spans of the same length (`window`
frames: the output's, or the style video's where that is shorter), since a wandering
head spreads further over a longer span (a 33 s style video's yaw spreads 1.6x as far
as over its 8 s windows):
  head: the standard deviation of each head axis (metrics/head_motion.AXES: yaw, pitch,
    roll, sideways x, y) of pose vectors relative to the clip's first frame
    (motion.encode_pose), smoothed as the Motion Generator's samples are; the median
    over the clip's half-overlapping windows;
  mouth: the 95th percentile of the inner-mouth opening (metrics/mouth.opening) of the
    canonical faces (the head's pose removed), over the whole clip.
`gains` are the factors that give the generated motion the style's amplitude: each head
axis of the pose vectors is scaled about the source's pose (the first frame keeps the
portrait's), so its spread and speed both take the factor and its rhythm stays the
Motion Generator's; the mouth's inner-lip gap is widened or narrowed by motion.open_mouth.
A style video needs no sound for this: only its tracked face.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from stylehead_jax.metrics import head_motion
from stylehead_jax.metrics import mouth

# Factors are kept within these: a head that hardly moves is not blown up into jitter,
# nor a still mouth forced open.
MIN_GAIN, MAX_GAIN = 0.125, 8.0
MIN_SPREAD = 1e-4  # below this (pose units, eye distances) an axis counts as still: gain 1


@dataclasses.dataclass(frozen=True)
class Amplitude:
  head: np.ndarray | None  # (len(head_motion.AXES),) std per head axis; None: not given
  mouth: float | None  # 95th percentile of the inner-mouth opening, eye distances
  window: int  # frames per span the head was measured over (at most the clip's)


def measure(faces, pose_vectors, window: int | None = None) -> Amplitude:
  """The amplitude of canonical faces (T, 68, 2|3) and smoothed pose vectors (T, >= 5)
  relative to the first frame (module doc): the head's over spans of `window` frames or
  of the whole clip where that is shorter (None: the whole clip), which the result
  records, so another motion is measured over spans as long."""
  head = np.asarray(pose_vectors, np.float64)[:, :len(head_motion.AXES)]
  n = len(head)
  window = n if window is None else min(window, n)
  if window == n:
    spread = head_motion.amplitude(head)
  else:
    step = max(window // 2, 1)
    spread = np.median([head_motion.amplitude(head[s:s + window])
                        for s in range(0, n - window + 1, step)], axis=0)
  return Amplitude(head=spread, mouth=float(np.percentile(mouth.opening(faces), 95)),
                   window=window)


def _gain(target, generated):
  target, generated = np.asarray(target, np.float64), np.asarray(generated, np.float64)
  still = (target < MIN_SPREAD) | (generated < MIN_SPREAD)
  ratio = np.where(still, 1.0, target / np.maximum(generated, MIN_SPREAD))
  return np.clip(ratio, MIN_GAIN, MAX_GAIN)


def gains(generated: Amplitude, style: Amplitude) -> tuple[np.ndarray, float]:
  """(head factors (len(AXES),), mouth factor) that take `generated` to `style` (1 for a
  part the style leaves out)."""
  head = (np.ones(len(head_motion.AXES)) if style.head is None
          else _gain(style.head, generated.head))
  return head, 1.0 if style.mouth is None else float(_gain(style.mouth, generated.mouth))


def only(style: Amplitude, part: str) -> Amplitude:
  """`style` with only its "head" or only its "mouth" (the other left as generated)."""
  if part not in ("head", "mouth"):
    raise ValueError(f"a style amplitude's part is 'head' or 'mouth', not {part!r}")
  return dataclasses.replace(style, **{"mouth" if part == "head" else "head": None})
