"""The terminal is for a person: TensorFlow's C++ start-up lines go to the log instead.

TensorFlow (2.16 and later) prints "All log messages before absl::InitializeLog() ..."
and its oneDNN / CPU-feature INFO lines from C++ while it is imported, before anything in
Python can filter them and whatever TF_CPP_MIN_LOG_LEVEL says: four lines on stderr per
process, about fifty in `make demo`. TensorFlow is imported through `import_tensorflow()`
by every entry point that uses it (first thing), by input_pipeline, and before a dataset
builder's module loads (datasets.builder_module), so a lazy import elsewhere goes through
it too; the lines go to the command's log file once it is set up (`log_to_workdir`;
animate.log_to_file).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import tempfile
import types

from absl import logging as absl_logging

startup_lines: list[str] = []  # captured, not yet logged
_logging_ready = False


@contextlib.contextmanager
def captured_stderr(lines: list[str]):
  """Redirects file descriptor 2 (C and C++ writers included) to a temporary file and
  appends what was written to `lines`; where the body raises, it is printed as well.
  Without a file descriptor 2 (a detached process) the body runs as it is."""
  sys.stderr.flush()
  try:
    saved = os.dup(2)
  except OSError:
    yield
    return
  with tempfile.TemporaryFile(mode="w+b") as sink:
    os.dup2(sink.fileno(), 2)
    failed = False
    try:
      yield
    except BaseException:
      failed = True
      raise
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      sink.seek(0)
      text = sink.read().decode("utf-8", "replace")
      lines.extend(text.splitlines())
      if failed and text:
        sys.stderr.write(text)


def import_tensorflow() -> types.ModuleType:
  """Imports TensorFlow (and tells it to log warnings and up only) with its start-up lines
  kept in `startup_lines`. Call it before anything else imports TensorFlow or TFDS."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  if "tensorflow" not in sys.modules:
    with captured_stderr(startup_lines):
      importlib.import_module("tensorflow")
    if _logging_ready:
      log_startup_lines()
  return sys.modules["tensorflow"]


def log_startup_lines() -> None:
  """Logs (INFO) the start-up lines captured so far, and those of a later import when it
  happens; called where a command has set up its log file."""
  global _logging_ready
  _logging_ready = True
  for line in startup_lines:
    logging.getLogger(__name__).info("TensorFlow start-up: %s", line)
  startup_lines.clear()


_OURS = tuple(os.sep + name + os.sep for name in ("stylehead_jax", "data_prep", "configs"))


def _ours_at_least_warning(record) -> bool:
  """What the console shows: this project's warnings and errors."""
  return record.levelno >= logging.WARNING and any(p in record.pathname for p in _OURS)


def _ours_or_at_least_warning(record) -> bool:
  return record.levelno >= logging.WARNING or any(p in record.pathname for p in _OURS)


def log_to_workdir(workdir: str, name: str) -> str | None:
  """Keeps the console for a person and the full log for the record: every log record
  (absl, TensorFlow's and orbax's Python side, TFDS) and Python warning at INFO and up goes
  to WORKDIR/<name>.log (<name>.<process>.log on hosts other than the first), with
  TensorFlow's C++ start-up lines; the console keeps the progress bar, the summary lines
  and this project's own warnings and errors (no library INFO or deprecation lines between
  the bars). A workdir that is not a local path (gs://) keeps the INFO lines on the console.

  Returns:
    The log file's path, or None where the workdir is not local.
  """
  import jax  # pylint: disable=g-import-not-at-top
  local = "://" not in workdir
  absl_logging.use_absl_handler()  # app.run does this; argparse commands (build) do not
  # ABSLHandler forwards records without applying its own filters: filter the target.
  absl_logging.get_absl_handler().python_handler.addFilter(
      _ours_at_least_warning if local else _ours_or_at_least_warning)
  # TensorFlow gave its logger a console handler of its own (the root had none when it
  # was imported): its records go through the root's handlers instead.
  tf_logger = logging.getLogger("tensorflow")
  tf_logger.handlers.clear()
  tf_logger.propagate = True
  if not local:
    log_startup_lines()
    return None
  if jax.process_index():
    name = f"{name}.{jax.process_index()}"
  path = os.path.join(os.path.abspath(workdir), f"{name}.log")
  os.makedirs(os.path.dirname(path), exist_ok=True)
  handler = logging.FileHandler(path)
  handler.setFormatter(logging.Formatter(
      "%(asctime)s %(levelname)s %(name)s %(filename)s:%(lineno)d] %(message)s"))
  handler.setLevel(logging.INFO)
  root = logging.getLogger()
  root.addHandler(handler)
  if not root.level or root.level > logging.INFO:  # absl's flags set INFO; argparse: not
    root.setLevel(logging.INFO)
  logging.captureWarnings(True)
  log_startup_lines()
  return path
