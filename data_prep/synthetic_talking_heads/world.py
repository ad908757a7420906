"""The procedural world of synthetic talking heads, with full ground truth.

A speaker is a face shape (a perturbed mean 68-point face), skin/hair/lip/background/shirt
colours and a voice (base f0, formant scale). An utterance is a sequence of syllables
(an optional m/b/p onset and a vowel a/e/i/o/u), with phrase pauses. One timeline of
segments drives everything:

  * audio: additive source-filter synthesis. Every harmonic k of f0(t) gets the amplitude
    of a three-formant spectral envelope at k * f0(t); formant tracks glide between vowels;
    /m/ is a quiet nasal murmur with the lips shut, /b/ and /p/ a silent closure ended by a
    noise burst; so the audio truly determines the mouth (loud open vowels open it, m/b/p
    close it);
  * mouth: each viseme has an (opening, width) target; the tracks are smoothed over
    ~30 ms (coarticulation: neighbours pull on each other in both directions);
  * head: sway (yaw/roll sinusoids), nods on beats, blinks, brow raises on loud notes;
  * frames: antialiased polygons drawn from the landmarks (so every pixel follows them).

A style is a set of delivery parameters (StyleParams) that shape both audio and motion:
talk, ballad, rap, opera. Every number is a WorldConfig or StyleParams value, so an
evaluation can draw speakers, utterances and style values that training never saw.
Everything is a deterministic function of (seed, split, speaker, utterance).
"""

from __future__ import annotations

import dataclasses
import hashlib

import cv2
import numpy as np
from scipy import ndimage

from stylehead_jax import media
from stylehead_jax import overrides as overrides_lib
from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.landmarks import pose
from stylehead_jax.landmarks import regions

# --- Visemes ----------------------------------------------------------------------------
VISEMES = ("rest", "closed", "a", "e", "i", "o", "u")
CLOSED = VISEMES.index("closed")
VOWELS = "aeiou"
ONSETS = (None, "m", "b", "p")
ONSET_PROBS = (0.45, 0.2, 0.2, 0.15)
# (opening, width) of the lips per viseme, opening in face widths before mouth_gain.
VISEME_SHAPE = {
    "rest": (0.006, 1.0), "closed": (0.0, 0.97),
    "a": (0.11, 0.95), "e": (0.065, 1.12), "i": (0.035, 1.18),
    "o": (0.085, 0.72), "u": (0.04, 0.6),
}
# (F1, F2, F3) in Hz for an average adult voice; a speaker scales them.
FORMANTS = {
    "a": (800, 1200, 2500), "e": (500, 1900, 2600), "i": (300, 2300, 3000),
    "o": (500, 900, 2400), "u": (330, 800, 2300), "m": (250, 1100, 2300),
}
FORMANT_BANDWIDTHS = np.array([90.0, 110.0, 170.0])
FORMANT_GAINS = np.array([1.0, 0.55, 0.3])
CONSONANT_SECONDS = 0.08
BURST_SECONDS = 0.012
COARTICULATION_SECONDS = 0.03
ENVELOPE_HOP = 40  # audio samples per control-rate step (600 Hz)


# --- Styles -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class StyleParams:
  """Delivery parameters of one style; each shapes audio, motion or both."""
  syllable_rate: float  # syllables per second (audio tempo and mouth rate)
  f0_scale: float  # times the speaker's base f0
  f0_range: float  # semitones of intonation or melody between syllables
  vibrato_depth: float  # semitones
  vibrato_rate: float  # Hz
  sustain: float  # fraction of a syllable that is voiced
  mouth_gain: float  # times the viseme opening
  sway_amplitude: float  # degrees of yaw (roll gets half)
  sway_frequency: float  # Hz
  nod_amplitude: float  # degrees of pitch per beat
  beat_syllables: float  # syllables per beat (nods land on beats)
  brow_raise: float  # brow lift on loud notes, in face widths x 100


STYLES = ("talk", "ballad", "rap", "opera")
STYLE_PRESETS = {
    "talk": StyleParams(4.0, 1.0, 2.0, 0.0, 5.5, 0.7, 1.0, 2.0, 0.35, 0.5, 4, 0.6),
    "ballad": StyleParams(1.6, 1.25, 5.0, 0.3, 5.0, 0.9, 1.3, 4.0, 0.15, 0.0, 4, 1.5),
    "rap": StyleParams(6.5, 1.0, 1.0, 0.0, 5.5, 0.6, 0.9, 1.5, 0.5, 6.0, 2, 0.3),
    "opera": StyleParams(1.3, 1.5, 7.0, 0.8, 5.5, 0.92, 1.6, 3.0, 0.2, 1.0, 4, 3.0),
}
STYLE_PARAM_NAMES = tuple(f.name for f in dataclasses.fields(StyleParams))


