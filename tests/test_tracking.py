"""Face tracks of real footage: detection, crops, landmarks, pose, torso, bad inputs."""

import importlib.util
import sys
import types

import numpy as np
import pytest

from data_prep.synthetic_talking_heads import world
from stylehead_jax import media
from stylehead_jax.landmarks import conventions
from stylehead_jax.landmarks import detectors
from stylehead_jax.landmarks import pose
from stylehead_jax.landmarks import tracking
from tests.conftest import REAL, TRACKED_CLIPS, corrupt_part_way

CONFIG = tracking.TrackerConfig(resolution=256)


@pytest.fixture(scope="module")
def backend():
  return detectors.get_backend("dlib")


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in TRACKED_CLIPS])
def test_every_frame_gets_landmarks(tracked, name):
  video, detected, segments = tracked[name]
  fraction = detected.mean()
  print(f"{name}: detected in {fraction:.3f} of {len(detected)} frames")
  assert fraction >= 0.95
  assert len(segments) == 1
  track = segments[0]
  # Frame count = round(duration x 60) +- 1; crops and landmarks line up.
  assert abs(len(track.frames) - round(video.source_num_frames / video.source_fps * 60)) <= 1
  assert track.frames.shape[1:] == (256, 256, 3)
  assert track.landmarks.shape == (len(track.frames), 68, 3)
  assert np.isfinite(track.landmarks).all()
  # The face sits in the middle of the crop with the margin around it.
  centre = track.landmarks[..., :2].mean(1).mean(0)
  assert np.all(np.abs(centre - 128) < 40), centre


def test_smoothing_removes_jitter_and_keeps_fast_head_motion():
  """A face shaking fast (11 px and up to 6 degrees a frame, as on style_lp_d12) with 1 px
  of point noise: smoothing leaves the clean motion as it is (smoothing the raw points
  would move them 0.5 px) and brings the noisy track nearer to the clean one."""
  rng = np.random.default_rng(0)
  t = np.arange(150)
  angle = 0.1 * np.sin(0.9 * t)
  rotation = np.stack([np.stack([np.cos(angle), -np.sin(angle)], -1),
                       np.stack([np.sin(angle), np.cos(angle)], -1)], -2)
  shift = np.stack([256 + 20 * np.sin(0.8 * t), 256 + 10 * np.cos(0.7 * t)], -1)
  clean = np.einsum("pj,tij->tpi", 200 * conventions.MEAN_FACE_3D[:, :2], rotation)
  clean = np.pad(clean + shift[:, None], ((0, 0), (0, 0), (0, 1))).astype(np.float32)
  noisy = clean + np.pad(rng.normal(0, 1, clean[..., :2].shape), ((0, 0), (0, 0), (0, 1)))
  error = lambda x: np.linalg.norm(x - clean, axis=-1).mean()
  assert error(tracking._smooth_landmarks(clean, 25, 0.2)) < 0.01
  assert error(tracking._smooth_landmarks(noisy, 25, 0.2)) < 0.75 * error(noisy)


class _FullScan:
  """The dlib backend scanning every pyramid level: it ignores `face_size`."""
  name, thread_safe = "dlib", True

  def __init__(self, backend):
    self.backend = backend

  def detect(self, image, threshold=0.0, face_size=None):
    del face_size
    return self.backend.detect(image, threshold)

  def landmarks(self, image, box):
    return self.backend.landmarks(image, box)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["talk_vr_5.mp4", "00015.mp4"])
