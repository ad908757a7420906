"""What the image evaluators (isp, frames) measure on a face in an image: the project's
dlib tracker and dlib's face descriptor, with the small image enlarged first.

`Faces.track(image, expected)`: the landmarks (68, 2) of the face in a uint8 image, in
its pixels, and whether the detector found it; where it finds none, the predictor runs in
the box of the `expected` landmarks (an image stage's output is a face crop whose face
is where its driving landmarks say). `Faces.measure(images, expected, portrait,
portrait_landmarks)`: per image the landmark error (px of a CROP-pixel crop) against the
expected landmarks and the identity distance to the portrait.
"""

from __future__ import annotations

import numpy as np

from stylehead_jax.landmarks import detectors
from stylehead_jax.metrics import identity

CROP = 512  # landmark errors are reported in pixels of a crop this size


class Faces:

  def __init__(self, tracker_size: int):
    self.tracker_size = tracker_size
    self._backend = detectors.get_backend("dlib")
    self._descriptors = {}

  def _track(self, image: np.ndarray, expected: np.ndarray):
    big, scale = identity.enlarge(image, self.tracker_size)
    boxes = self._backend.detect(big)
    found = len(boxes) > 0
    if found:
      box = boxes[0]
    else:
      (x0, y0), (x1, y1) = expected[:, :2].min(0) * scale, expected[:, :2].max(0) * scale
      box = np.array([x0, y0, x1, y1])
    points = self._backend.landmarks(big, box)[:, :2]
    return points / scale, found, big, points

  def track(self, image: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, bool]:
    """(landmarks (68, 2) in the image's pixels, whether the detector found the face)."""
    points, found, _, _ = self._track(image, expected)
    return points, found

  def landmark_error(self, image: np.ndarray, expected: np.ndarray) -> float:
    """Mean landmark distance to `expected` (68, 2+), in pixels of a CROP crop."""
    points, _ = self.track(image, expected)
    return float(np.linalg.norm(points - expected[:, :2], axis=-1).mean() * CROP
                 / image.shape[0])

  def portrait_descriptor(self, portrait: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    key = portrait.tobytes()
    if key not in self._descriptors:
      _, _, big, points = self._track(portrait, landmarks)
      self._descriptors[key] = identity.descriptor(big, points)
    return self._descriptors[key]

  def measure(self, images, expected, portraits, portrait_landmarks) -> dict:
    """Per image (N, S, S, 3) uint8: "landmark_error_px" against `expected` (N, 68, 2+)
    in its pixels, "identity_distance" to its portrait (uint8, landmarks in its pixels),
    "detected": whether the detector found the face."""
    out = {"landmark_error_px": [], "identity_distance": [], "detected": []}
    for image, target, portrait, plm in zip(images, expected, portraits, portrait_landmarks):
      points, found, big, big_points = self._track(image, target)
      out["landmark_error_px"].append(
          np.linalg.norm(points - target[:, :2], axis=-1).mean() * CROP / image.shape[0])
      out["detected"].append(found)
      out["identity_distance"].append(identity.distance(
          identity.descriptor(big, big_points), self.portrait_descriptor(portrait, plm)))
    return {k: np.asarray(v, np.float64) for k, v in out.items()}
