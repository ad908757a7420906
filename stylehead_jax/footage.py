"""Real footage -> clips of the media contract: what one video gives the data pipeline.

A clip is a dict of numpy arrays at 60 fps, the features of talking_head_videos
(the talking_head_videos builder): frames, region_maps, landmarks, head_pose {rotation,
translation}, torso, log_mel, audio, valid. The builder writes one example per clip;
style references (stylehead_jax/style/references.py) and `animate` track a video the
same way, so a reference is measured exactly as training footage was.
"""

from __future__ import annotations

import itertools
from typing import Iterator

from absl import logging
import numpy as np

from stylehead_jax import media
from stylehead_jax.landmarks import regions
from stylehead_jax.landmarks import tracking
from stylehead_jax.metrics import sync


def video_clips(path: str, config: tracking.TrackerConfig, backend,
                audio_lead: float = 0.0, require_audio: bool = True) -> Iterator[dict]:
  """One clip per face segment of the video at `path`, its audio shifted back by
  `audio_lead` seconds (the seconds it leads the mouth; the gap is silence). The video is
  tracked as a stream (`tracking.track_video`): each clip is made when its segment has
  been read, and only its own frames are held. With require_audio=False a video without
  sound (no audio stream, or a silent one) gives clips whose audio is zeros (a style
  reference needs only the face), and every clip says which in "has_audio".

  Raises (when the first clip is asked for):
    MediaError: unreadable, no audio, silent, corrupt or too short (names the file).
    NoFaceError: no usable face segment (names the file).
  """
  audio = media.load_audio(path) if require_audio else media.load_soundtrack(path)
  has_audio = audio is not None
  if not has_audio:
    audio = np.zeros(0, np.float32)
  elif audio_lead:
    audio = sync.shift_audio(audio, audio_lead)
  tracks = tracking.track_video(path, backend, config, min_frames=2)
  # Not enumerate: its reused result tuple would hold the last track while the next is made.
  for k in itertools.count():
    track = next(tracks, None)
    if track is None:
      return
    num_frames = len(track.frames)
    start = int(round(track.start_seconds * media.SAMPLE_RATE))
    clip_audio = audio[start:start + num_frames * media.SAMPLES_PER_FRAME]
    clip_audio = np.pad(clip_audio, (0, num_frames * media.SAMPLES_PER_FRAME - len(clip_audio)))
    logging.info("%s segment %d: %d frames, face detected in %.1f%%", path, k, num_frames,
                 100 * track.detected_fraction)
    clip = {
        "frames": track.frames,
        "region_maps": regions.region_maps(track.landmarks, config.resolution)[..., None],
        "landmarks": track.landmarks,
        "head_pose": {"rotation": track.rotation, "translation": track.translation},
        "torso": track.torso,
        "log_mel": media.log_mel(clip_audio),
        "audio": clip_audio,
        "valid": track.detected,
    }
    if not require_audio:
      clip["has_audio"] = has_audio
    del track  # nothing of this part stays alive while the next one is tracked
    yield clip
    del clip