def test_tracks_are_those_of_full_detector_scans(tracked, backend, name):
  """The tracker passes the face's size to the detector, which then skips the pyramid
  levels of much smaller faces: the tracks are those of full scans, to the bit."""
  video, _, segments = tracked[name]
  full = tracking.track_segments(video.frames, video.source_fps, _FullScan(backend), CONFIG,
                                 name)
  assert len(full) == len(segments)
  for fast, slow in zip(segments, full):
    np.testing.assert_array_equal(fast.landmarks, slow.landmarks)
    np.testing.assert_array_equal(fast.crop_boxes, slow.crop_boxes)
    np.testing.assert_array_equal(fast.detected, slow.detected)


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in sorted(REAL.glob("*.mp4"))])
def test_landmarks_agree_with_dlib_on_the_crop(backend, name):
  """On 20 frames per clip (its first 10 s), dlib run directly on the 512 px crop lands
  within 1.5 px of the track's landmarks on average."""
  video = media.read_video(REAL / name, fps=None)
  frames = video.frames[:int(10 * video.source_fps)]
  track = tracking.track_segments(frames, video.source_fps, backend,
                                  tracking.TrackerConfig(resolution=512), name)[0]
  distances = []
  for t in np.linspace(0, len(track.frames) - 1, 20).astype(int):
    boxes = backend.detect(track.frames[t])
    direct = backend.landmarks(track.frames[t], boxes[0])
    distances.append(np.linalg.norm(direct[:, :2] - track.landmarks[t, :, :2], axis=1).mean())
  print(f"{name}: mean distance to dlib on the 512 px crop {np.mean(distances):.2f} px")
  assert np.mean(distances) < 1.5


@pytest.mark.slow
@pytest.mark.parametrize("name", ["talk_lp_s18.mp4", "style_lp_d6.mp4", "00015.mp4"])
def test_yaw_has_the_sign_of_the_visible_turn(tracked, name):
  """The visible turn is the nose tip's offset from the inner eye corners' midpoint, as a
  fraction of the eye span (positive: nose towards image right). On the frames where it
  is clear (|turn| > 0.08), the PnP yaw has its sign."""
  track = tracked[name][2][0]
  lm = track.landmarks
  turn = (lm[:, 30, 0] - (lm[:, 39, 0] + lm[:, 42, 0]) / 2) / np.linalg.norm(
      lm[:, 45, :2] - lm[:, 36, :2], axis=1)
  yaw = pose.angles_from_rotation(track.rotation)[:, 0]
  clear = np.abs(turn) > 0.08
  agree = np.mean(np.sign(yaw[clear]) == np.sign(turn[clear]))
  print(f"{name}: {clear.sum()} frames with a clear turn, yaw sign agrees on {agree:.1%}")
  assert clear.sum() >= 30
  assert agree > 0.85


def test_pnp_recovers_synthetic_head_motion():
  config = world.WorldConfig(resolution=256)
  speaker = world.make_speaker(config, "train", 2)
  utt = world.make_utterance(config, speaker, "rap", "train", 0)
  rotation, translation = pose.solve_head_pose(utt.landmarks, 256)
  ours, truth = pose.angles_from_rotation(rotation), pose.angles_from_rotation(utt.rotation)
  for i, name in enumerate(("yaw", "pitch", "roll")):
    assert np.corrcoef(ours[:, i], truth[:, i])[0, 1] > 0.9, name
  assert abs(np.median(translation[:, 2]) / np.median(utt.translation[:, 2]) - 1) < 0.15


def test_angles_round_trip():
  angles = np.array([[3.0, -2.0, 1.5], [10.0, 5.0, -7.0], [-30.0, 20.0, 12.0]])
  rotation = pose.rotation_from_angles(*angles.T)
  np.testing.assert_allclose(pose.angles_from_rotation(rotation), angles, atol=1e-6)


@pytest.mark.slow
def test_torso_points_stay_below_the_chin_inside_the_crop(tracked):
  track = tracked["talk_hdtf_aoc.mp4"][2][0]
  assert track.torso.shape == (len(track.frames), 3, 2)
  chin = track.landmarks[:, 8, 1]
  assert np.all(track.torso[:, 0, 1] > chin - 5)  # the neck point stays below the chin
  assert np.all((track.torso >= 0) & (track.torso < 256))


