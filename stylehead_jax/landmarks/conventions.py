"""The 68-point landmark convention (iBUG 300-W order) and a mean 3D face.

Landmarks are float32 (x, y, z) in pixels of the crop, x to the right, y down, z towards
the camera; z = 0 where the detector is 2D. "Left" and "right" are as seen in the image.
"""

import jax
import jax.numpy as jnp
import numpy as np

NUM_LANDMARKS = 68

# Point groups, [first, last + 1) in the iBUG numbering.
(JAW, LEFT_BROW, RIGHT_BROW, BROWS, NOSE_BRIDGE, NOSE_BOTTOM, NOSE, LEFT_EYE, RIGHT_EYE, EYES,
 OUTER_LIPS, INNER_LIPS, MOUTH) = (np.arange(first, stop) for first, stop in (
     (0, 17), (17, 22), (22, 27), (17, 27), (27, 31), (31, 36), (27, 36), (36, 42), (42, 48),
     (36, 48), (48, 60), (60, 68), (48, 68)))

GROUPS = {
    "jaw": JAW, "left_brow": LEFT_BROW, "right_brow": RIGHT_BROW,
    "nose_bridge": NOSE_BRIDGE, "nose_bottom": NOSE_BOTTOM,
    "left_eye": LEFT_EYE, "right_eye": RIGHT_EYE,
    "outer_lips": OUTER_LIPS, "inner_lips": INNER_LIPS,
}

# Polylines of the facial map, drawn in this order: (group, closed).
POLYLINES = (
    ("jaw", False), ("left_brow", False), ("right_brow", False),
    ("nose_bridge", False), ("nose_bottom", False),
    ("left_eye", True), ("right_eye", True),
    ("outer_lips", True), ("inner_lips", True),
)

# Points whose vertical distance measures mouth opening (inner lips, upper / lower middle).
INNER_LIP_TOP = np.array([61, 62, 63])
INNER_LIP_BOTTOM = np.array([67, 66, 65])
LEFT_EYE_OUTER, RIGHT_EYE_OUTER = 36, 45
LEFT_MOUTH_CORNER, RIGHT_MOUTH_CORNER = 48, 54
NOSE_TIP = 30
CHIN = 8


def _mean_face() -> np.ndarray:
  """A mean frontal face in units of face width (jaw span ~1), origin at the nose tip."""
  pts = np.zeros((NUM_LANDMARKS, 3), np.float64)
  phi = np.linspace(0.0, np.pi, 17)
  pts[JAW, 0] = -0.48 * np.cos(phi)
  pts[JAW, 1] = -0.12 + 0.74 * np.sin(phi) ** 0.8
  pts[JAW, 2] = -0.32 * np.cos(phi) ** 2 - 0.05
  brow_x = np.linspace(-0.38, -0.08, 5)
  pts[LEFT_BROW] = np.stack([brow_x, -0.33 - 0.05 * np.sin(np.linspace(0.3, 2.6, 5)),
                             0.02 - 0.1 * np.abs(brow_x + 0.08)], -1)
  pts[RIGHT_BROW] = pts[LEFT_BROW][::-1] * np.array([-1, 1, 1])
  pts[NOSE_BRIDGE] = np.stack([np.zeros(4), np.linspace(-0.26, 0.0, 4),
                               np.linspace(0.06, 0.2, 4)], -1)
  pts[NOSE_BOTTOM] = np.array([[-0.1, 0.07, 0.08], [-0.05, 0.09, 0.11], [0.0, 0.1, 0.12],
                               [0.05, 0.09, 0.11], [0.1, 0.07, 0.08]])
  pts[LEFT_EYE] = np.array([[-0.3, -0.2, -0.02], [-0.245, -0.235, 0.0], [-0.175, -0.235, 0.0],
                            [-0.12, -0.2, 0.0], [-0.175, -0.17, 0.0], [-0.245, -0.17, 0.0]])
  pts[RIGHT_EYE] = pts[LEFT_EYE][[3, 2, 1, 0, 5, 4]] * np.array([-1, 1, 1])
  pts[OUTER_LIPS] = np.array([
      [-0.17, 0.3, 0.04], [-0.11, 0.27, 0.08], [-0.04, 0.25, 0.1], [0.0, 0.26, 0.1],
      [0.04, 0.25, 0.1], [0.11, 0.27, 0.08], [0.17, 0.3, 0.04], [0.11, 0.35, 0.08],
      [0.04, 0.37, 0.09], [0.0, 0.375, 0.09], [-0.04, 0.37, 0.09], [-0.11, 0.35, 0.08]])
  pts[INNER_LIPS] = np.array([
      [-0.13, 0.3, 0.05], [-0.04, 0.295, 0.07], [0.0, 0.295, 0.07], [0.04, 0.295, 0.07],
      [0.13, 0.3, 0.05], [0.04, 0.305, 0.07], [0.0, 0.305, 0.07], [-0.04, 0.305, 0.07]])
  return pts.astype(np.float32)


# Mean 3D face (68, 3): used by the synthetic world and as the PnP model for head pose.
MEAN_FACE_3D = _mean_face()


def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
  """Inner-lip opening, (...,) in the landmarks' units: mean vertical gap of 3 lip pairs."""
  landmarks = np.asarray(landmarks)
  return (landmarks[..., INNER_LIP_BOTTOM, 1] - landmarks[..., INNER_LIP_TOP, 1]).mean(-1)


def interocular(landmarks):
  """Distance between the outer eye corners, (...,); a jax array (traced too) gives one."""
  xp = jnp if isinstance(landmarks, jax.Array) else np
  landmarks = xp.asarray(landmarks)
  d = landmarks[..., RIGHT_EYE_OUTER, :2] - landmarks[..., LEFT_EYE_OUTER, :2]
  return xp.linalg.norm(d, axis=-1)
