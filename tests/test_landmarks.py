"""Landmark conventions, region maps, the L_sp weight mask and the facial map."""

import os

import numpy as np
import pytest

from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.landmarks import detectors
from stylehead_jax.landmarks import facial_map
from stylehead_jax.landmarks import regions


def _face(size):
  """The mean face placed in a `size` crop, in pixels."""
  pts = lmk.MEAN_FACE_3D.copy()
  pts[:, :2] = pts[:, :2] * 0.55 * size + np.array([0.5, 0.42]) * size
  return pts


def test_groups_partition_the_68_points():
  idx = np.concatenate([g for g in lmk.GROUPS.values()])
  assert sorted(idx) == list(range(68))
  assert list(lmk.MOUTH) == list(range(48, 68))
  assert list(lmk.JAW) == list(range(17)) and list(lmk.INNER_LIPS) == list(range(60, 68))
  assert {g for g, _ in lmk.POLYLINES} == set(lmk.GROUPS)


def test_mean_face_is_plausible():
  f = lmk.MEAN_FACE_3D
  assert f.shape == (68, 3) and f.dtype == np.float32
  assert f[lmk.CHIN, 1] > f[lmk.OUTER_LIPS, 1].max() > f[lmk.NOSE_TIP, 1] > f[lmk.EYES, 1].max()
  assert f[lmk.EYES, 1].min() > f[lmk.BROWS, 1].max()
  # Mirror symmetric: left eye outer corner mirrors the right one.
  np.testing.assert_allclose(f[36, :2] * [-1, 1], f[45, :2], atol=1e-6)
  assert lmk.mouth_opening(f) > 0


@pytest.mark.parametrize("size", [64, 128, 512])
def test_region_map_labels(size):
  pts = _face(size)
  labels = regions.region_map(pts, size)
  assert labels.shape == (size, size) and labels.dtype == np.uint8
  at = lambda p: labels[int(round(p[1])), int(round(p[0]))]
  assert at(pts[lmk.OUTER_LIPS, :2].mean(0)) == regions.MOUTH
  assert at(pts[lmk.LEFT_EYE, :2].mean(0)) == regions.EYES
  assert at(pts[lmk.RIGHT_EYE, :2].mean(0)) == regions.EYES
  assert at(pts[lmk.NOSE_BRIDGE[1], :2]) == regions.SKIN
  assert labels[0, 0] == regions.BACKGROUND
  # Areas scale with the square of the resolution.
  frac = np.bincount(labels.ravel(), minlength=4) / size**2
  assert 0.15 < frac[regions.SKIN] < 0.45 and 0.005 < frac[regions.MOUTH] < 0.05


def test_region_map_from_other_resolution():
  small = regions.region_map(_face(128), 64, source_size=128)
  direct = regions.region_map(_face(64), 64)
  assert (small != direct).mean() < 0.01


def test_weight_mask_values():
  labels = np.array([[0, 1], [2, 3]], np.uint8)
  np.testing.assert_array_equal(regions.weight_mask(labels), [[0, 1], [3, 5]])