def test_no_face_fails_clearly(backend, bad_dir):
  with pytest.raises(tracking.NoFaceError, match="no_face.mp4: no face found"):
    tracking.extract(bad_dir / "no_face.mp4", backend=backend, config=CONFIG)
  with pytest.raises(tracking.NoFaceError, match="free-mountain-vector-01.jpg: no face"):
    tracking.extract(bad_dir / "free-mountain-vector-01.jpg", backend=backend, config=CONFIG)


@pytest.mark.slow
def test_a_streamed_video_tracks_as_the_whole_video(tracked, backend):
  """track_video's two passes over the decoded stream (crops CHUNK_FRAMES at a time,
  none kept) give the Track of the whole video read at once, and the crops it hands to
  on_crops are that Track's distinct frames, in order."""
  name = "talk_hdtf_aoc.mp4"
  whole = tracked[name][2][0]
  crops = []
  streamed = list(tracking.track_video(REAL / name, backend, CONFIG, keep_frames=False,
                                       on_crops=crops.append))
  assert len(streamed) == 1 and streamed[0].frames is None and streamed[0].torso is None
  assert len(crops) > 1  # more than one chunk
  for field in ("landmarks", "detected", "rotation", "translation", "crop_boxes",
                "source_indices", "source_fps", "source_start"):
    np.testing.assert_array_equal(getattr(streamed[0], field), getattr(whole, field), field)
  distinct = np.unique(whole.source_indices, return_index=True)[1]
  np.testing.assert_array_equal(np.concatenate(crops), whole.frames[distinct])


def test_a_video_corrupt_part_way_names_the_file_and_the_frame(backend, tmp_path):
  path = corrupt_part_way(REAL / "talk_hdtf_aoc.mp4", tmp_path / "broken.mp4")
  with pytest.raises(media.MediaError,
                     match=r"broken.mp4: corrupt video: decoding failed at frame \d+ \("):
    tracking.extract(path, backend=backend, config=CONFIG)


def test_a_long_segment_is_cut_into_equal_parts():
  detected = np.ones(100, bool)  # 4 s at 25 fps
  assert tracking.usable_segments(detected, 25.0, CONFIG) == [(0, 100)]
  capped = tracking.TrackerConfig(max_segment_seconds=1.5)
  assert tracking.usable_segments(detected, 25.0, capped) == [(0, 33), (33, 67), (67, 100)]
  detected[40:60] = False  # a gap of 0.8 s splits first; each side (1.6 s) fits in 2 s
  capped = tracking.TrackerConfig(max_segment_seconds=2.0)
  assert tracking.usable_segments(detected, 25.0, capped) == [(0, 40), (60, 100)]


def test_face_leaving_the_frame_ends_the_segment(backend, bad_dir):
  video = media.read_video(bad_dir / "face_noface.mov", fps=None)
  segments = tracking.track_segments(video.frames, video.source_fps, backend, CONFIG,
                                     "face_noface.mov")
  covered = sum(len(np.unique(s.source_indices)) for s in segments)
  assert 0 < covered < video.source_num_frames
  assert all(s.detected_fraction >= CONFIG.min_detected_fraction for s in segments)


def test_several_faces_use_the_largest(backend, bad_dir):
  image = media.read_image(bad_dir / "multi_face.jpg")
  boxes = backend.detect(image)
  assert len(boxes) > 1
  track = tracking.extract(bad_dir / "multi_face.jpg", backend=backend, config=CONFIG)
  assert track.frames.shape == (1, 256, 256, 3)
  side = lambda b: max(b[2] - b[0], b[3] - b[1])
  # The crop is sized from the largest face.
  assert track.crop_boxes[0, 2] > 1.5 * side(boxes[1])


def test_rgba_portrait_is_read(backend, real_dir):
  track = tracking.extract(real_dir / "face_dt_face3.png", backend=backend, config=CONFIG)
  assert track.detected.all() and track.frames.shape == (1, 256, 256, 3)


