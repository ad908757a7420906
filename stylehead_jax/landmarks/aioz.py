"""Landmarks as the paper's released metric code measures them: the `aioz` protocol of
stylehead_jax/metrics/style.py (aioz-ai/AudioDrivenStyleTransfer, src/style_metrics,
rewritten from what it does; none of its code is here).

What those scripts do to a video, step by step, and what `track` does:
1. `ffmpeg -y -i VIDEO -qscale:v 2 -async 1 -r 29.97 tmp/tmp_video.mp4`: the frames at
   29.97 fps as ffmpeg's constant-frame-rate sync chooses them (`resample_indices`: neither
   the nearest nor the previous source frame), re-encoded. An ffmpeg with libx264 encodes
   the mp4 with it, and libx264 ignores -qscale (its default CRF 23 applies). Reproduced
   with the bundled ffmpeg and the same options; the audio is left out (it does not change
   the video frames).
2. Each frame read by cv2.VideoCapture, written as a JPEG by cv2.imwrite (quality 95) and
   read back by cv2.imread: reproduced in memory (cv2.imencode / imdecode, the same codec
   and settings).
3. The frame resized to 512 x 512 (cv2 INTER_AREA, whatever its aspect), cv2 BGR2GRAY,
   dlib's frontal face detector with one upsampling on the whole grey frame, the 68-point
   predictor on that grey frame: reproduced.

Where the scripts' choice may not be the one a person wants:
- With several faces in a frame they keep the landmarks of the last face dlib returns (the
  least confident, which can be a small box on a texture beside the face): `faces="last"`
  (the default) does the same, and `Track.not_largest` lists the frames where that face
  is not the largest; `faces="largest"` keeps the largest and scans only the pyramid
  levels that can hold a face at least half the previous frame's (about a quarter of the
  detector's work), so it does not see the smaller faces the scripts might keep.
- A frame without a face leaves the scripts without its landmark file, and their metric
  step then fails for the whole pair; here its landmarks are interpolated from the
  neighbouring frames (`Track.missing` lists them).

`frames` chooses how much of steps 1-2 to reproduce: "released" (all), "jpeg" (the source
frames ffmpeg would choose, `resample_indices`, without the H.264 re-encode, then the JPEG
round trip) or "decoded" (those frames as decoded). Every mode holds one frame at a time.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
import itertools
import os
import subprocess
import tempfile
from typing import Iterator

import cv2
import numpy as np
import tqdm

from stylehead_jax import media
from stylehead_jax.errors import NoFaceError
from stylehead_jax.landmarks import detectors

FPS = 29.97  # the released scripts' `-r 29.97`
RESOLUTION = 512  # their resize, not our crop size (media.CROP_SIZE)
JPEG_QUALITY = 95  # cv2.imwrite's default, the format they store frames in
UPSAMPLE = 1  # their detector(gray, 1)
FRAME_MODES = ("released", "jpeg", "decoded")
FACE_CHOICES = ("last", "largest")
# ffmpeg's constant-frame-rate sync (fftools): a frame whose end falls more than DROP
# output frames behind the frames written so far is dropped; one more than REPEAT ahead
# is written round(that) times. Timestamps are kept to 1/2^16 of an output frame.
_DROP, _REPEAT = -1.1, 1.1
_PTS_BITS = 16


def _rate(fps: float) -> Fraction:
  """A frame rate as the fraction ffmpeg would hold: the NTSC rates (k * 1000 / 1001,
  printed as 29.97, 59.94, 23.98, ...) exactly, others to 1/100000."""
  ntsc = round(fps * 1.001)
  if abs(fps * 1.001 - ntsc) < 0.005 and abs(fps - ntsc) > 0.01:
    return Fraction(ntsc * 1000, 1001)
  return Fraction(fps).limit_denominator(100_000)


def _copies(source_fps: float) -> Iterator[int]:
  """How many times ffmpeg's `-r 29.97` writes source frames 0, 1, 2, ... of a
  constant-rate video whose first frame is at time 0.

  Source frame k starts at p = k * 29.97 / source_fps output frames (rounded to 1/2^16,
  then nudged by 1/2^17 off a midpoint, as ffmpeg does) and lasts d = 29.97 / source_fps.
  With n frames written so far and delta = p + d - n, it is dropped if delta < -1.1,
  written round(delta) times (in single precision, ties to even) if delta > 1.1, and once
  otherwise. Going down in rate the choice therefore lags about one and a half output
  frames behind the nearest frame; going up, frames are repeated about as floor would.
  """
  step = Fraction(FPS).limit_denominator(100) / _rate(source_fps)
  duration = float(step)
  scale = 2 ** _PTS_BITS
  written = 0
  for k in itertools.count():
    start = int(k * step * scale + Fraction(1, 2)) / scale
    if start != round(start):
      start += 1 / (2 * scale)
    delta = start - written + duration
    copies = 1
    if delta < _DROP:
      copies = 0
    elif delta > _REPEAT:
      copies = int(np.rint(np.float32(delta)))
    written += copies
    yield copies


def resample_indices(num_source_frames: int, source_fps: float) -> np.ndarray:
  """The source frame of each 29.97 fps frame, as ffmpeg's `-r 29.97` chooses them
  (`_copies`; tests check it against the bundled ffmpeg)."""
  counts = list(itertools.islice(_copies(source_fps), num_source_frames))
  return np.repeat(np.arange(num_source_frames), counts)


def _released_frames(path: str) -> tuple[int, Iterator[np.ndarray]]:
  """Step 1: the video through ffmpeg's `-r 29.97` with the scripts' options, read back
  by cv2 (BGR): the frame count and the frames one at a time."""
  tmp = tempfile.TemporaryDirectory(prefix="aioz_")
  resampled = os.path.join(tmp.name, "resampled.mp4")
  command = [media.ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", path, "-an",
             "-qscale:v", "2", "-r", str(FPS), resampled]
  done = subprocess.run(command, capture_output=True, text=True)
  if done.returncode:
    tmp.cleanup()
    lines = done.stderr.strip().splitlines()
    raise media.MediaError(path, "ffmpeg could not resample it to 29.97 fps ("
                           f"{lines[-1] if lines else done.returncode})")
  capture = cv2.VideoCapture(resampled)

  def frames():
    try:
      while True:
        ok, frame = capture.read()
        if not ok:
          return
        yield frame
    finally:
      capture.release()
      tmp.cleanup()

  return int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), frames()


def _chosen_frames(path: str) -> tuple[int, Iterator[np.ndarray]]:
  """The decoded source frames ffmpeg's `-r 29.97` would choose (BGR), without its
  re-encode: about how many, and the frames one at a time."""
  source_fps, expected, decoded = media.stream_video(path)

  def frames():
    for frame, copies in zip(decoded, _copies(source_fps)):
      bgr = np.ascontiguousarray(frame[..., ::-1])
      for _ in range(copies):
        yield bgr

  return round(expected * FPS / source_fps), frames()


def frames(path: str, mode: str = "released") -> tuple[int, Iterator[np.ndarray]]:
  """The 512 x 512 grey frames the released scripts give dlib: about how many (for a
  progress bar), and the frames one at a time."""
  if mode not in FRAME_MODES:
    raise ValueError(f"frames {mode!r}: expected one of {FRAME_MODES}")
  path = os.fspath(path)
  media.check_file(path)
  count, source = _released_frames(path) if mode == "released" else _chosen_frames(path)

  def grey():
    for bgr in source:
      if mode != "decoded":
        _, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        bgr = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
      bgr = cv2.resize(bgr, (RESOLUTION, RESOLUTION), interpolation=cv2.INTER_AREA)
      yield cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)

  return count, grey()


@dataclasses.dataclass
class Track:
  landmarks: np.ndarray  # (T, 68, 2) float32, pixels of the 512 x 512 frame, 29.97 fps
  not_largest: list[int]  # frames whose kept face is not the largest dlib found
  missing: list[int]  # frames without a face (interpolated)


def track(path: str, mode: str = "released", faces: str = "last",
          progress: str | None = None) -> Track:
  """dlib's landmarks of every 29.97 fps frame of the video at `path`, as the released
  scripts measure them (module docstring). progress: a tqdm description, or None."""
  if faces not in FACE_CHOICES:
    raise ValueError(f"faces {faces!r}: expected one of {FACE_CHOICES}")
  import dlib  # pylint: disable=g-import-not-at-top
  # tracking imports scipy.signal (0.6 s): not where only .npz tracks are read.
  from stylehead_jax.landmarks import tracking  # pylint: disable=g-import-not-at-top
  detector = dlib.get_frontal_face_detector()
  backend = detectors.DlibBackend(detect_size=RESOLUTION, upsample=UPSAMPLE)
  points, not_largest, missing = [], [], []
  side = None
  count, greys = frames(path, mode)
  bar = tqdm.tqdm(greys, total=count or None, desc=progress, unit="frame",
                  disable=progress is None, leave=False)
  for i, grey in enumerate(bar):
    if faces == "last":
      rects = detector(grey, UPSAMPLE)  # dlib's order: most confident first
      boxes = np.array([(r.left(), r.top(), r.right(), r.bottom()) for r in rects], float)
      if len(boxes) > 1:
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        if areas[-1] < areas.max():
          not_largest.append(i)
      boxes = boxes[-1:]
    else:
      boxes = backend.detect(grey, face_size=side) if side else np.zeros((0, 5))
      if not len(boxes):
        boxes = backend.detect(grey)
    if len(boxes):
      points.append(backend.landmarks(grey, boxes[0])[:, :2])
      side = float(boxes[0, 3] - boxes[0, 1])
    else:
      points.append(np.zeros((68, 2), np.float32))
      missing.append(i)
  if not points:
    raise media.MediaError(path, "no frames decoded")
  if len(missing) == len(points):
    raise NoFaceError(f"{path}: no face in any frame")
  found = np.ones(len(points), bool)
  found[missing] = False
  return Track(tracking.interpolate(np.stack(points), found), not_largest, missing)