@dataclasses.dataclass(frozen=True)
class WorldConfig:
  """Every knob of the world. Splits draw disjoint speakers from the same seed."""
  seed: int = 0
  resolution: int = 64
  num_train_speakers: int = 8
  num_test_speakers: int = 4
  num_validation_speakers: int = 8  # held-out speakers for choosing settings
  utterances_per_style: int = 2  # per speaker and style, train split
  test_utterances_per_style: int = 1  # and validation split
  styles: tuple[str, ...] = STYLES
  min_seconds: float = 2.0
  max_seconds: float = 4.0
  style_jitter: float = 0.1  # each utterance scales its style values by U(1 +- jitter)
  face_scale: float = 0.5  # face width / crop width
  noise_floor: float = 1e-3  # white noise added to the audio (relative to peak 0.5)
  style_presets: tuple[tuple[str, StyleParams], ...] = tuple(STYLE_PRESETS.items())

  def style(self, name: str) -> StyleParams:
    return dict(self.style_presets)[name]

  def replace(self, **overrides) -> "WorldConfig":
    """Copy with overrides; `<style>.<param>` keys change one style value."""
    presets = dict(self.style_presets)
    plain = {}
    for key, value in overrides.items():
      if "." in key:
        style, param = key.split(".", 1)
        if style not in presets or param not in STYLE_PARAM_NAMES:
          raise KeyError(f"unknown style value {key!r}: styles {sorted(presets)}, "
                         f"values {STYLE_PARAM_NAMES}")
        try:
          presets[style] = dataclasses.replace(presets[style], **{param: float(value)})
        except ValueError:
          raise ValueError(f"{key}={value!r}: expected a number") from None
      else:
        plain[key] = value
    config = overrides_lib.apply(self, plain, what="world", skip=("style_presets",))
    unknown_styles = set(config.styles) - set(presets)
    if unknown_styles:
      raise KeyError(f"unknown styles {sorted(unknown_styles)}; known: {sorted(presets)}")
    return dataclasses.replace(config, style_presets=tuple(presets.items()))


# --- Speakers ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Speaker:
  speaker_id: str
  face: np.ndarray  # (68, 3) neutral face in face widths
  scale: float  # face width in crop widths
  f0: float  # Hz
  formant_scale: float
  skin: tuple[int, int, int]
  hair: tuple[int, int, int]
  lips: tuple[int, int, int]
  background: tuple[int, int, int]
  shirt: tuple[int, int, int]


def _rng(*keys) -> np.random.Generator:
  """A generator keyed by strings and ints (stable across runs and platforms)."""
  digest = hashlib.sha256(repr(keys).encode()).digest()
  return np.random.default_rng(np.frombuffer(digest[:16], np.uint32))


def _colour(rng, low, high) -> tuple[int, int, int]:
  return tuple(int(c) for c in rng.integers(low, high, size=3))


def make_speaker(config: WorldConfig, split: str, index: int) -> Speaker:
  rng = _rng(config.seed, "speaker", split, index)
  face = lmk.MEAN_FACE_3D.astype(np.float64).copy()
  face[:, 0] *= rng.uniform(0.92, 1.08)
  face[:, 1] *= rng.uniform(0.92, 1.1)
  face[lmk.EYES, 0] += np.sign(face[lmk.EYES, 0]) * rng.uniform(-0.02, 0.02)
  face[lmk.MOUTH, 0] *= rng.uniform(0.9, 1.12)
  face[lmk.BROWS, 1] -= rng.uniform(-0.02, 0.03)
  face[:, :2] += rng.normal(0.0, 0.006, size=(68, 2))
  skin_tone = rng.uniform(0.0, 1.0)
  skin = tuple(int(v) for v in np.array([235, 200, 170]) * (1 - skin_tone)
               + np.array([120, 80, 55]) * skin_tone)
  return Speaker(
      speaker_id=f"synth-{split}-{index:04d}",
      face=face.astype(np.float32),
      scale=config.face_scale * rng.uniform(0.92, 1.05),
      f0=float(rng.uniform(95, 230)),
      formant_scale=float(rng.uniform(0.9, 1.15)),
      skin=skin, hair=_colour(rng, 10, 120), lips=_colour(rng, 120, 200)[:1] + (60, 70),
      background=_colour(rng, 40, 230), shirt=_colour(rng, 20, 235))


