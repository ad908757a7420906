"""Head pose: rotation conventions and PnP against the mean 3D face.

Frame: x right, y down, z towards the camera (the landmark frame). Angles in degrees:
yaw turns the nose towards image-right when positive, pitch tips it down, roll tilts
the head clockwise in the image. R = Rz(roll) @ Rx(pitch) @ Ry(yaw).
Translation (3): the image position (x, y) of the face model's origin (the nose tip of
MEAN_FACE_3D) in crop pixels, and the scale z in pixels per face width, so that
landmarks ~= R @ (face - pivot) + pivot) * z + (x, y, 0) for a face in face widths.
"""

from __future__ import annotations

import sys

import cv2
import numpy as np

from stylehead_jax.landmarks import conventions as lmk

# Points that barely move with expression: the upper jaw line (the chin drops when the
# mouth opens), the nose and the eye corners (lids blink).
PNP_POINTS = np.array([0, 1, 2, 3, 13, 14, 15, 16, 27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45])


def rotation_from_angles(yaw, pitch, roll):
  """(..., 3, 3) rotations from angles in degrees (arrays or scalars; numpy gives at
  least (1, 3, 3)). numpy in, numpy out; JAX in (also under jit), JAX out."""
  xp = _xp(yaw, pitch, roll)
  y, p, r = (xp.deg2rad(xp.atleast_1d(a if xp is not np else np.asarray(a, np.float64)))
             for a in (yaw, pitch, roll))
  zeros, ones = xp.zeros_like(y), xp.ones_like(y)
  shape = y.shape + (3, 3)
  ry = xp.stack([xp.cos(y), zeros, xp.sin(y), zeros, ones, zeros,
                 -xp.sin(y), zeros, xp.cos(y)], -1).reshape(shape)
  rx = xp.stack([ones, zeros, zeros, zeros, xp.cos(p), -xp.sin(p),
                 zeros, xp.sin(p), xp.cos(p)], -1).reshape(shape)
  rz = xp.stack([xp.cos(r), -xp.sin(r), zeros, xp.sin(r), xp.cos(r), zeros,
                 zeros, zeros, ones], -1).reshape(shape)
  return rz @ rx @ ry


def angles_from_rotation(rotation):
  """Inverse of `rotation_from_angles`: (..., 3) yaw, pitch, roll in degrees (|pitch| < 90).
  numpy in, numpy out; JAX in (also under jit), JAX out."""
  xp = _xp(rotation)
  yaw = xp.arctan2(-rotation[..., 2, 0], rotation[..., 2, 2])
  pitch = xp.arcsin(xp.clip(rotation[..., 2, 1], -1, 1))
  roll = xp.arctan2(-rotation[..., 0, 1], rotation[..., 1, 1])
  return xp.rad2deg(xp.stack([yaw, pitch, roll], -1))


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


def _xp(*arrays):
  """jax.numpy for traced or JAX arrays, numpy otherwise: the pose algebra below serves
  data preparation (numpy) and training steps (jit) from one definition. JAX is not
  imported here: where it is not loaded yet, no array can be a JAX array (and tools that
  only track faces start a second faster)."""
  jax = sys.modules.get("jax")
  if jax is not None and any(isinstance(a, jax.Array) for a in arrays):
    return jax.numpy
  return np


def posed_landmarks(face, rotation, translation):
  """Landmarks (..., 68, 3) in pixels of a face (..., 68, 3) in face widths, posed by
  rotation (..., 3, 3) and translation (..., 3) (weak perspective, no pivot):
  L = (R F) s + (x, y, 0) with (x, y, s) = translation."""
  xp = _xp(face, rotation, translation)
  points = xp.einsum("...ij,...nj->...ni", rotation, face) * translation[..., None, 2:3]
  offset = xp.concatenate([translation[..., :2], xp.zeros_like(translation[..., 2:])], -1)
  return points + offset[..., None, :]


def canonical_face(landmarks, rotation, translation):
  """The inverse of `posed_landmarks`: faces (..., 68, 3) in face widths, pose removed.

  A frame without depth (z = 0 at every point: a 2D detector) takes, at each point, the
  depth the mean face (MEAN_FACE_3D) has there in that pose. Either way posing the result
  again gives the track's x and y exactly (and its z, where it has one).
  """
  xp = _xp(landmarks, rotation, translation)
  scale = translation[..., None, 2:3]
  xy = (landmarks[..., :2] - translation[..., None, :2]) / scale
  mean_depth = xp.einsum("...j,nj->...n", rotation[..., 2, :], lmk.MEAN_FACE_3D)
  has_depth = xp.any(landmarks[..., 2] != 0, axis=-1, keepdims=True)
  z = xp.where(has_depth, landmarks[..., 2] / scale[..., 0], mean_depth)
  posed = xp.concatenate([xy, z[..., None]], -1)
  return xp.einsum("...ji,...nj->...ni", rotation, posed)
