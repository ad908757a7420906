"""The terminal is for a person: TensorFlow's C++ start-up lines are captured for the
log, not printed (stylehead_jax/console.py)."""

import os
import re
import sys

import pytest

from tests.conftest import run
from stylehead_jax import console


def _without_stamps(text: str) -> list[str]:
  # "I0000 00:00:1796278550.505815   14913 port.cc:153] ..." -> "I port.cc:153] ..."
  return [re.sub(r"^([IWE])\d{4} [\d:.]+\s+\d+ ", r"\1 ", line) for line in text.splitlines()]


def test_tensorflow_start_up_lines_are_kept_not_printed():
  env = {"TF_CPP_MIN_LOG_LEVEL": "2"}
  plain = run([sys.executable, "-c", "import tensorflow"], env=env)
  ours = run([sys.executable, "-c", "from stylehead_jax import console\n"
              "console.import_tensorflow()\nprint('\\n'.join(console.startup_lines))"], env=env)
  # TensorFlow prints them whatever TF_CPP_MIN_LOG_LEVEL says, on processors where it has
  # something to say (the oneDNN lines; on an AVX2-only machine it prints nothing): what
  # it prints is kept, and nothing reaches the terminal.
  assert ours.stderr == ""
  assert _without_stamps(ours.stdout.strip()) == _without_stamps(plain.stderr.strip())


def test_captured_stderr_prints_what_it_kept_only_when_the_body_fails(capfd):
  lines = []
  with console.captured_stderr(lines):
    os.write(2, b"kept\n")
  assert lines == ["kept"] and capfd.readouterr().err == ""
  with pytest.raises(RuntimeError), console.captured_stderr(lines):
    os.write(2, b"why it failed\n")
    raise RuntimeError("import failed")
  assert lines == ["kept", "why it failed"]
  assert capfd.readouterr().err == "why it failed\n"
