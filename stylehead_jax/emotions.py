"""The emotion classes, defined once (CAER / CAER-S order: the folder names of CAER-S),
and the inputs GLAMOR-Net reads from a picture.

GLAMOR-Net (models/glamor.py) predicts these classes; the builders (caer_s,
synthetic_context_emotion) label with them; metrics/emotion.py scores with them. The
caer_s builder and the emotion classifier (emotion_classifier.py) both turn a
picture into model inputs with `face_box` and `model_example`, so a video is classified
exactly as the training images were prepared.
"""

from __future__ import annotations

import numpy as np

EMOTIONS = ("Anger", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise")
NUM_EMOTIONS = len(EMOTIONS)
# How readable the main face is (synthetic_context_emotion's `clarity`): ambiguous faces
# hide their expression, so only the context can tell.
CLARITY = ("clear", "ambiguous")
FACE_MARGIN = 0.2  # the face box's side grows by this fraction before the crop
CONTEXT_SIZE = 112  # GLAMOR-Net's input sides (the authors' code): the context
FACE_SIZE = 96  # and the face


def index(name: str) -> int:
  """Class index of an emotion name, case-insensitive ("happy" -> 3)."""
  lowered = {e.lower(): i for i, e in enumerate(EMOTIONS)}
  if name.lower() not in lowered:
    raise ValueError(f"unknown emotion {name!r}; known: {', '.join(EMOTIONS)}")
  return lowered[name.lower()]


def face_box(image: np.ndarray, backend, margin: float = FACE_MARGIN) -> np.ndarray | None:
  """x0, y0, x1, y1 (pixels, inside the image) of a square around the largest face the
  landmark backend detects, widened by `margin`; None where there is no face."""
  boxes = backend.detect(image)
  if not len(boxes):
    return None
  x0, y0, x1, y1 = boxes[0, :4]
  cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
  side = max(x1 - x0, y1 - y0) * (1 + margin)
  h, w = image.shape[:2]
  return np.array([max(0.0, cx - side / 2), max(0.0, cy - side / 2),
                   min(float(w), cx + side / 2), min(float(h), cy + side / 2)], np.float32)


def model_example(image: np.ndarray, box: np.ndarray, context_size: int,
                  face_size: int) -> dict:
  """{context, face, face_box}: the picture squashed to a square context, the crop of
  `box` (x0, y0, x1, y1 pixels) resized to the face size, and the box as fractions
  [y0, x0, y1, x1]."""
  import cv2  # pylint: disable=g-import-not-at-top
  h, w = image.shape[:2]
  x0, y0, x1, y1 = box
  face = image[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))]
  resize = lambda a, s: cv2.resize(np.ascontiguousarray(a), (s, s),
                                   interpolation=cv2.INTER_AREA)
  return {"context": resize(image, context_size), "face": resize(face, face_size),
          "face_box": np.array([y0 / h, x0 / w, y1 / h, x1 / w], np.float32)}
