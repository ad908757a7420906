"""Style references: the clip whose motion a style transfer imitates.

A reference is "<split>/<clip_id>" of a dataset (a TFDS builder), or a video file. A
video is tracked as talking_head_videos prepares footage (stylehead_jax.footage: its
longest face segment), once, and cached as .npz keyed by the file's content and the
crop size, so the style_transfer stage, its evaluator and `animate` all read
the same track.
"""

from __future__ import annotations

import hashlib
import os

from absl import logging
import numpy as np

from stylehead_jax import footage
from stylehead_jax import media
from stylehead_jax import motion
from stylehead_jax.errors import ConfigError
from stylehead_jax.errors import MediaError
from stylehead_jax.errors import NoFaceError
from stylehead_jax.landmarks import detectors
from stylehead_jax.landmarks import tracking
from stylehead_jax.style import templates

# What a reference clip holds (a video's clip_id and speaker_id are its file name).
CLIP_FEATURES = motion.FEATURES + ("clip_id", "speaker_id")
DEFAULT_CACHE_DIR = "~/.cache/stylehead_jax/styles"
CACHE_VERSION = 3  # 2: the template frames are cached too; 3: has_audio


def is_video(reference: str) -> bool:
  return os.path.splitext(reference)[1].lower() in media.VIDEO_SUFFIXES


def content_key(path: str, *extra) -> str:
  """16 hex digits of the sha256 of a file's bytes and `extra` (what else the cached
  result depends on): a copy or a renamed file hits the cache, an edited one does not."""
  digest = hashlib.sha256(repr(extra).encode())
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()[:16]


def track_video(path: str, resolution: int = media.CROP_SIZE, cache_dir: str = "",
                backend: str = "dlib") -> dict:
  """The longest face segment of the video at `path` as a clip of CLIP_FEATURES, plus
  its four style reference frames (style/templates.retrieve): "template_indices" (4,)
  and "template_frames" (4, R, R, 3) uint8 crops, and "has_audio": False for a video
  without sound (no audio stream or a silent one; its log_mel is silence's): the key
  templates and ISPs need only the face. Tracked once, then read from `cache_dir`
  (default DEFAULT_CACHE_DIR), keyed by the file's content and `resolution`.

  Raises:
    MediaError: the file is missing, unreadable, too short or has no usable face.
  """
  path = os.path.abspath(path)
  media.check_file(path)
  key = content_key(path, resolution, CACHE_VERSION)
  cache_dir = os.path.expanduser(cache_dir or DEFAULT_CACHE_DIR)
  cached = os.path.join(cache_dir, f"{os.path.basename(path)}-{key}.npz")
  if os.path.exists(cached):
    with np.load(cached) as z:
      flat = dict(z)
  else:
    try:  # max holds the longest clip so far and the one being made
      clip = max(footage.video_clips(path, tracking.TrackerConfig(resolution=resolution),
                                     detectors.get_backend(backend), require_audio=False),
                 key=lambda c: len(c["landmarks"]))
    except NoFaceError as e:
      raise MediaError(path, f"no usable face track ({e})") from None
    if len(clip["landmarks"]) < len(templates.TEMPLATES):
      raise MediaError(path, f"the face is seen in {len(clip['landmarks'])} frames, too "
                       f"short for {len(templates.TEMPLATES)} style reference frames")
    flat = {k: clip[k] for k in ("log_mel", "landmarks", "torso", "valid", "has_audio")}
    flat["rotation"] = clip["head_pose"]["rotation"]
    flat["translation"] = clip["head_pose"]["translation"]
    refs = templates.retrieve(clip["landmarks"], clip["frames"])
    flat["template_indices"], flat["template_frames"] = refs.indices, refs.frames
    os.makedirs(cache_dir, exist_ok=True)
    partial = cached + ".partial.npz"  # never a half-written cache entry
    np.savez(partial, **flat)
    os.replace(partial, cached)
    logging.info("style reference %s: %d frames tracked, cached in %s", path,
                 len(flat["landmarks"]), cached)
  clip = {k: flat[k] for k in ("log_mel", "landmarks", "torso", "valid", "template_indices",
                               "template_frames")}
  clip["has_audio"] = bool(flat["has_audio"])
  clip["head_pose"] = {"rotation": flat["rotation"], "translation": flat["translation"]}
  clip["clip_id"] = clip["speaker_id"] = os.path.basename(path).encode()
  return clip


def reference_clip(reference: str, builder=None, *, resolution: int = media.CROP_SIZE,
                   cache_dir: str = "") -> dict:
  """The whole reference clip (numpy), with its "style" label where the dataset has one.

  Args:
    reference: "<split>/<clip_id>" of `builder`'s dataset, or a video path.
    builder: the dataset's TFDS builder (None: only a video can be named).
    resolution, cache_dir: how a video is tracked (`track_video`).

  Raises:
    ConfigError: the reference is empty, malformed, not found, or a video that cannot
      be used (the message says which, with the file).
  """
  if not reference:
    raise ConfigError("config.style.reference is empty: give '<split>/<clip_id>' of "
                      "config.data or a video path")
  if is_video(reference):
    try:
      return track_video(reference, resolution, cache_dir)
    except MediaError as e:
      raise ConfigError(f"config.style.reference: {e}") from None
  split, _, clip_id = reference.partition("/")
  if builder is None or not clip_id:
    raise ConfigError(f"config.style.reference={reference!r}: expected '<split>/<clip_id>' "
                      "of config.data's dataset, or a video file")
  # A dataset reference reads TFDS; imported here so that a video reference (animate)
  # does not load TensorFlow (3 s and its console lines).
  from stylehead_jax import input_pipeline  # pylint: disable=g-import-not-at-top
  features = CLIP_FEATURES + (("style",) if "style" in builder.info.features else ())
  for clip in input_pipeline.clips(builder, split, features):
    if clip["clip_id"].decode() == clip_id:
      return clip
  raise ConfigError(f"config.style.reference: no clip {clip_id!r} in the {split!r} split "
                    f"of {builder.name}")


def require_speech(clip: dict, where: str, why: str) -> None:
  """A reference video without sound is a ConfigError: `where` (the flag or config field
  and the file), that it has no sound, and `why` that matters (with the way out)."""
  if not clip.get("has_audio", True):
    raise ConfigError(f"{where}: no sound (no audio stream or a silent one); {why}")


def span(frames: int, fractions, window_frames: int) -> tuple[int, int]:
  """Frames [start, stop) of a reference of `frames` frames inside `fractions` (of its
  length), which must hold at least one training window."""
  start, stop = (int(round(f * frames)) for f in fractions)
  if stop - start < window_frames:
    raise ConfigError(f"config.style.span={tuple(fractions)} leaves {stop - start} frames "
                      f"of the reference, fewer than one window ({window_frames})")
  return start, stop