@pytest.mark.parametrize("size", [64, 256, 512])
def test_facial_map_draws_every_group(size):
  pts = _face(size)
  image = facial_map.render_facial_map(pts, size)
  assert image.shape == (size, size, 3) and image.dtype == np.uint8
  for group, colour in facial_map.PART_COLORS.items():
    # Some pixel on the group's polyline carries its colour.
    p = pts[lmk.GROUPS[group][1], :2]
    y, x = int(round(p[1])), int(round(p[0]))
    patch = image[max(0, y - 1):y + 2, max(0, x - 1):x + 2].reshape(-1, 3).astype(int)
    assert np.min(np.abs(patch - colour).sum(-1)) < 200, group
  # Nothing is drawn far from the face.
  assert image[: size // 20].max() == 0


def test_facial_map_rescales_landmarks():
  big = facial_map.render_facial_map(_face(256), 64, source_size=256)
  direct = facial_map.render_facial_map(_face(64), 64)
  assert np.abs(big.astype(int) - direct).mean() < 2


def test_dlib_predictor_found_offline():
  path = detectors.dlib_predictor_path()
  assert os.path.getsize(path) > 90e6  # the 68-point model is ~99 MB


def test_dlib_predictor_finds_68_points(real_dir):
  import dlib  # pylint: disable=g-import-not-at-top
  import imageio.v3 as iio  # pylint: disable=g-import-not-at-top
  image = iio.imread(real_dir / "face_happy.png")[..., :3]
  faces = dlib.get_frontal_face_detector()(image, 1)
  assert len(faces) == 1
  shape = dlib.shape_predictor(detectors.dlib_predictor_path())(image, faces[0])
  assert shape.num_parts == 68
  assert faces[0].contains(shape.part(30))  # the nose tip lies inside the face box


def test_dlib_backend_gives_the_same_faces_from_several_threads(real_dir):
  """The tracker's crop pass detects in one thread per core: the boxes and landmarks
  equal those of one thread (a dlib detector shared by two threads would not)."""
  from concurrent import futures  # pylint: disable=g-import-not-at-top
  import imageio.v3 as iio  # pylint: disable=g-import-not-at-top
  backend = detectors.get_backend("dlib")
  image = iio.imread(real_dir / "face_happy.png")[..., :3]
  # Padded copies, so that each call finds the face somewhere else.
  images = [np.pad(image, ((9 * k, 40 * (k % 3)), (5 * k, 0), (0, 0))) for k in range(24)]

  def faces(img):
    boxes = backend.detect(img)
    return boxes, backend.landmarks(img, boxes[0])

  serial = [faces(img) for img in images]
  with futures.ThreadPoolExecutor(4) as pool:
    threaded = list(pool.map(faces, images))
  for (boxes, points), (boxes_t, points_t) in zip(serial, threaded):
    np.testing.assert_array_equal(boxes, boxes_t)
    np.testing.assert_array_equal(points, points_t)


@pytest.mark.parametrize("upsample", [1, 0])
def test_dlib_detect_given_the_face_size_finds_dlib_boxes(real_dir, monkeypatch, upsample):
  """With `face_size` the detector skips the pyramid levels of small faces and rebuilds
  the levels it scans from dlib's own pyramid: every box of at least MIN_FACE_FRACTION of
  the face size equals the full scan's, to the pixel, and nothing else comes back.
  Boxes that cannot be mapped back (here: a wrong LEVEL_BOX) fall back to the full scan."""
  from stylehead_jax import media  # pylint: disable=g-import-not-at-top
  # Without upsampling, scanned at full size (the faces are ~300 px), so levels are skipped.
  backend = detectors.DlibBackend(detect_size=640 if upsample == 0 else detectors.DETECT_SIZE,
                                  upsample=upsample)
  frames = []
  for name in ("talk_hdtf_aoc.mp4", "style_lp_d12.mp4", "talk_lp_d20.mp4"):
    video = media.read_video(real_dir / name, fps=None).frames
    frames += list(video[np.linspace(0, len(video) - 1, 6).astype(int)])
  skipped = 0
  for frame in frames:
    full = backend.detect(frame, threshold=-0.5)
    assert len(full), "every test frame shows a face"
    size = max(full[0, 2] - full[0, 0], full[0, 3] - full[0, 1])
    fast = backend.detect(frame, threshold=-0.5, face_size=size)
    sides = np.maximum(full[:, 2] - full[:, 0], full[:, 3] - full[:, 1])
    np.testing.assert_array_equal(fast, full[sides >= detectors.MIN_FACE_FRACTION * size])
    scale = min(1.0, backend.detect_size / max(frame.shape[:2]))
    skipped += backend._skipped_levels(size * scale) > 0
  assert skipped >= len(frames) // 2, "most test frames exercise the level skipping"
  monkeypatch.setattr(detectors, "LEVEL_BOX", 60)
  for frame in frames[::4]:
    full = backend.detect(frame, threshold=-0.5)
    size = max(full[0, 2] - full[0, 0], full[0, 3] - full[0, 1])
    np.testing.assert_array_equal(backend.detect(frame, threshold=-0.5, face_size=size), full)
