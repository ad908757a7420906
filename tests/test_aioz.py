"""The aioz protocol's landmarks against the steps of the paper's released metric scripts,
done here one by one with files as they do them (stylehead_jax/landmarks/aioz.py)."""

import json
import pathlib
import subprocess
import sys

import cv2
import numpy as np
import pytest

from stylehead_jax import media
from stylehead_jax.landmarks import aioz

REAL = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
BITS = 10  # a frame's index, written as black and white squares


def _numbered_video(path, num_frames, fps):
  """A lossless video whose frame i shows i in binary."""
  frames = np.zeros((num_frames, 64, 64, 3), np.uint8)
  for i in range(num_frames):
    for bit in range(BITS):
      if i >> bit & 1:
        row, col = divmod(bit, 4)
        frames[i, row * 16:(row + 1) * 16, col * 16:(col + 1) * 16] = 255
  import imageio_ffmpeg  # pylint: disable=g-import-not-at-top
  writer = imageio_ffmpeg.write_frames(str(path), (64, 64), fps=fps, codec="libx264",
                                       output_params=["-qp", "0"], ffmpeg_log_level="error")
  writer.send(None)
  for frame in frames:
    writer.send(frame)
  writer.close()


def _numbers(path):
  capture = cv2.VideoCapture(str(path))
  out = []
  while True:
    ok, frame = capture.read()
    if not ok:
      return np.array(out)
    out.append(sum(1 << bit for bit in range(BITS)
                   if frame[(bit // 4) * 16 + 8, (bit % 4) * 16 + 8, 0] > 127))


def _scripts_resample(source, out):
  """The released scripts' ffmpeg command (less -async 1, an audio option)."""
  subprocess.run([media.ffmpeg_exe(), "-v", "error", "-y", "-i", str(source), "-qscale:v",
                  "2", "-r", "29.97", str(out)], check=True)


@pytest.mark.parametrize("fps,num_frames", [(25, 61), (60, 130), (24000 / 1001, 50),
                                            (15, 20)])
def test_resample_indices_equal_ffmpeg(tmp_path, fps, num_frames):
  source, out = tmp_path / "numbered.mp4", tmp_path / "resampled.mp4"
  _numbered_video(source, num_frames, fps)
  assert (_numbers(source) == np.arange(num_frames)).all()
  _scripts_resample(source, out)
  chosen = _numbers(out)
  np.testing.assert_array_equal(aioz.resample_indices(num_frames, fps), chosen)
  if fps != 15:  # going down or slightly up in rate, ffmpeg is neither floor nor nearest
    t = np.arange(len(chosen)) * fps / aioz.FPS
    assert (np.floor(t + 1e-6).astype(int) != chosen).any()
    assert (np.minimum(np.floor(t + 0.5).astype(int), num_frames - 1) != chosen).any()


def _scripts_landmarks(video, workdir):
  """What the released scripts store for each frame: ffmpeg -r 29.97, cv2 reads, JPEG
  files written and read back, 512 x 512 INTER_AREA, grey, detector(gray, 1), the
  predictor on every face found, the last one kept (None: no face, no file)."""
  import dlib  # pylint: disable=g-import-not-at-top
  from stylehead_jax.landmarks import detectors  # pylint: disable=g-import-not-at-top
  detector = dlib.get_frontal_face_detector()
  predictor = dlib.shape_predictor(detectors.dlib_predictor_path())
  resampled = workdir / "tmp_video.mp4"
  _scripts_resample(video, resampled)
  capture = cv2.VideoCapture(str(resampled))
  out = []
  while True:
    ok, image = capture.read()
    if not ok:
      return out
    jpeg = str(workdir / f"frame{len(out):04d}.jpg")
    cv2.imwrite(jpeg, image)
    image = cv2.resize(cv2.imread(jpeg), (512, 512), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    kept = None
    for rect in detector(grey, 1):
      shape = predictor(grey, rect)
      kept = np.array([(p.x, p.y) for p in shape.parts()], np.float32)
    out.append(kept)


@pytest.fixture(scope="module")
def two_faces(tmp_path_factory):
  """Eight frames of a real talking head at 25 fps with a small copy of the face pasted
  in a corner of the last four: dlib finds both, the small one last."""
  frames = media.read_video(REAL / "talk_hdtf_aoc.mp4", fps=None).frames[100:108].copy()
  face = cv2.resize(frames[0, 120:420, 130:400], (100, 110), interpolation=cv2.INTER_AREA)
  frames[4:, -115:-5, -105:-5] = face
  path = tmp_path_factory.mktemp("aioz") / "two_faces.mp4"
  media.write_video(path, frames, fps=25)
  return path


def test_track_equals_the_scripts_landmarks(two_faces, tmp_path):
  theirs = _scripts_landmarks(two_faces, tmp_path)
  ours = aioz.track(str(two_faces))
  assert len(ours.landmarks) == len(theirs) == 10
  assert all(t is not None for t in theirs) and not ours.missing
  np.testing.assert_array_equal(ours.landmarks, np.stack(theirs))
  # The pasted face is the scripts' choice where it is found; the option keeps the
  # largest face there, and is the scripts' choice elsewhere.
  assert ours.not_largest and ours.not_largest == sorted(ours.not_largest)
  largest = aioz.track(str(two_faces), faces="largest")
  assert largest.not_largest == []
  differs = [i for i in range(len(theirs))
             if not np.array_equal(largest.landmarks[i], theirs[i])]
  assert differs == ours.not_largest
  centre_x = lambda track: track.landmarks[differs, :, 0].mean(1)
  assert centre_x(largest).max() < 350 < centre_x(ours).min()  # the pasted face: x > 407


def test_frame_modes_hold_one_frame_and_differ_from_the_reencode(two_faces):
  count, released = aioz.frames(str(two_faces))
  count_jpeg, jpeg = aioz.frames(str(two_faces), "jpeg")
  _, decoded = aioz.frames(str(two_faces), "decoded")
  released, jpeg, decoded = list(released), list(jpeg), list(decoded)
  assert count == count_jpeg == len(released) == len(jpeg) == len(decoded) == 10
  assert released[0].shape == (512, 512) and released[0].dtype == np.uint8
  assert not np.array_equal(released[3], jpeg[3])  # the H.264 re-encode
  assert 0 < np.abs(jpeg[3].astype(int) - decoded[3]).mean() < 2  # the JPEG round trip


def test_bad_input_is_named(tmp_path):
  with pytest.raises(media.MediaError, match="corrupt.mp4"):
    aioz.track(str(REAL.parent / "bad" / "corrupt.mp4"))
  blank = tmp_path / "blank.mp4"
  media.write_video(blank, np.full((3, 64, 64, 3), 128, np.uint8), fps=25)
  with pytest.raises(ValueError, match="blank.mp4: no face in any frame"):
    aioz.track(str(blank))


def test_metrics_script_reports_the_scripts_choices(two_faces, tmp_path):
  """eval/metrics.py --protocol aioz on a video against itself: zero frame-aligned
  distances (the style ones are not zero: the released min is over running means), a
  CPBD measured as the frames are decoded, and the frames where the kept face is not the
  largest named."""
  repo = pathlib.Path(__file__).resolve().parents[1]
  out = subprocess.run([sys.executable, str(repo / "eval" / "metrics.py"), "--protocol", "aioz",
                        "-g", str(two_faces), "-r", str(two_faces), "--window", "5",
                        "--stride", "2", "--json", str(tmp_path / "out.json")],
                       capture_output=True, text=True, cwd=repo)
  assert out.returncode == 0, out.stderr
  result = json.loads((tmp_path / "out.json").read_text())
  assert all(result["metrics"][k] == 0 for k in ("lmd", "d_l", "d_v", "d_a"))
  assert all(np.isfinite(result["metrics"][k]) for k in ("sld", "slv", "smd"))
  assert 0 < result["metrics"]["cpbd"] < 1
  assert result["settings"]["aioz_faces"] == "last" and result["frames_compared"] == 10
  assert any("kept the last, which is not the largest" in n for n in result["notes"])
