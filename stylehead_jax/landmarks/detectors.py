"""Face detection + 68-point landmark backends behind one interface.

  backend = get_backend("dlib")              # default, offline
  boxes = backend.detect(image)              # (N, 5): x0, y0, x1, y1, score; largest first
  points = backend.landmarks(image, box)     # (68, 3) float32 pixels, z = 0 (2D backend)

`dlib`: HOG frontal face detector on a grey copy scaled so faces are found at
DETECT_SIZE pixels, and the 68-point shape predictor shipped in face-recognition-models on
the full-resolution image. Where the caller knows the face's size (`face_size`, as the
tracker does), the detector's scale pyramid starts below the levels that could only hold
much smaller faces: the same boxes, in about half the time (`DlibBackend.detect`).
`face_alignment`: the optional face-alignment package (`pip install stylehead_jax[face-alignment]`).
It downloads weights on first use, which this project never does at run time; put them
in the torch hub cache first (the error says where).
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import os
import queue
import threading
import urllib.parse
from typing import Protocol

import numpy as np

DETECT_SIZE = 320  # longest side of the image the HOG detector scans
# dlib's frontal face detector scans a pyramid whose levels shrink by 5/6 each (after
# `upsample` doublings), and the box of a face found at a level is LEVEL_BOX pixels high
# there. With the face's size known, levels where faces under MIN_FACE_FRACTION of it
# would be found are not scanned.
PYRAMID_RATE = 6 / 5
LEVEL_BOX = 73
MIN_FACE_FRACTION = 0.5


class BackendUnavailable(RuntimeError):
  """A landmark backend that cannot run here, with what to do about it."""


class LandmarkBackend(Protocol):
  name: str
  thread_safe: bool  # detect and landmarks may run in several threads at once

  def detect(self, image: np.ndarray, threshold: float = 0.0,
             face_size: float | None = None) -> np.ndarray:
    """Face boxes (N, 5) = x0, y0, x1, y1, score in image pixels, largest first.

    `threshold` is in the backend's own score units; 0 is its default operating point.
    `face_size`: the side of the face the caller expects, in image pixels, if known; a
    backend may then skip work for faces much smaller than that.
    """

  def landmarks(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """(68, 3) float32 landmarks of the face in `box`."""


def dlib_predictor_path() -> str:
  """Path of dlib's 68-point shape predictor shipped in `face-recognition-models`.

  That package's `__init__` imports `pkg_resources`, which setuptools>=81 no longer
  provides, so the file is located from the package's spec without importing it.
  """
  spec = importlib.util.find_spec("face_recognition_models")
  if spec is None or not spec.submodule_search_locations:
    raise BackendUnavailable(
        "face-recognition-models is not installed; `pip install face-recognition-models` "
        "provides dlib's 68-point predictor")
  path = os.path.join(list(spec.submodule_search_locations)[0], "models",
                      "shape_predictor_68_face_landmarks.dat")
  if not os.path.isfile(path):
    raise BackendUnavailable(f"{path}: dlib 68-point predictor missing from face-recognition-models")
  return path


def _grey(image: np.ndarray) -> np.ndarray:
  image = np.asarray(image)
  if image.ndim == 2:
    return image
  return (image[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)


class DlibBackend:
  """dlib HOG detector + 68-point shape predictor (offline default)."""
  name = "dlib"
  thread_safe = True

  def __init__(self, detect_size: int = DETECT_SIZE, upsample: int = 1):
    import dlib  # pylint: disable=g-import-not-at-top
    self._dlib = dlib
    # A dlib detector gives wrong boxes when two threads run it at once (it releases the
    # GIL while scanning), so each call takes an idle one, making another if none is idle.
    self._idle_detectors = queue.SimpleQueue()
    self._idle_detectors.put(dlib.get_frontal_face_detector())
    self._predictor = dlib.shape_predictor(dlib_predictor_path())
    self._predictor_lock = threading.Lock()
    self._pyramid_up = dlib.pyramid_down(2)  # dlib's pyramid_up maps with this
    self._pyramid_down = dlib.pyramid_down(6)  # the frontal detector's pyramid
    self.detect_size = detect_size
    self.upsample = upsample

  def detect(self, image: np.ndarray, threshold: float = 0.0,
             face_size: float | None = None) -> np.ndarray:
    """Faces scoring above `threshold` (dlib's SVM margin; lower finds more).

    face_size: the expected face side in image pixels. The pyramid is then scanned from
    the first level that can hold a face of MIN_FACE_FRACTION of it (`_skipped_levels`):
    the boxes and scores of faces that large are dlib's own, to the pixel (test_landmarks),
    and smaller faces are not looked for.
    """
    import cv2  # pylint: disable=g-import-not-at-top
    grey = _grey(image)
    scale = min(1.0, self.detect_size / max(grey.shape[:2]))
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) \
        if scale < 1.0 else grey
    skip = 0 if face_size is None else self._skipped_levels(face_size * scale)
    try:
      detector = self._idle_detectors.get_nowait()
    except queue.Empty:
      detector = self._dlib.get_frontal_face_detector()
    try:
      found = self._run_from_level(detector, small, skip, threshold) if skip else None
      if found is None:
        rects, scores, _ = detector.run(small, self.upsample, threshold)
        found = [(r.left(), r.top(), r.right(), r.bottom(), s) for r, s in zip(rects, scores)]
    finally:
      self._idle_detectors.put(detector)
    boxes = np.array(found, np.float32).reshape(-1, 5)
    boxes[:, :4] /= scale
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return boxes[np.argsort(-area)]

  def _skipped_levels(self, face_size: float) -> int:
    """Pyramid levels below the first that could find a face of MIN_FACE_FRACTION x
    `face_size` (pixels of the image before upsampling), with one level to spare."""
    if self.upsample > 1:
      return 0  # only dlib's single pyramid_up is reproduced (`_run_from_level`)
    smallest = MIN_FACE_FRACTION * face_size * 2 ** self.upsample
    return max(0, math.floor(math.log(smallest / LEVEL_BOX, PYRAMID_RATE)) - 1)

  def _run_from_level(self, detector, grey: np.ndarray, skip: int, threshold: float):
    """detector.run(grey, self.upsample, threshold) scanning pyramid levels skip and up.

    The level images are dlib's own (its pyramid_up is resize_image to the size
    pyramid_down(2).rect_up gives, then pyramid_down(6) once per level, as the detector
    builds them), so the scores are dlib's. A box found j levels above the start comes
    back rounded in that start level's pixels; the level's own integer box is recovered
    (the mapping enlarges by 6/5 a level, so rounding it back is exact) and mapped up in
    one step as dlib does. None if a box is not LEVEL_BOX high at its level (another
    detector model): the caller then scans every level.
    """
    dlib = self._dlib
    image = grey
    if self.upsample:
      up = self._pyramid_up.rect_up(dlib.rectangle(0, 0, grey.shape[1] - 1, grey.shape[0] - 1))
      image = dlib.resize_image(grey, up.bottom() + 1, up.right() + 1)
    for _ in range(skip):
      image = self._pyramid_down(image)
    rects, scores, _ = detector.run(image, 0, threshold)
    found = []
    for rect, score in zip(rects, scores):
      level = round(math.log(rect.height() / LEVEL_BOX, PYRAMID_RATE))
      if level < 0:
        return None
      down = self._pyramid_down.rect_down(
          dlib.drectangle(rect.left(), rect.top(), rect.right(), rect.bottom()), level)
      box = dlib.rectangle(*[math.floor(v + 0.5) for v in
                             (down.left(), down.top(), down.right(), down.bottom())])
      if box.height() != LEVEL_BOX or self._pyramid_down.rect_up(box, level) != rect:
        return None
      box = self._pyramid_down.rect_up(box, level + skip)
      if self.upsample:
        box = self._pyramid_up.rect_down(box)
      found.append((box.left(), box.top(), box.right(), box.bottom(), score))
    return found

  def landmarks(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
    rect = self._dlib.rectangle(*[int(round(v)) for v in box[:4]])
    image = np.asarray(image)
    if image.ndim == 3:
      image = image[..., :3]
    with self._predictor_lock:
      shape = self._predictor(np.ascontiguousarray(image), rect)
    points = np.zeros((68, 3), np.float32)
    points[:, :2] = [(p.x, p.y) for p in shape.parts()]
    return points


def face_alignment_weights() -> tuple[str, ...]:
  """The files face-alignment loads from torch hub's checkpoints folder on first use (2D
  FAN, SFD detector). Their names change between releases (1.4: 2DFAN4-cd938726ad.zip,
  1.5: 2DFAN4-11f355bf06.pth.tar), so they are read from the installed package."""
  from face_alignment import api  # pylint: disable=g-import-not-at-top
  from face_alignment.detection.sfd import sfd_detector  # pylint: disable=g-import-not-at-top
  urls = (api.models_urls["2DFAN-4"], sfd_detector.models_urls["s3fd"])
  return tuple(os.path.basename(urllib.parse.urlparse(url).path) for url in urls)


def torch_hub_checkpoints() -> str:
  torch_home = os.environ.get("TORCH_HOME") or os.path.join(
      os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
  return os.path.join(torch_home, "hub", "checkpoints")


class FaceAlignmentBackend:
  """face-alignment's SFD detector + 2D-FAN (optional; weights must already be local)."""
  name = "face_alignment"
  thread_safe = False  # torch runs its own threads

  def __init__(self, device: str = "cpu"):
    if importlib.util.find_spec("face_alignment") is None:
      raise BackendUnavailable(
          "the face_alignment backend needs `pip install stylehead_jax[face-alignment]`")
    folder = torch_hub_checkpoints()
    missing = [f for f in face_alignment_weights()
               if not os.path.isfile(os.path.join(folder, f))]
    if missing:
      raise BackendUnavailable(
          f"face_alignment weights {missing} are not in {folder}; this project never "
          "downloads at run time: copy them there (or set TORCH_HOME), or use --landmarks dlib")
    import face_alignment  # pylint: disable=g-import-not-at-top
    options = {}
    if "compile" in inspect.signature(face_alignment.FaceAlignment).parameters:
      options["compile"] = False  # 1.5+: torch.compile costs minutes on a CPU, once per process
    self._fa = face_alignment.FaceAlignment(face_alignment.LandmarksType.TWO_D, device=device,
                                            face_detector="sfd", **options)

  def detect(self, image: np.ndarray, threshold: float = 0.0,
             face_size: float | None = None) -> np.ndarray:
    del face_size  # SFD scans every scale
    found = self._fa.face_detector.detect_from_image(np.asarray(image)[..., :3].copy())
    boxes = np.array([b[:5] for b in found], np.float32).reshape(-1, 5)
    boxes = boxes[boxes[:, 4] >= 0.5 + threshold]  # SFD scores are probabilities
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return boxes[np.argsort(-area)]

  def landmarks(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
    # Plain floats: face-alignment 1.5 writes the box's scale into a torch tensor, which
    # refuses numpy scalars.
    found = self._fa.get_landmarks_from_image(np.asarray(image)[..., :3],
                                              [[float(v) for v in box[:4]]])
    points = np.zeros((68, 3), np.float32)
    points[:, :2] = found[0][:, :2]
    return points


BACKENDS = {"dlib": DlibBackend, "face_alignment": FaceAlignmentBackend}


def get_backend(name: str = "dlib", **kwargs) -> LandmarkBackend:
  if name not in BACKENDS:
    raise ValueError(f"unknown landmark backend {name!r}; known: {sorted(BACKENDS)}")
  return BACKENDS[name](**kwargs)