def test_face_alignment_not_installed_says_how_to_get_it(monkeypatch):
  monkeypatch.setattr(detectors.importlib.util, "find_spec", lambda name: None)
  with pytest.raises(detectors.BackendUnavailable, match=r"stylehead_jax\[face-alignment\]"):
    detectors.get_backend("face_alignment")


@pytest.fixture
def face_alignment_package(monkeypatch):
  """The installed face_alignment, or (without the extra) stand-in modules that carry
  face-alignment 1.5's weight addresses, so the weights check runs either way."""
  if importlib.util.find_spec("face_alignment") is not None:
    return False
  urls = {"face_alignment.api": {"2DFAN-4": "https://host/python-fan/2DFAN4-11f355bf06.pth.tar"},
          "face_alignment.detection.sfd.sfd_detector": {
              "s3fd": "https://host/python-fan/s3fd-619a316812.pth"}}
  for name in ("face_alignment", "face_alignment.detection", "face_alignment.detection.sfd",
               *urls):
    module = types.ModuleType(name)
    module.models_urls = urls.get(name)
    monkeypatch.setitem(sys.modules, name, module)
  real_find_spec = detectors.importlib.util.find_spec
  monkeypatch.setattr(detectors.importlib.util, "find_spec",
                      lambda name: object() if name == "face_alignment" else real_find_spec(name))
  return True


def test_face_alignment_without_weights_says_where_they_go(face_alignment_package, monkeypatch,
                                                          tmp_path):
  """With the package present but its weights absent, the error names the folder and
  the files that release loads, and nothing is downloaded."""
  monkeypatch.setenv("TORCH_HOME", str(tmp_path))
  with pytest.raises(detectors.BackendUnavailable) as error:
    detectors.get_backend("face_alignment")
  message = str(error.value)
  assert str(tmp_path / "hub" / "checkpoints") in message
  names = detectors.face_alignment_weights()
  assert len(names) == 2 and any("2DFAN4" in n for n in names)
  for name in names:
    assert name in message
  assert not (tmp_path / "hub").exists()


def test_face_alignment_with_weights_gives_68_points(monkeypatch, tmp_path, real_dir):
  """Where the extra is installed: with weight files of the right architecture in place
  (random stand-ins: the real ones cannot be fetched here), the backend loads them
  offline and returns boxes (n, 5) and 68 points with z = 0 in the image."""
  pytest.importorskip("face_alignment", reason="the face-alignment extra is not installed")
  import torch  # pylint: disable=g-import-not-at-top
  from face_alignment.detection.sfd import net_s3fd  # pylint: disable=g-import-not-at-top
  from face_alignment.models import FAN  # pylint: disable=g-import-not-at-top
  folder = tmp_path / "hub" / "checkpoints"
  folder.mkdir(parents=True)
  fan_file, sfd_file = detectors.face_alignment_weights()
  torch.manual_seed(0)
  if fan_file.endswith(".zip"):  # 1.4: a TorchScript archive
    torch.jit.save(torch.jit.script(FAN(4).eval()), str(folder / fan_file))
  else:
    torch.save(FAN(4).state_dict(), folder / fan_file)
  torch.save(net_s3fd.s3fd().state_dict(), folder / sfd_file)
  monkeypatch.setenv("TORCH_HOME", str(tmp_path))
  backend = detectors.get_backend("face_alignment")
  image = media.read_image(real_dir / "face_happy.png")
  boxes = backend.detect(image)
  assert boxes.ndim == 2 and boxes.shape[1] == 5
  box = np.array([60, 50, 200, 210, 1.0], np.float32)
  points = backend.landmarks(image, box)
  assert points.shape == (68, 3) and np.isfinite(points).all() and not points[:, 2].any()
  # In image pixels around the box (FAN's crop is the box enlarged; the weights are random).
  centre, size = np.array([130.0, 130.0]), 160.0
  assert (np.abs(points[:, :2] - centre) <= 1.5 * size).all()
  assert np.ptp(points[:, 0]) > 1 and np.ptp(points[:, 1]) > 1
