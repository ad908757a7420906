"""The features every talking-head builder writes (and every emotion builder), defined once.

synthetic_talking_heads and talking_head_videos both write these (the synthetic world
adds its ground truth: visemes, style, style parameters), so every stage and the input
pipeline read both the same way. Per-frame features are at 60 fps; log-mels have two
rows per frame and audio 400 samples per frame (stylehead_jax.media).
"""

import numpy as np
import tensorflow_datasets as tfds

from stylehead_jax import emotions
from stylehead_jax import media
from stylehead_jax.landmarks import conventions as lmk


def talking_head_features(resolution: int) -> dict:
  """Feature connectors of a talking-head clip at `resolution` x `resolution`."""
  return {
      "frames": tfds.features.Video((None, resolution, resolution, 3)),
      "region_maps": tfds.features.Video((None, resolution, resolution, 1)),
      "landmarks": tfds.features.Tensor(shape=(None, lmk.NUM_LANDMARKS, 3), dtype=np.float32),
      "head_pose": {
          "rotation": tfds.features.Tensor(shape=(None, 3, 3), dtype=np.float32),
          "translation": tfds.features.Tensor(shape=(None, 3), dtype=np.float32),
      },
      "torso": tfds.features.Tensor(shape=(None, 3, 2), dtype=np.float32),
      "log_mel": tfds.features.Tensor(shape=(None, media.N_MELS), dtype=np.float32),
      "audio": tfds.features.Audio(shape=(None,), dtype=np.float32,
                                   sample_rate=media.SAMPLE_RATE),
      "valid": tfds.features.Tensor(shape=(None,), dtype=np.bool_),  # False: interpolated
      "speaker_id": tfds.features.Text(),
      "clip_id": tfds.features.Text(),
  }


def emotion_features(context_size: int, face_size: int) -> dict:
  """Feature connectors of a context-aware emotion example (caer_s and
  synthetic_context_emotion): the whole scene resized to a square `context` (the face
  is not masked here: the model input masks it, models/glamor.model_inputs), the `face`
  crop, its box in the scene [y0, x0, y1, x1] as fractions, the label, and the image's
  and its source video's ids (NCAER-S keeps videos out of both splits at once)."""
  return {
      "context": tfds.features.Image(shape=(context_size, context_size, 3)),
      "face": tfds.features.Image(shape=(face_size, face_size, 3)),
      "face_box": tfds.features.Tensor(shape=(4,), dtype=np.float32),
      "label": tfds.features.ClassLabel(names=emotions.EMOTIONS),
      "image_id": tfds.features.Text(),
      "video_id": tfds.features.Text(),
  }