# --- Utterances -------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Segment:
  start: float  # seconds
  end: float
  viseme: str  # a VISEMES entry
  sound: str | None  # vowel letter, "m", "b"/"p" (closure), or None (silence)
  note: float  # semitones relative to the style's centre f0
  onset: bool  # the first segment of a syllable


def make_timeline(rng: np.random.Generator, style: StyleParams,
                  seconds: float) -> list[Segment]:
  """Syllables with onsets, vowels and phrase pauses filling about `seconds`."""
  segments = [Segment(0.0, 0.2, "rest", None, 0.0, False)]
  t, phrase_left = 0.2, int(rng.integers(3, 7))
  while t < seconds - 0.2:
    duration = rng.uniform(0.85, 1.15) / style.syllable_rate
    if phrase_left == 0:
      segments.append(Segment(t, t + duration, "rest", None, 0.0, False))
      t += duration
      phrase_left = int(rng.integers(3, 7))
      continue
    onset = ONSETS[rng.choice(len(ONSETS), p=ONSET_PROBS)]
    vowel = VOWELS[rng.integers(len(VOWELS))]
    note = rng.uniform(-1.0, 1.0) * style.f0_range - 0.3 * style.f0_range * (t / seconds)
    voiced = style.sustain * duration
    start = t
    if onset is not None:
      cons = min(CONSONANT_SECONDS, 0.35 * voiced)
      segments.append(Segment(t, t + cons, "closed", onset, note, True))
      t += cons
    segments.append(Segment(t, start + voiced, vowel, vowel, note, onset is None))
    t = start + duration
    if duration - voiced > 1e-3:
      segments.append(Segment(start + voiced, t, "rest", None, note, False))
    phrase_left -= 1
  segments.append(Segment(t, t + 0.25, "rest", None, 0.0, False))
  return segments


def _per_time(segments, times, fn, default):
  """Evaluates fn(segment) at each time (the segment that contains it)."""
  starts = np.array([s.start for s in segments])
  idx = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(segments) - 1)
  values = [fn(s) for s in segments]
  out = np.array([values[i] for i in idx])
  return np.where(times < segments[-1].end, out, default) if out.ndim == 1 else out


def _smooth(x: np.ndarray, sigma_samples: float) -> np.ndarray:
  return ndimage.gaussian_filter1d(x.astype(np.float64), sigma_samples, axis=0, mode="nearest")


