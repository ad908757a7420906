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


def run(cmd, *, env=None, check=True, timeout=600) -> subprocess.CompletedProcess:
  """Runs a command from the repository root, returning its output."""
  full_env = dict(os.environ, **(env or {}))
  proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True,
                        timeout=timeout, check=False)
  if check and proc.returncode != 0:
    raise AssertionError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                         f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
  return proc
