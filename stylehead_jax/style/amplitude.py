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
    over the clip's half-overlapping windows; and its speed (RMS velocity) likewise;
  mouth: the inner-mouth opening (metrics/mouth.opening) of the canonical faces (the
    head's pose removed) over the whole clip: its percentiles PERCENTILES and its 95th.
`head_gains` are the factors that give the generated motion the style's amplitude: each
head axis of the pose vectors is scaled about its own mean over the output (scale_head,
"mean": a spread is a standard deviation, so a lasting offset from the portrait's pose
is not part of it and keeps its size; the first frame keeps the portrait's pose), so its
spread and speed both take the factor and its rhythm stays the Motion Generator's.
A gain widens a slow, wide style's head at the model's pace, so it moves faster than the
style's; `slow_head` ("style_tempo", a study's variant) first low-passes each axis that
crosses its range faster than the style's does (speed over spread, `tempo`) until it
crosses it as fast, and the gain then gives it the style's spread and, with it, about the
style's speed. A head slower than the style's stays slow that way: "matched_tempo" (the
default after a fine-tune, FINE_TUNED_HEAD_TEMPO, animate) also samples such an axis
again with its noise's time constant and its smoothing shortened (`tempo_speedup`,
motion.generate_motion) until it is about as fast, then slows what overshoots. On the
validation styles "style_tempo" cost SMD and lip sync for a little SLV, while
"matched_tempo" brought SLV nearer the style's own on all four at no cost of either
(docs/style_transfer.md); without a fine-tune the head keeps the model's tempo
("model_tempo").
Scaling about the portrait's pose ("source", before 2026-12-07) widened a fine-tune's
lasting nod by the gain too (docs/style_transfer.md: surprisegirl's faces tipped 24
degrees). `mouth_gains` widen or narrow the inner-lip gap (motion.open_mouth):
by one factor that matches the 95th percentile (mouth_match "p95", the default), or
frame by frame by quantile mapping ("quantiles"): each frame's opening moves to the
style's opening at the same percentile, so the mouth is as often closed, half open and
wide open as the style's, in the model's own order of frames. On the validation styles
quantile mapping alone lowered SMD a little more but cost lip sync on one style beyond the
Real style issue's 0.05, and after the fine-tune (which holds the syllables) lowered SMD
at no such cost (docs/style_transfer.md): so "p95" without a fine-tune, "quantiles"
after one (FINE_TUNED_MOUTH_MATCH, animate).
The mouth's width is the portrait's, not the style's: a fine-tune can learn a style's
lasting smile as a wider mouth (surprisegirl's broad smiles: 9 % wider on face_happy, and
that output's identity distance 0.23 -> 0.37 with no amplitude at all), and the dlib
identity descriptor moves 0.08, 0.17, 0.27 for lips 5, 10, 15 % wider on that portrait
(warped, nothing else changed). So after a fine-tune (FINE_TUNED_MOUTH_WIDTH, animate)
`hold_mouth_width` scales the lips sideways, one factor for the clip, until their median
width is at most WIDTH_TOLERANCE above the portrait's ("portrait_width"); how the mouth
opens and moves stays the fine-tune's. A narrower mouth is kept: a mouth narrows as it
opens round (singing), and widening such a fine-tune's mouth back to the portrait's width
raised the identity distance on the validation styles (lp_d6 on face_lp_s5 singing: a
median width 0.91 of the portrait's, identity 0.307; widened to 1.01, 0.343). The
study's variant "generated_width" keeps the fine-tune's width (docs/style_transfer.md).
A style video needs no sound for this: only its tracked face.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from stylehead_jax import media
from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.metrics import head_motion
from stylehead_jax.metrics import mouth

# Factors are kept within these: a head that hardly moves is not blown up into jitter,
# nor a still mouth forced open.
MIN_GAIN, MAX_GAIN = 0.125, 8.0
MIN_SPREAD = 1e-4  # below this (pose units, eye distances) an axis counts as still: gain 1
PERCENTILES = np.linspace(0.0, 100.0, 21)  # the mouth's opening, every 5th percentile
MOUTH_MATCHES = ("p95", "quantiles")
# With the fine-tune (animate --style_steps N > 0) the mouth is matched by quantiles: there
# L_keep holds the syllables the mouth opens on, and on the validation styles quantiles
# lowered SMD further at no cost of lip sync (docs/style_transfer.md); without it, "p95".
FINE_TUNED_MOUTH_MATCH = "quantiles"
HEAD_CENTRES = ("mean", "source", "local")
# The head's tempo: the model's, the style's where the model's is faster (slow_head), or
# the style's both ways (tempo_speedup: sampled faster where slower, then slow_head).
HEAD_TEMPOS = ("model_tempo", "style_tempo", "matched_tempo")
FINE_TUNED_HEAD_TEMPO = "matched_tempo"  # after a fine-tune (animate); before, the model's
MAX_TEMPO_SPEEDUP = 8.0  # tempo_speedup's largest factor
REACH_SIGMAS = 3.0  # bound_head: how far from its mean a head goes, in its standard deviations
REACH_KNEE = 0.75  # bound_head: deviations up to this fraction of that kept as they are
TEMPO_PASSES = 3  # motion.generate_motion samples the head again at most this often
MAX_SLOWING_SECONDS = 1.0  # slow_head's widest Gaussian (its standard deviation)
EASE_SECONDS = 0.5  # scale_head about the mean or the local mean: gains ease in over this
# Whose median mouth width the output keeps at most (hold_mouth_width): as generated, or
# the portrait's; after a fine-tune, FINE_TUNED_MOUTH_WIDTH (animate).
MOUTH_WIDTHS = ("generated_width", "portrait_width")
FINE_TUNED_MOUTH_WIDTH = "portrait_width"
WIDTH_TOLERANCE = 0.02  # hold_mouth_width: the median width at most this fraction above


@dataclasses.dataclass(frozen=True)
class Amplitude:
  head: np.ndarray | None  # (len(head_motion.AXES),) std per head axis; None: not given
  mouth: float | None  # 95th percentile of the inner-mouth opening, eye distances
  window: int  # frames per span the head was measured over (at most the clip's)
  mouth_quantiles: np.ndarray | None = None  # the opening at PERCENTILES
  mouth_match: str = "p95"  # how mouth_gains gives a motion this mouth (MOUTH_MATCHES)
  head_centre: str = "mean"  # what scale_head scales the head about (HEAD_CENTRES)
  head_speed: np.ndarray | None = None  # (len(AXES),) RMS velocity per axis, per second
  head_tempo: str = "model_tempo"  # whose speed for its spread the head keeps (HEAD_TEMPOS)
  mouth_width_from: str = "generated_width"  # MOUTH_WIDTHS (hold_mouth_width)


def measure(faces, pose_vectors, window: int | None = None,
            fps: float = media.FPS) -> Amplitude:
  """The amplitude of canonical faces (T, 68, 2|3) and smoothed pose vectors (T, >= 5)
  relative to the first frame (module doc): the head's over spans of `window` frames or
  of the whole clip where that is shorter (None: the whole clip), which the result
  records, so another motion is measured over spans as long."""
  head = np.asarray(pose_vectors, np.float64)[:, :len(head_motion.AXES)]
  window = len(head) if window is None else min(window, len(head))
  opening = mouth.opening(faces)
  return Amplitude(head=head_spread(head, window), mouth=float(np.percentile(opening, 95)),
                   window=window, mouth_quantiles=np.percentile(opening, PERCENTILES),
                   head_speed=head_speed(head, window, fps))


def _over_spans(statistic, head: np.ndarray, window: int) -> np.ndarray:
  """(A,) `statistic` of each axis over spans of `window` frames (half-overlapping; their
  median), or over the whole of `head` (T, A) where it is no longer."""
  n = len(head)
  if window >= n:
    return statistic(head)
  step = max(window // 2, 1)
  return np.median([statistic(head[s:s + window]) for s in range(0, n - window + 1, step)],
                   axis=0)


def head_spread(head: np.ndarray, window: int) -> np.ndarray:
  """(A,) each axis' standard deviation over spans of `window` frames (_over_spans)."""
  return _over_spans(head_motion.amplitude, head, window)


def head_speed(head: np.ndarray, window: int, fps: float = media.FPS) -> np.ndarray:
  """(A,) each axis' RMS velocity per second over spans of `window` frames (_over_spans)."""
  return _over_spans(lambda h: head_motion.speed(h, fps), head, window)


def tempo(spread: np.ndarray, speed: np.ndarray) -> np.ndarray:
  """(A,) speed over spread, per second: how quickly a head crosses its own range, whatever
  its size (a gain scales both); NaN on a still axis."""
  spread, speed = np.asarray(spread, np.float64), np.asarray(speed, np.float64)
  return np.where(spread < MIN_SPREAD, np.nan, speed / np.maximum(spread, MIN_SPREAD))


def _tempo_and_spread(head: np.ndarray, window: int, fps: float):
  """((A,) `tempo`, (A,) head_spread) of a head (T, A) over spans of `window` frames."""
  spread = head_spread(head, window)
  return tempo(spread, head_speed(head, window, fps)), spread


def slow_head(head: np.ndarray, style: Amplitude, smooth, view=lambda head: head,
              fps: float = media.FPS, steps: int = 12) -> np.ndarray:
  """(T, A) head pose vectors low-passed, axis by axis, until they cross their range no
  faster than `style`'s head does (`tempo`), where they are faster; an axis already as slow,
  or still on either side, is kept. head_gains then give it the style's spread, so its
  speed follows: a slow, wide style's head is widened without being sped up by the gain.

  smooth(head, seconds) -> head: a zero-phase low-pass of standard deviation `seconds` (A,)
  per axis that keeps the first frame (motion.smooth_pose); view(head) -> head: what the
  tempo is measured on (as `style`'s was: motion smooths its samples once more). The
  seconds are found by bisection (`steps`), up to MAX_SLOWING_SECONDS (a style slower
  still gets that), and no further than leaves the axis a spread within MAX_GAIN of the
  style's."""
  head = np.asarray(head, np.float64)
  if style.head is None or style.head_speed is None or style.head_tempo == "model_tempo":
    return head
  if style.head_tempo not in HEAD_TEMPOS:
    raise ValueError(f"head_tempo is one of {HEAD_TEMPOS}, not {style.head_tempo!r}")
  window = min(style.window, len(head))
  target = tempo(style.head, style.head_speed)

  measured = lambda seconds: _tempo_and_spread(view(smooth(head, seconds)), window, fps)

  # Slowing also narrows; an axis is slowed no further than leaves a spread the gain can
  # still widen to the style's (MAX_GAIN): on surprisegirl's wide, slow nod the slowed
  # pitch otherwise ended at 0.61 of the style's spread.
  reachable = lambda spread: spread * MAX_GAIN >= style.head
  low, high = np.zeros(head.shape[1]), np.zeros(head.shape[1])
  too_fast = np.nan_to_num(measured(low)[0] > target)  # NaN (still) compares False
  high[too_fast] = MAX_SLOWING_SECONDS
  for _ in range(steps):
    middle = (low + high) / 2
    pace, spread = measured(middle)
    slower = np.nan_to_num(pace > target) & reachable(spread)
    low, high = np.where(slower, middle, low), np.where(slower, high, middle)
  return smooth(head, np.where(reachable(measured(high)[1]), high, low))


def tempo_speedup(head: np.ndarray, style: Amplitude, view=lambda head: head,
                  fps: float = media.FPS, sampled: np.ndarray | None = None) -> np.ndarray:
  """(A,) how many times faster than the model's each head axis should be sampled to cross
  its range as fast as `style`'s head does ("matched_tempo"): a head (T, A) sampled
  `sampled` (A,) times faster (default 1) times the style's tempo over the head's, within
  1 to MAX_TEMPO_SPEEDUP; `sampled` where an axis is still on either side, and 1 where the
  style's tempo is not matched. A head's tempo grows more slowly than its noise's
  (the audio's part of its motion keeps its pace), so motion.generate_motion samples
  again with the result until it settles (TEMPO_PASSES); slow_head then takes off what
  is too fast. view: as in slow_head."""
  sampled = np.ones(np.shape(head)[1]) if sampled is None else np.asarray(sampled, np.float64)
  if style.head is None or style.head_speed is None or style.head_tempo != "matched_tempo":
    return np.ones_like(sampled)
  viewed = view(np.asarray(head, np.float64))
  own = _tempo_and_spread(viewed, min(style.window, len(viewed)), fps)[0]
  ratio = tempo(style.head, style.head_speed) / own
  return np.clip(sampled * np.nan_to_num(ratio, nan=1.0), 1.0, MAX_TEMPO_SPEEDUP)


def bound_head(head: np.ndarray, style: Amplitude) -> np.ndarray:
  """(T, A) head pose vectors whose deviation from their mean stays within REACH_SIGMAS of
  their standard deviations, with the style's tempo matched both ways ("matched_tempo"):
  a head sampled faster makes rare wide swings within the same spread (on lp_d12 a
  sideways swing of 5 standard deviations, 2.2x as far as the style's furthest, the face
  half out of the crop for three frames). Deviations up to REACH_KNEE of that reach are
  kept; beyond it they bend smoothly towards it (tanh, slope 1 at the knee). Otherwise
  as given."""
  head = np.asarray(head, np.float64)
  if style.head_tempo != "matched_tempo":
    return head
  mean = head.mean(0)
  deviation = head - mean
  reach = REACH_SIGMAS * deviation.std(0)
  knee = REACH_KNEE * reach
  room = np.maximum(reach - knee, MIN_SPREAD)
  beyond = np.maximum(np.abs(deviation) - knee, 0.0)
  bent = np.sign(deviation) * (np.minimum(np.abs(deviation), knee)
                               + room * np.tanh(beyond / room))
  return mean + np.where(reach < MIN_SPREAD, deviation, bent)


def _gain(target, generated):
  target, generated = np.asarray(target, np.float64), np.asarray(generated, np.float64)
  still = (target < MIN_SPREAD) | (generated < MIN_SPREAD)
  ratio = np.where(still, 1.0, target / np.maximum(generated, MIN_SPREAD))
  return np.clip(ratio, MIN_GAIN, MAX_GAIN)


def head_gains(generated: Amplitude, style: Amplitude) -> np.ndarray:
  """(len(AXES),) factors that take `generated`'s head to `style`'s (1 where the style
  leaves the head out)."""
  if style.head is None:
    return np.ones(len(head_motion.AXES))
  return _gain(style.head, generated.head)


def scale_head(head: np.ndarray, gains: np.ndarray, centre: str = "mean",
               window: int = 1, fps: float = media.FPS,
               target: np.ndarray | None = None) -> np.ndarray:
  """(T, A) head pose vectors (relative to the source pose, the first frame's) with each
  axis' motion scaled to the style's spread: `gains` (A,) are head_gains'.

  "source": times `gains` about the source pose; a lasting offset from it, or a slow
  drift, grows by the gain as well. "mean": times `gains` about the motion's own mean
  over the clip, so its spread over any span takes the gain (what head_gains measured: a
  standard deviation) and a lasting offset from the source pose keeps its size; a slow
  drift about that mean still grows; the gains ease in over EASE_SECONDS (raised
  cosine), so the first frame keeps the source's pose. "local": the motion split into
  its moving average over `window` frames (the spans the gains were measured over) and
  what moves about it; where the gain is at most 1 both are scaled by it (as "source"
  does); where it is above 1 the average stays as it is, and what moves about it takes
  the gain that gives it the style's spread `target` (A,) over those spans (head_spread,
  within MIN_GAIN-MAX_GAIN),
  so a model's slow drift is never widened; the widening eases in over EASE_SECONDS
  (raised cosine), so the first frame keeps the source's pose.
  """
  head = np.asarray(head, np.float64)
  gains = np.asarray(gains, np.float64)
  if centre == "source":
    return head * gains
  t = np.arange(len(head)) / max(EASE_SECONDS * fps, 1.0)
  ease = (0.5 - 0.5 * np.cos(np.pi * np.clip(t, 0.0, 1.0)))[:, None]
  if centre == "mean":
    mean = head.mean(0)
    return mean + (1.0 + ease * (gains - 1.0)) * (head - mean)
  if centre != "local":
    raise ValueError(f"head_centre is one of {HEAD_CENTRES}, not {centre!r}")
  if target is None:
    raise ValueError("scale_head(centre='local') needs the style's spread (target)")
  n, half = len(head), max(int(window), 1) // 2
  padded = np.pad(head, ((half, half), (0, 0)), mode="reflect" if n > half else "edge")
  box = np.ones(2 * half + 1) / (2 * half + 1)
  slow = np.stack([np.convolve(padded[:, a], box, mode="valid")[:n]
                   for a in range(head.shape[1])], -1)
  fast = head - slow
  widen = np.where(gains > 1.0, _gain(target, head_spread(fast, window)), gains)
  shrink = np.minimum(gains, 1.0)
  return shrink * slow + (shrink + ease * (widen - shrink)) * fast


def mouth_gains(opening: np.ndarray, style: Amplitude) -> np.ndarray:
  """(T,) factors for the inner-lip gap of a motion whose opening is `opening` (T,), eye
  distances, that give it `style`'s mouth (module doc; 1 where the style leaves the mouth
  out, and on closed frames)."""
  opening = np.asarray(opening, np.float64)
  if style.mouth is None or style.mouth < MIN_SPREAD:  # a style's still mouth: no change
    return np.ones(len(opening))
  if style.mouth_match == "p95":
    return np.full(len(opening), float(_gain(style.mouth, np.percentile(opening, 95))))
  if style.mouth_match != "quantiles":
    raise ValueError(f"mouth_match is one of {MOUTH_MATCHES}, not {style.mouth_match!r}")
  mine = np.percentile(opening, PERCENTILES)
  mine = mine + 1e-9 * np.arange(len(mine))  # ties (a mouth closed for a while) in order
  target = np.interp(opening, mine, style.mouth_quantiles)
  ratio = np.where(opening < MIN_SPREAD, 1.0, target / np.maximum(opening, MIN_SPREAD))
  return np.clip(ratio, MIN_GAIN, MAX_GAIN)


def hold_mouth_width(faces: np.ndarray, style: Amplitude, portrait: np.ndarray,
                     tolerance: float = WIDTH_TOLERANCE) -> np.ndarray:
  """Canonical faces (T, 68, 3) whose lips (lmk.MOUTH), where their median width
  (metrics/mouth.width) is more than `tolerance` above the canonical `portrait`'s (68, 3),
  are narrowed sideways about the corners' midpoint, by one factor for the whole clip, to
  that much above it ("portrait_width", module doc); a narrower mouth, and
  "generated_width", are kept as they are."""
  if style.mouth_width_from not in MOUTH_WIDTHS:
    raise ValueError(f"mouth_width_from is one of {MOUTH_WIDTHS}, "
                     f"not {style.mouth_width_from!r}")
  if style.mouth_width_from == "generated_width":
    return faces
  target = float(mouth.width(portrait))
  median = float(np.median(mouth.width(faces)))
  factor = min(target * (1 + tolerance) / median, 1.0)
  if factor == 1.0:
    return faces
  out = np.array(faces, copy=True)
  centre = (out[:, lmk.LEFT_MOUTH_CORNER, 0] + out[:, lmk.RIGHT_MOUTH_CORNER, 0])[:, None] / 2
  out[:, lmk.MOUTH, 0] = centre + factor * (out[:, lmk.MOUTH, 0] - centre)
  return out


def variant(style: Amplitude, name: str) -> Amplitude:
  """A study's variant of `style`: only its "head" or only its "mouth" (the other left as
  generated), both with the mouth matched another way (MOUTH_MATCHES: "quantiles" or
  "p95"), or both with the head scaled about another centre (HEAD_CENTRES: scale_head);
  several joined by "+" ("source+p95") apply in turn, or the head at the style's tempo
  ("style_tempo": slow_head; "matched_tempo": sampled faster too, tempo_speedup) or the
  model's ("model_tempo"), or the mouth's median
  width held to another's (MOUTH_WIDTHS: hold_mouth_width)."""
  for part in name.split("+"):
    if part in MOUTH_WIDTHS:
      style = dataclasses.replace(style, mouth_width_from=part)
    elif part in HEAD_TEMPOS:
      style = dataclasses.replace(style, head_tempo=part)
    elif part in MOUTH_MATCHES:
      style = dataclasses.replace(style, mouth_match=part)
    elif part in HEAD_CENTRES:
      style = dataclasses.replace(style, head_centre=part)
    elif part in ("head", "mouth"):
      style = dataclasses.replace(style, **{"mouth" if part == "head" else "head": None})
    else:
      raise ValueError(f"a style amplitude's variant is 'head', 'mouth', 'quantiles', "
                       f"'p95', 'mean', 'source', 'local', 'model_tempo', 'style_tempo', "
                       f"'matched_tempo', "
                       f"'generated_width' or 'portrait_width' "
                       f"(or several joined by '+'), not {part!r}")
  return style
