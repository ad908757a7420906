"""Lip-audio sync: how far a soundtrack is off its mouth.

The mouth opens when the voice is loud, so the tracked inner-mouth opening (landmarks,
scaled by the inter-ocular distance) correlates with the soundtrack's per-frame log
energy once both are aligned. `audio_lead` finds the shift that maximises the Pearson r:
positive when the audio comes first (the mouth follows it), in seconds. A clear peak
near 0 means the soundtrack is the speaker's own voice in sync; a clear peak elsewhere
is an offset to correct (the talking_head_videos builder reads corrections from
`audio_offsets.tsv`); no clear peak means the soundtrack is probably not their speech.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from stylehead_jax import media
from stylehead_jax.landmarks import conventions as lmk


def frame_energy(audio: np.ndarray) -> np.ndarray:
  """Log mean power per 60 fps video frame, (T,) for T = ceil(samples / 400), floored at
  the clip's 10th percentile (digital silence would otherwise dominate a correlation)."""
  audio = media.pad_to_frames(np.asarray(audio, np.float32))
  power = (audio.reshape(-1, media.SAMPLES_PER_FRAME).astype(np.float64) ** 2).mean(-1)
  return np.log(np.maximum(power, np.percentile(power, 10)) + 1e-12)


def pearson(a, b) -> float:
  """Pearson r of two equal-length series; 0 where either is constant."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  if len(a) < 2 or a.std() == 0 or b.std() == 0:
    return 0.0
  return float(np.corrcoef(a, b)[0, 1])


def lagged_pearson(mouth: np.ndarray, energy: np.ndarray, lag: int) -> float:
  """r between mouth[t] and energy[t - lag] over the frames both cover."""
  n = min(len(mouth), len(energy))
  mouth, energy = mouth[:n], energy[:n]
  if lag >= 0:
    return pearson(mouth[lag:], energy[:n - lag])
  return pearson(mouth[:n + lag], energy[-lag:])


@dataclasses.dataclass(frozen=True)
class Sync:
  lead_seconds: float  # the audio leads the mouth by this much (negative: it lags)
  r: float  # Pearson r at that lead
  r_at_zero: float  # Pearson r as the clip is


def audio_lead(landmarks: np.ndarray, audio: np.ndarray, max_seconds: float = 0.5) -> Sync:
  """The lead of `audio` (24 kHz) over the mouth of `landmarks` (T, 68, 2|3) at 60 fps."""
  landmarks = np.asarray(landmarks)
  mouth = lmk.mouth_opening(landmarks) / np.maximum(lmk.interocular(landmarks), 1e-6)
  energy = frame_energy(audio)
  max_lag = int(round(max_seconds * media.FPS))
  lags = np.arange(-max_lag, max_lag + 1)
  rs = np.array([lagged_pearson(mouth, energy, int(k)) for k in lags])
  best = int(np.argmax(rs))
  return Sync(lead_seconds=float(lags[best]) / media.FPS, r=float(rs[best]),
              r_at_zero=float(rs[max_lag]))


def shift_audio(audio: np.ndarray, lead_seconds: float) -> np.ndarray:
  """Undoes a lead: delays `audio` by lead_seconds (advances it if negative), keeping
  its length; the gap is silence."""
  shift = int(round(lead_seconds * media.SAMPLE_RATE))
  out = np.zeros_like(audio)
  if shift >= 0:
    out[shift:] = audio[:len(audio) - shift]
  else:
    out[:shift] = audio[-shift:]
  return out