def synthesize_audio(rng, segments, speaker: Speaker, style: StyleParams,
                     num_samples: int, noise_floor: float) -> np.ndarray:
  """Source-filter synthesis of the timeline at media.SAMPLE_RATE.

  The controls (loudness, formants, pitch) move slowly, so they are built and smoothed on
  a grid of ENVELOPE_HOP samples and interpolated to the audio rate; only the harmonics
  themselves are computed per sample.
  """
  sr = media.SAMPLE_RATE
  control_rate = sr / ENVELOPE_HOP
  t = np.arange(num_samples) / sr
  tc = np.arange(0, num_samples + ENVELOPE_HOP, ENVELOPE_HOP) / sr
  sound = _per_time(segments, tc, lambda s: s.sound or "", "")
  voiced = np.isin(sound, list(VOWELS)) | (sound == "m")
  amp = np.zeros(len(tc))
  for v in VOWELS:
    amp[sound == v] = 0.35 + 0.65 * VISEME_SHAPE[v][0] / VISEME_SHAPE["a"][0]
  amp[sound == "m"] = 0.12
  amp = _smooth(amp, 0.008 * control_rate)
  formants = np.zeros((len(tc), 3))
  for v, f in FORMANTS.items():
    formants[sound == v] = f
  # Formants glide: hold the last voiced value through gaps, then smooth.
  if voiced.any():
    fill_idx = np.maximum.accumulate(np.where(voiced, np.arange(len(tc)), 0))
    fill_idx[:np.argmax(voiced)] = np.argmax(voiced)
    formants = formants[fill_idx]
  else:
    formants[:] = FORMANTS["a"]
  formants = _smooth(formants, COARTICULATION_SECONDS * control_rate) * speaker.formant_scale
  note = _smooth(_per_time(segments, tc, lambda s: s.note, 0.0), 0.04 * control_rate)

  vibrato = style.vibrato_depth * np.sin(2 * np.pi * style.vibrato_rate * t
                                         + rng.uniform(0, 2 * np.pi))
  f0 = speaker.f0 * style.f0_scale * 2.0 ** ((np.interp(t, tc, note) + vibrato) / 12.0)
  phase = np.mod(2 * np.pi * np.cumsum(f0) / sr, 2 * np.pi)
  num_harmonics = int(5000 // f0.min())
  k = np.arange(1, num_harmonics + 1, dtype=np.float32)
  f0c = np.interp(tc, t, f0)
  freq = f0c[:, None] * k  # (num_control, K)
  dist = (freq[:, :, None] - formants[:, None, :]) / FORMANT_BANDWIDTHS
  envelope = (FORMANT_GAINS / (1.0 + dist**2)).sum(-1) / np.sqrt(k) * (freq < 0.45 * sr)
  envelope *= amp[:, None]
  signal = np.zeros(num_samples)
  for chunk in range(0, num_samples, sr):  # one second at a time keeps memory flat
    tt = t[chunk:chunk + sr]
    weights = np.stack([np.interp(tt, tc, envelope[:, j]) for j in range(len(k))], -1)
    harmonics = np.sin(phase[chunk:chunk + sr, None].astype(np.float32) * k)
    signal[chunk:chunk + sr] = (harmonics * weights.astype(np.float32)).sum(-1)
  # Plosive release bursts: short noise at the end of each b/p closure.
  for seg in segments:
    if seg.sound in ("b", "p"):
      i = int(seg.end * sr)
      n = int(BURST_SECONDS * sr)
      gain = 0.5 if seg.sound == "p" else 0.25
      signal[i:i + n] += gain * rng.normal(0, 1, size=len(signal[i:i + n])) * np.hanning(
          len(signal[i:i + n]))
  signal = 0.5 * signal / max(np.abs(signal).max(), 1e-9)
  signal += noise_floor * 0.5 * rng.normal(0, 1, size=num_samples)
  return signal.astype(np.float32)


@dataclasses.dataclass
class Utterance:
  """One example's ground truth (arrays indexed by 60 fps frame unless noted)."""
  audio: np.ndarray  # (N,) float32 at 24 kHz
  landmarks: np.ndarray  # (T, 68, 3) float32, pixels of the crop
  rotation: np.ndarray  # (T, 3, 3)
  translation: np.ndarray  # (T, 3): face origin x, y in pixels; pixels per face width
  torso: np.ndarray  # (T, 3, 2): neck base, left and right shoulder, pixels
  visemes: np.ndarray  # (T,) int32 indices into VISEMES
  mouth_opening: np.ndarray  # (T,) lip gap in face widths (ground truth before pose)
  eye_openness: np.ndarray  # (T,) 1 open, 0 shut
  style: StyleParams


def make_utterance(config: WorldConfig, speaker: Speaker, style_name: str, split: str,
                   index: int) -> Utterance:
  """Simulates one utterance of `speaker` in `style_name`."""
  rng = _rng(config.seed, "utterance", speaker.speaker_id, style_name, split, index)
  base = config.style(style_name)
  jitter = config.style_jitter
  style = dataclasses.replace(base, **{
      name: getattr(base, name) * rng.uniform(1 - jitter, 1 + jitter)
      for name in ("syllable_rate", "sway_amplitude", "sway_frequency", "nod_amplitude",
                   "mouth_gain", "brow_raise")})
  seconds = rng.uniform(config.min_seconds, config.max_seconds)
  segments = make_timeline(rng, style, seconds)
  num_frames = int(np.ceil(segments[-1].end * media.FPS))
  num_samples = num_frames * media.SAMPLES_PER_FRAME
  audio = synthesize_audio(rng, segments, speaker, style, num_samples, config.noise_floor)

  fps = media.FPS
  times = (np.arange(num_frames)) / fps
  viseme_names = _per_time(segments, times, lambda s: s.viseme, "rest")
  visemes = np.array([VISEMES.index(v) for v in viseme_names], np.int32)
  shape = np.array([VISEME_SHAPE[v] for v in viseme_names])
  shape = _smooth(shape, COARTICULATION_SECONDS * fps)
  opening = shape[:, 0] * style.mouth_gain
  width = shape[:, 1]

  # Loudness of held notes lifts the brows; a slow envelope of the vowel openings.
  voiced = np.isin(viseme_names, list(VOWELS)).astype(np.float64)
  brow = style.brow_raise * 0.01 * _smooth(voiced * opening / 0.11, 0.12 * fps)

  blink = np.ones(num_frames)
  t_blink = rng.uniform(0.3, 2.0)
  while t_blink < times[-1]:
    i = int(t_blink * fps)
    n = int(0.15 * fps)
    closing = 1 - np.sin(np.linspace(0, np.pi, n))
    blink[i:i + n] = np.minimum(blink[i:i + n], closing[:len(blink[i:i + n])])
    t_blink += rng.uniform(1.5, 4.5)

  phases = rng.uniform(0, 2 * np.pi, size=4)
  w = 2 * np.pi * style.sway_frequency
  yaw = style.sway_amplitude * np.sin(w * times + phases[0])
  roll = 0.5 * style.sway_amplitude * np.sin(0.7 * w * times + phases[1])
  pitch = 0.3 * style.sway_amplitude * np.sin(0.5 * w * times + phases[2])
  syllable_starts = [s.start for s in segments if s.onset]
  nod = np.zeros(num_frames)
  for k, start in enumerate(syllable_starts):
    if k % max(1, int(round(style.beat_syllables))) == 0:
      nod += np.exp(-0.5 * ((times - start - 0.06) / 0.05) ** 2)
  pitch = pitch + style.nod_amplitude * nod
  rotation = pose.rotation_from_angles(yaw, pitch, roll)

  face = np.repeat(speaker.face[None].astype(np.float64), num_frames, axis=0)
  mouth_centre = face[:, lmk.MOUTH, 0].mean(-1, keepdims=True)
  face[:, lmk.MOUTH, 0] = mouth_centre + (face[:, lmk.MOUTH, 0] - mouth_centre) * width[:, None]
  o = opening[:, None]
  face[:, [65, 66, 67], 1] += 0.8 * o
  face[:, [55, 56, 57, 58, 59], 1] += 0.8 * o
  face[:, [61, 62, 63], 1] -= 0.2 * o
  face[:, [49, 50, 51, 52, 53], 1] -= 0.15 * o
  face[:, [48, 54, 60, 64], 1] += 0.3 * o
  jaw_weight = np.sin(np.linspace(0, np.pi, 17)) ** 2
  face[:, lmk.JAW, 1] += 0.6 * o * jaw_weight
  face[:, lmk.BROWS, 1] -= brow[:, None]
  for eye, upper, lower in ((lmk.LEFT_EYE, [37, 38], [40, 41]),
                            (lmk.RIGHT_EYE, [43, 44], [46, 47])):
    centre = face[:, eye, 1].mean(-1, keepdims=True)
    face[:, upper, 1] = centre + (face[:, upper, 1] - centre) * blink[:, None]
    face[:, lower, 1] = centre + (face[:, lower, 1] - centre) * (0.3 + 0.7 * blink[:, None])

  res = config.resolution
  px = speaker.scale * res
  drift = np.stack([0.015 * np.sin(0.6 * w * times + phases[3]),
                    0.01 * np.sin(1.3 * w * times + phases[1]), np.zeros_like(times)], -1)
  head = np.array([0.5, 0.45, 0.0]) * res + drift * px
  pivot = np.array([0.0, 0.0, -0.35])  # rotate about the head centre, behind the nose
  points = np.einsum("tij,tnj->tni", rotation, face - pivot) + pivot
  landmarks = points * px + head[:, None, :] * np.array([1.0, 1.0, 0.0])
  # Head pose as landmarks/pose.py defines it (and PnP measures it): the image position of
  # the face's origin (the nose tip of the unrotated face) and pixels per face width, so
  # that landmarks = pose.posed_landmarks(face, rotation, translation) in x and y.
  translation = head + (pivot - np.einsum("tij,j->ti", rotation, pivot)) * px
  translation[:, 2] = px

  chin = landmarks[:, lmk.CHIN, :2]
  neck = np.stack([head[:, 0], chin[:, 1] + 0.12 * px], -1)
  shoulder_dx = np.stack([0.75 * px * np.cos(np.deg2rad(0.3 * roll)),
                          0.75 * px * np.sin(np.deg2rad(0.3 * roll))], -1)
  drop = np.array([0.0, 0.22 * px])
  torso = np.stack([neck, neck - shoulder_dx + drop, neck + shoulder_dx + drop], 1)

  return Utterance(audio=audio, landmarks=landmarks.astype(np.float32),
                   rotation=rotation.astype(np.float32),
                   translation=translation.astype(np.float32), torso=torso.astype(np.float32),
                   visemes=visemes, mouth_opening=opening.astype(np.float32),
                   eye_openness=blink.astype(np.float32), style=style)


# --- Rendering --------------------------------------------------------------------------
_BITS = 4


def _pts(points: np.ndarray) -> np.ndarray:
  return np.round(points[:, :2] * (1 << _BITS)).astype(np.int32)


def render_frame(speaker: Speaker, landmarks: np.ndarray, torso: np.ndarray,
                 resolution: int) -> np.ndarray:
  """Draws one frame (resolution, resolution, 3) uint8 from its landmarks."""
  res = resolution
  img = np.empty((res, res, 3), np.uint8)
  ramp = np.linspace(1.0, 0.8, res)[:, None, None]
  img[:] = np.clip(np.array(speaker.background)[None, None] * ramp, 0, 255).astype(np.uint8)
  aa = cv2.LINE_AA
  neck, left, right = torso
  bottom = res * 1.1
  shirt = np.array([left, right, [right[0] + 0.1 * res, bottom], [left[0] - 0.1 * res, bottom]])
  cv2.fillPoly(img, [_pts(shirt)], speaker.shirt, aa, _BITS)
  face_w = np.linalg.norm(landmarks[16, :2] - landmarks[0, :2])
  neck_poly = np.array([[neck[0] - 0.17 * face_w, landmarks[6, 1]],
                        [neck[0] + 0.17 * face_w, landmarks[10, 1]],
                        [neck[0] + 0.2 * face_w, neck[1] + 0.3 * face_w],
                        [neck[0] - 0.2 * face_w, neck[1] + 0.3 * face_w]])
  cv2.fillPoly(img, [_pts(neck_poly)], tuple(int(0.85 * c) for c in speaker.skin), aa, _BITS)
  outline = regions.skin_outline(landmarks)
  top = outline[17:].mean(0)
  hair_centre = np.round((top + np.array([0, 0.05 * face_w])) * (1 << _BITS)).astype(int)
  axes = np.round(np.array([0.58 * face_w, 0.42 * face_w]) * (1 << _BITS)).astype(int)
  cv2.ellipse(img, tuple(hair_centre), tuple(axes), 0, 0, 360, speaker.hair, -1, aa, _BITS)
  cv2.fillPoly(img, [_pts(outline)], speaker.skin, aa, _BITS)
  shade = tuple(int(0.75 * c) for c in speaker.skin)
  thick = max(1, round(res / 128))
  cv2.polylines(img, [_pts(landmarks[lmk.NOSE_BRIDGE])], False, shade, thick, aa, _BITS)
  cv2.polylines(img, [_pts(landmarks[lmk.NOSE_BOTTOM])], False, shade, thick, aa, _BITS)
  for brow in (lmk.LEFT_BROW, lmk.RIGHT_BROW):
    cv2.polylines(img, [_pts(landmarks[brow])], False, speaker.hair, 2 * thick, aa, _BITS)
  for eye in (lmk.LEFT_EYE, lmk.RIGHT_EYE):
    # White and iris are drawn on a patch around the eye, then blended through the
    # antialiased eye polygon, so the iris never spills over the lids.
    x0, y0 = np.maximum(np.floor(landmarks[eye, :2].min(0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(landmarks[eye, :2].max(0)).astype(int) + 2, res)
    if x1 <= x0 or y1 <= y0:
      continue
    offset = np.array([x0, y0, 0], np.float32)
    local = landmarks[eye] - offset
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [_pts(local)], 255, aa, _BITS)
    patch = np.full((y1 - y0, x1 - x0, 3), 245, np.uint8)
    centre = local[:, :2].mean(0)
    radius = 0.3 * np.linalg.norm(local[3, :2] - local[0, :2])
    cv2.circle(patch, tuple(np.round(centre * (1 << _BITS)).astype(int)),
               int(round(radius * (1 << _BITS))), (40, 30, 20), -1, aa, _BITS)
    alpha = mask[..., None].astype(np.float32) / 255.0
    region = img[y0:y1, x0:x1]
    img[y0:y1, x0:x1] = (region * (1 - alpha) + patch * alpha + 0.5).astype(np.uint8)
  cv2.fillPoly(img, [_pts(landmarks[lmk.OUTER_LIPS])], speaker.lips, aa, _BITS)
  cv2.fillPoly(img, [_pts(landmarks[lmk.INNER_LIPS])], (60, 15, 25), aa, _BITS)
  return img


def render_frames(speaker: Speaker, utterance: Utterance, resolution: int) -> np.ndarray:
  return np.stack([render_frame(speaker, l, t, resolution)
                   for l, t in zip(utterance.landmarks, utterance.torso)])
