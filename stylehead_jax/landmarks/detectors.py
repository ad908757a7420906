"""Landmark detector backends (the dlib default is located offline)."""

import importlib.util
import os


def dlib_predictor_path() -> str:
  """Path of dlib's 68-point shape predictor shipped in `face-recognition-models`.

  That package's `__init__` imports `pkg_resources`, which setuptools>=81 no longer
  provides, so the file is located from the package's spec without importing it.
  """
  spec = importlib.util.find_spec("face_recognition_models")
  if spec is None or not spec.submodule_search_locations:
    raise FileNotFoundError(
        "face-recognition-models is not installed; `pip install face-recognition-models` "
        "provides dlib's 68-point predictor")
  path = os.path.join(list(spec.submodule_search_locations)[0], "models",
                      "shape_predictor_68_face_landmarks.dat")
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: dlib 68-point predictor missing from face-recognition-models")
  return path
