"""Head pose: rotation conventions and PnP against the mean 3D face.

Frame: x right, y down, z towards the camera (the landmark frame). Angles in degrees:
yaw turns the nose towards image-right when positive, pitch tips it down, roll tilts
the head clockwise in the image. R = Rz(roll) @ Rx(pitch) @ Ry(yaw).
Translation (3): the image position (x, y) of the face model's origin (the nose tip of
MEAN_FACE_3D) in crop pixels, and the scale z in pixels per face width, so that
landmarks ~= R @ (face - pivot) + pivot) * z + (x, y, 0) for a face in face widths.
"""

from __future__ import annotations

import cv2
import numpy as np

from stylehead_jax.landmarks import conventions as lmk

# Points that barely move with expression: the upper jaw line (the chin drops when the
# mouth opens), the nose and the eye corners (lids blink).
PNP_POINTS = np.array([0, 1, 2, 3, 13, 14, 15, 16, 27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45])


def rotation_from_angles(yaw, pitch, roll) -> np.ndarray:
  """(T, 3, 3) rotations from angles in degrees (arrays or scalars)."""
  y, p, r = (np.deg2rad(np.atleast_1d(np.asarray(a, np.float64))) for a in (yaw, pitch, roll))
  zeros, ones = np.zeros_like(y), np.ones_like(y)
  ry = np.stack([np.cos(y), zeros, np.sin(y), zeros, ones, zeros,
                 -np.sin(y), zeros, np.cos(y)], -1).reshape(-1, 3, 3)
  rx = np.stack([ones, zeros, zeros, zeros, np.cos(p), -np.sin(p),
                 zeros, np.sin(p), np.cos(p)], -1).reshape(-1, 3, 3)
  rz = np.stack([np.cos(r), -np.sin(r), zeros, np.sin(r), np.cos(r), zeros,
                 zeros, zeros, ones], -1).reshape(-1, 3, 3)
  return rz @ rx @ ry


def angles_from_rotation(rotation: np.ndarray) -> np.ndarray:
  """Inverse of `rotation_from_angles`: (..., 3) yaw, pitch, roll in degrees (|pitch| < 90)."""
  yaw = np.arctan2(-rotation[..., 2, 0], rotation[..., 2, 2])
  pitch = np.arcsin(np.clip(rotation[..., 2, 1], -1, 1))
  roll = np.arctan2(-rotation[..., 0, 1], rotation[..., 1, 1])
  return np.rad2deg(np.stack([yaw, pitch, roll], -1))


_FLIP_Z = np.diag([1.0, 1.0, -1.0])  # our frame (z to camera) <-> OpenCV's (z away)


def solve_head_pose(track: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
  """Head pose per frame by PnP of 2D landmarks against MEAN_FACE_3D.

  Args:
    track: (T, 68, 2|3) landmarks in pixels of a `size` crop.
    size: crop resolution; the camera has focal length `size` (a 53 degree field of view)
      and its principal point at the centre.

  Returns:
    rotation (T, 3, 3) and translation (T, 3) as the module docstring defines them.
  """
  model = (lmk.MEAN_FACE_3D.astype(np.float64) @ _FLIP_Z)[PNP_POINTS]
  camera = np.array([[size, 0, size / 2], [0, size, size / 2], [0, 0, 1]], np.float64)
  rotations, translations = [], []
  rvec = tvec = None
  for points in np.asarray(track, np.float64):
    image_points = np.ascontiguousarray(points[PNP_POINTS, :2])
    if rvec is None:
      ok, rvec, tvec = cv2.solvePnP(model, image_points, camera, None,
                                    flags=cv2.SOLVEPNP_EPNP)
    # The previous frame's pose starts the next: stable and continuous over a clip.
    ok, rvec, tvec = cv2.solvePnP(model, image_points, camera, None, rvec, tvec,
                                  useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
    del ok
    r_cv, _ = cv2.Rodrigues(rvec)
    rotations.append(_FLIP_Z @ r_cv @ _FLIP_Z)
    origin = camera @ tvec.ravel()
    translations.append([origin[0] / origin[2], origin[1] / origin[2],
                         size / float(tvec.ravel()[2])])
  return np.asarray(rotations, np.float32), np.asarray(translations, np.float32)
