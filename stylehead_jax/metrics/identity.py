"""Identity: the distance between dlib's 128-D face descriptors of two faces.

dlib's face recognition ResNet (`dlib_face_recognition_resnet_model_v1.dat`, shipped in
`face-recognition-models`) maps a face, aligned by its 68 landmarks into a 150 x 150
chip, to a 128-D descriptor; two faces of one person lie within 0.6 (dlib's threshold,
99.38% on LFW). Small images are enlarged to `min_size` first (the chip wants detail the
descriptor was trained on; a 64 px crop holds a face of about 32 px).
"""

from __future__ import annotations

import functools
import importlib.util
import os

import cv2
import numpy as np

SAME_PERSON = 0.6
MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"


def model_path() -> str:
  spec = importlib.util.find_spec("face_recognition_models")
  if spec is None or not spec.submodule_search_locations:
    raise ModuleNotFoundError(
        "face-recognition-models is not installed; it ships dlib's face descriptor ResNet")
  return os.path.join(list(spec.submodule_search_locations)[0], "models", MODEL_FILE)


@functools.lru_cache(maxsize=None)
def _model():
  import dlib  # pylint: disable=g-import-not-at-top
  return dlib.face_recognition_model_v1(model_path())


def descriptor(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
  """The 128-D descriptor of the face with `landmarks` (68, 2+) in `image` (H, W, 3)
  uint8 (landmarks in its pixels, as the tracker gives them)."""
  import dlib  # pylint: disable=g-import-not-at-top
  points = np.asarray(landmarks)[:, :2]
  x0, y0 = points.min(0)
  x1, y1 = points.max(0)
  rect = dlib.rectangle(int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1)))
  shape = dlib.full_object_detection(rect, [dlib.point(int(round(x)), int(round(y)))
                                            for x, y in points])
  return np.asarray(_model().compute_face_descriptor(np.ascontiguousarray(image), shape))


def distance(a: np.ndarray, b: np.ndarray) -> float:
  """Euclidean distance of two descriptors (< SAME_PERSON: one person)."""
  return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def enlarge(image: np.ndarray, min_size: int) -> tuple[np.ndarray, float]:
  """(image scaled up so its shorter side is at least min_size (cubic), the scale)."""
  scale = max(1.0, min_size / min(image.shape[:2]))
  if scale == 1.0:
    return image, 1.0
  size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
  return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC), scale
