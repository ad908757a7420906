"""Shared fixtures: the real media folder and one built synthetic world per session."""

import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
REAL = SHARED_DATA / "real"
BAD = SHARED_DATA / "bad"


def pytest_configure(config):
  del config
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def real_dir() -> pathlib.Path:
  if not REAL.is_dir():
    pytest.fail(f"{REAL} is missing: the tests need ../shared/data beside the checkout")
  return REAL


@pytest.fixture(scope="session")
def bad_dir() -> pathlib.Path:
  if not BAD.is_dir():
    pytest.fail(f"{BAD} is missing: the tests need ../shared/data beside the checkout")
  return BAD


@pytest.fixture(scope="session")
def synthetic_data_dir(tmp_path_factory) -> str:
  """The default synthetic_talking_heads, built once, through the real CLI."""
  data_dir = tmp_path_factory.mktemp("tfds")
  run([sys.executable, "-m", "data_prep.build", "synthetic_talking_heads",
       "--data_dir", str(data_dir)])
  return str(data_dir)


@pytest.fixture(scope="session")
def trained(synthetic_data_dir, tmp_path_factory):
  """A :runlocal audio encoder, then a :runlocal motion generator on its features:
  (apc_dir, mg_dir, motion generator config, its train_and_evaluate result)."""
  from configs import audio_encoder as audio_encoder_config  # pylint: disable=g-import-not-at-top
  from configs import motion_generator as motion_config  # pylint: disable=g-import-not-at-top
  from stylehead_jax import train  # pylint: disable=g-import-not-at-top
  apc_dir = tmp_path_factory.mktemp("apc")
  config = audio_encoder_config.get_config("runlocal")
  config.data.data_dir = synthetic_data_dir
  config.progress = False
  train.train_and_evaluate(config, str(apc_dir))
  mg_dir = tmp_path_factory.mktemp("motion_generator")
  config = motion_config.get_config("runlocal")
  config.data.data_dir = synthetic_data_dir
  config.audio.encoder_workdir = str(apc_dir)
  config.progress = False
  result = train.train_and_evaluate(config, str(mg_dir))
  return apc_dir, mg_dir, config, result


TRACKED_CLIPS = sorted(REAL.glob("*.mp4")) + sorted((SHARED_DATA / "voxceleb2_sample").glob("*.mp4"))


@pytest.fixture(scope="session")
def tracked():
  """{name: (video at its own rate, detected per frame, face segments)} of every real
  and VoxCeleb2 clip, tracked once (crops of 256)."""
  from stylehead_jax import media  # pylint: disable=g-import-not-at-top
  from stylehead_jax.landmarks import detectors  # pylint: disable=g-import-not-at-top
  from stylehead_jax.landmarks import tracking  # pylint: disable=g-import-not-at-top
  backend = detectors.get_backend("dlib")
  config = tracking.TrackerConfig(resolution=256)
  out = {}
  for path in TRACKED_CLIPS:
    video = media.read_video(path, fps=None)
    detections = tracking.detect_track(video.frames, backend)
    out[path.name] = (video, detections[1], tracking.track_segments(
        video.frames, video.source_fps, backend, config, path.name, detections))
  return out


def run(cmd, *, env=None, check=True, timeout=600) -> subprocess.CompletedProcess:
  """Runs a command from the repository root, returning its output."""
  full_env = dict(os.environ, **(env or {}))
  proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True,
                        timeout=timeout, check=False)
  if check and proc.returncode != 0:
    raise AssertionError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                         f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
  return proc
