"""The errors the command lines print as one line (never a traceback), defined once.

ConfigError: a config value a stage cannot work with (the field is named in the message).
MediaError: a media file that cannot be used (the file and the reason in the message).
NoFaceError: no usable face in an input (a MediaError: the file and the reason).
NonFiniteError: a training measurement became NaN or infinite (the step and its name).
"""

from __future__ import annotations


class ConfigError(ValueError):
  """A config value a stage cannot work with."""


class MediaError(ValueError):
  """A media file that cannot be used, with the file and the reason in the message."""

  def __init__(self, path, problem: str):
    self.path = str(path)
    self.problem = problem
    super().__init__(f"{path}: {problem}")

  def __reduce__(self):  # pickles (from a worker process) with both arguments
    return type(self), (self.path, self.problem)


class NoFaceError(ValueError):
  """No usable face in an input, with the file and the reason in the message."""


class NonFiniteError(FloatingPointError):
  """A training measurement that is NaN or infinite; the run stopped before saving it."""
