"""Face tracks of real footage: detect, follow one face, crop, landmarks, pose, torso.

One code path serves training data (the talking_head_videos builder) and evaluation or
inference (`extract`):

1. Detection, per source frame. The first face is the largest one. After that the
   detector scans a window around the previous face (TRACK_WINDOW face sizes), and the
   whole frame only if that finds nothing; among several faces the one nearest the
   previous is kept. In the window, a detection scoring TRACK_THRESHOLD or more counts;
   a weaker one (down to WEAK_THRESHOLD: a strongly turned head) counts only where it
   continues the face of the last RECENT_FRAMES frames (centre within WEAK_MOVE face
   sizes, size within a factor WEAK_SIZE), so texture where a face just left the frame
   does not. Where the previous face's size is known, the detector looks only for faces at
   least half that size (DlibBackend.detect's `face_size`), as on the crops in step 4.
2. Landmarks: the backend's 68 points in each detected face, in source pixels.
   Frames without a face get landmarks interpolated linearly from their neighbours, and
   `detected` is False there. A gap longer than `max_gap_seconds` splits the clip
   (`track_segments`): the face left the frame.
3. Smoothing without lag, of the face's shape and not of its motion: each frame's
   points are brought to the clip's mean shape by a similarity (centroid, RMS scale,
   rotation: Procrustes); the aligned shapes go through a Savitzky-Golay filter (zero
   phase: a centred window, fitted by a quadratic) over `smooth_seconds`, at the source
   rate; each frame's own similarity puts them back. The similarity, estimated from all
   68 points, needs no smoothing, and a fast head turn is followed without being
   flattened (on style_lp_d12, smoothing the raw points instead moves them 6 px at 512²).
4. Crop: a square around the smoothed landmarks' bounding box, enlarged by `margin` on
   each side, its centre and size smoothed by a zero-phase Gaussian over
   `crop_smooth_seconds`, cut with replicated borders and resized to `resolution`.
   The landmarks are then measured again on the crop itself (detector and predictor at
   the output resolution) and smoothed as in 3: these are the track's landmarks.
5. 60 fps: frame t shows source frame media.resample_indices(...)[t], with its landmarks.
6. Head pose by PnP (pose.py) and torso points below the chin followed by pyramidal
   Lucas-Kanade optical flow.

Steps 1-3 need only landmarks; a video file (`track_video`, `extract`) is decoded twice,
once for them and once for the crops of step 4, cut and measured CHUNK_FRAMES at a time,
so memory does not grow with its length. The result equals tracking the whole decoded
video at once (`track_segments`).
"""

from __future__ import annotations

from concurrent import futures
import dataclasses
import itertools
import os
from typing import Iterator

import cv2
import numpy as np
from scipy import ndimage
from scipy import signal
import tqdm

from stylehead_jax import media
from stylehead_jax.errors import NoFaceError  # tracking.NoFaceError for callers
from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.landmarks import detectors
from stylehead_jax.landmarks import pose

TRACK_WINDOW = 2.5  # side of the search window, in face sizes
# Inside that window a face was just seen, so weaker detections are accepted there.
TRACK_THRESHOLD = -0.5
# Weaker still, only where the detection continues the recent face (see step 1).
WEAK_THRESHOLD = -0.8
WEAK_MOVE = 0.3
WEAK_SIZE = 1.3
RECENT_FRAMES = 2
CHUNK_FRAMES = 64  # source frames cropped and measured at a time


@dataclasses.dataclass(frozen=True)
class TrackerConfig:
  resolution: int = media.CROP_SIZE
  margin: float = 0.35  # crop side = landmark box side x (1 + 2 margin)
  smooth_seconds: float = 0.2  # Savitzky-Golay window for landmarks
  crop_smooth_seconds: float = 0.3  # Gaussian sigma for the crop box
  max_gap_seconds: float = 0.5  # longer runs without a face split the clip
  min_segment_seconds: float = 1.0  # shorter segments are dropped
  min_detected_fraction: float = 0.8  # segments with fewer detected frames are dropped
  max_segment_seconds: float = 0.0  # longer segments are cut into equal parts; 0: no limit


@dataclasses.dataclass
class Track:
  """A face followed through a clip, at 60 fps, in pixels of the square crop."""
  frames: np.ndarray | None  # (T, R, R, 3) uint8; None where not kept (track_video)
  landmarks: np.ndarray  # (T, 68, 3) float32
  detected: np.ndarray  # (T,) bool: False where landmarks were interpolated
  rotation: np.ndarray  # (T, 3, 3)
  translation: np.ndarray  # (T, 3)
  torso: np.ndarray | None  # (T, 3, 2): neck base, left and right shoulder (None likewise)
  crop_boxes: np.ndarray  # (T, 3): centre x, centre y, side, in source pixels
  source_indices: np.ndarray  # (T,) source frame shown at each output frame
  source_fps: float
  source_start: int = 0  # first source frame of this segment in its clip

  @property
  def start_seconds(self) -> float:
    return self.source_start / self.source_fps

  @property
  def detected_fraction(self) -> float:
    return float(np.mean(self.detected))


def _nearest(boxes: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
  if previous is None:
    return boxes[0]  # the largest
  centres = (boxes[:, :2] + boxes[:, 2:4]) / 2
  return boxes[np.argmin(np.linalg.norm(centres - _centre_side(previous)[0], axis=1))]


def _centre_side(box: np.ndarray) -> tuple[np.ndarray, float]:
  return (box[:2] + box[2:4]) / 2, max(box[2] - box[0], box[3] - box[1])


def _continues(box: np.ndarray, previous: np.ndarray) -> bool:
  """Whether `box` is where and as large as the `previous` face."""
  centre, side = _centre_side(box)
  prev_centre, prev_side = _centre_side(previous)
  return (np.linalg.norm(centre - prev_centre) < WEAK_MOVE * prev_side
          and 1 / WEAK_SIZE < side / prev_side < WEAK_SIZE)


def detect_track(frames, backend, progress: str | None = None, total: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
  """Raw landmarks (N, 68, 3) at the source rate and a detected flag per frame.

  frames: an array (N, H, W, 3) or any iterable of frames, such as a video being decoded
    (media.stream_video): one frame is held at a time.
  progress: a description to show a tqdm bar under, or None for no bar; total: the frame
    count for the bar where `frames` has no length.
  """
  landmarks, detected = [], []
  previous, last_seen = None, None
  bar = tqdm.tqdm(frames, desc=progress, unit="frame", disable=progress is None, leave=False,
                  total=total or None)
  for i, frame in enumerate(bar):
    box = None
    if previous is not None:
      height, width = frame.shape[:2]
      (cx, cy), prev_side = _centre_side(previous)
      side = TRACK_WINDOW * prev_side
      x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
      x1, y1 = int(min(width, cx + side / 2)), int(min(height, cy + side / 2))
      boxes = backend.detect(frame[y0:y1, x0:x1], threshold=WEAK_THRESHOLD,
                             face_size=prev_side)
      if len(boxes):
        boxes[:, [0, 2]] += x0
        boxes[:, [1, 3]] += y0
        nearest = _nearest(boxes, previous)
        if nearest[4] >= TRACK_THRESHOLD or (i - last_seen <= RECENT_FRAMES
                                             and _continues(nearest, previous)):
          box = nearest
    if box is None:
      boxes = backend.detect(frame)
      if len(boxes):
        box = _nearest(boxes, previous)
    points = np.zeros((lmk.NUM_LANDMARKS, 3), np.float32)
    if box is not None:
      points[:] = backend.landmarks(frame, box)
      previous, last_seen = box, i
    landmarks.append(points)
    detected.append(box is not None)
  if not landmarks:
    return np.zeros((0, lmk.NUM_LANDMARKS, 3), np.float32), np.zeros(0, bool)
  return np.stack(landmarks), np.array(detected, bool)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
  """[start, end) of each run of True."""
  edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
  return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def split_segments(detected: np.ndarray, fps: float, config: TrackerConfig):
  """Source-frame ranges [start, end) between gaps longer than max_gap_seconds."""
  max_gap = int(round(config.max_gap_seconds * fps))
  segments = []
  for start, end in _runs(detected):
    if segments and start - segments[-1][1] <= max_gap:
      segments[-1] = (segments[-1][0], end)
    else:
      segments.append((start, end))
  return segments


def interpolate(landmarks: np.ndarray, detected: np.ndarray) -> np.ndarray:
  """Landmarks of frames without a face, linearly from the nearest detected ones."""
  t = np.arange(len(landmarks))
  flat = landmarks.reshape(len(landmarks), -1)
  out = np.stack([np.interp(t, t[detected], flat[detected, j]) for j in range(flat.shape[1])], 1)
  return out.reshape(landmarks.shape).astype(np.float32)


def _smooth_landmarks(landmarks: np.ndarray, fps: float, seconds: float) -> np.ndarray:
  """Zero-phase smoothing of the shape in similarity-aligned coordinates (step 3)."""
  window = int(round(seconds * fps)) | 1  # odd
  if window < 5 or len(landmarks) < window:
    return landmarks
  centre = landmarks.mean(1, keepdims=True)
  points = landmarks - centre
  scale = np.sqrt((points[..., :2] ** 2).sum((1, 2), keepdims=True) / points.shape[1])
  points = points / scale
  mean_shape = points[..., :2].mean(0)
  # Per-frame rotation R minimising |points R - mean_shape| (orthogonal Procrustes).
  u, _, vt = np.linalg.svd(np.einsum("tpi,pj->tij", points[..., :2], mean_shape))
  rotation = u @ vt
  aligned = points.copy()
  aligned[..., :2] = np.einsum("tpi,tij->tpj", points[..., :2], rotation)
  aligned = signal.savgol_filter(aligned, window, 2, axis=0)
  aligned[..., :2] = np.einsum("tpj,tij->tpi", aligned[..., :2], rotation)
  return (aligned * scale + centre).astype(np.float32)


def crop_boxes(landmarks: np.ndarray, fps: float, config: TrackerConfig) -> np.ndarray:
  """(N, 3) centre x, centre y, side of the square crop per source frame."""
  low, high = landmarks[..., :2].min(1), landmarks[..., :2].max(1)
  boxes = np.concatenate([(low + high) / 2, (high - low).max(1, keepdims=True)
                          * (1 + 2 * config.margin)], 1)
  return ndimage.gaussian_filter1d(boxes, config.crop_smooth_seconds * fps, axis=0,
                                   mode="nearest")


def crop(frame: np.ndarray, box: np.ndarray, size: int, out: np.ndarray | None = None
         ) -> np.ndarray:
  """The square `box` (centre x, centre y, side) of a frame, resized to size x size
  (written into `out` if given)."""
  scale = size / box[2]
  affine = np.array([[scale, 0, size / 2 - scale * box[0]],
                     [0, scale, size / 2 - scale * box[1]]], np.float32)
  interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
  return cv2.warpAffine(frame, affine, (size, size), dst=out, flags=interpolation,
                        borderMode=cv2.BORDER_REPLICATE)


def to_crop(points: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
  """Source-pixel points (..., 2|3) -> crop pixels (z scaled likewise)."""
  scale = size / box[2]
  out = np.array(points, np.float32, copy=True)
  out[..., 0] = (points[..., 0] - box[0]) * scale + size / 2
  out[..., 1] = (points[..., 1] - box[1]) * scale + size / 2
  if out.shape[-1] == 3:
    out[..., 2] = points[..., 2] * scale
  return out


def initial_torso(landmarks: np.ndarray, size: int) -> np.ndarray:
  """(3, 2) neck base and shoulders placed below the chin of one frame's landmarks (68, 2|3)
  in a `size` crop."""
  face_w = np.linalg.norm(landmarks[16, :2] - landmarks[0, :2])
  chin = landmarks[lmk.CHIN, :2]
  points = np.array([chin + [0, 0.35 * face_w], chin + [-0.75 * face_w, 0.6 * face_w],
                     chin + [0.75 * face_w, 0.6 * face_w]], np.float32)
  return np.clip(points, 0, size - 1)


def track_torso(frames: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
  """(T, 3, 2) neck base and shoulders, placed below the chin in frame 0 (`initial_torso`),
  then followed by pyramidal Lucas-Kanade optical flow (a lost point keeps its last
  position)."""
  size = frames.shape[1]
  points = initial_torso(landmarks[0], size)
  out = [points.copy()]
  previous = cv2.cvtColor(frames[0], cv2.COLOR_RGB2GRAY)
  for frame in frames[1:]:
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, grey, points.reshape(-1, 1, 2), None,
                                                winSize=(31, 31), maxLevel=3)
    ok = status.ravel() == 1
    points = np.where(ok[:, None], moved.reshape(-1, 2), points)
    points = np.clip(points, 0, size - 1).astype(np.float32)
    out.append(points.copy())
    previous = grey
  return np.stack(out)


def usable_segments(detected: np.ndarray, fps: float, config: TrackerConfig,
                    name: str = "clip") -> list[tuple[int, int]]:
  """Source-frame ranges [start, end) of the face segments long and complete enough to
  track (`split_segments`, then min_segment_seconds and min_detected_fraction), each cut
  into equal parts of at most max_segment_seconds where that is set.

  Raises:
    NoFaceError: no face at all, or no usable segment (the message says why).
  """
  if not detected.any():
    raise NoFaceError(f"{name}: no face found in any of {len(detected)} frames")
  usable, reasons = [], []
  for start, end in split_segments(detected, fps, config):
    seconds = (end - start) / fps
    fraction = detected[start:end].mean()
    if seconds < config.min_segment_seconds:
      reasons.append(f"frames {start}-{end}: {seconds:.2f} s with a face, need "
                     f"{config.min_segment_seconds} s")
    elif fraction < config.min_detected_fraction:
      reasons.append(f"frames {start}-{end}: face in {fraction:.0%} of frames")
    else:
      parts = 1
      if config.max_segment_seconds > 0:
        parts = int(np.ceil(seconds / config.max_segment_seconds))
      edges = np.linspace(start, end, parts + 1).round().astype(int)
      usable += [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
  if not usable:
    raise NoFaceError(f"{name}: no usable face segment ({'; '.join(reasons)})")
  return usable


def track_segments(frames: np.ndarray, fps: float, backend, config: TrackerConfig,
                   name: str = "clip", detections=None, progress: str | None = None
                   ) -> list[Track]:
  """Every usable face segment of a clip (source frames at `fps`), as 60 fps Tracks.

  Args:
    detections: `detect_track(frames, backend)` if already computed.
    progress: a tqdm description for the crop pass's bar, or None for no bar.

  Raises:
    NoFaceError: no segment is usable (the message says why).
  """
  raw, detected = detections if detections is not None else detect_track(frames, backend)
  return [_segment_track(iter(frames[start:end]), raw, detected, start, end, fps, config,
                         backend, progress=progress)
          for start, end in usable_segments(detected, fps, config, name)]


def track_video(path, backend, config: TrackerConfig = TrackerConfig(), *,
                longest: bool = False, keep_frames: bool = True, on_crops=None,
                min_frames: int = 1, progress: str | None = None) -> Iterator[Track]:
  """`track_segments` of a video file in two passes over its decoded stream, so memory
  does not grow with its length: the first detects and fits landmarks frame by frame and
  keeps only those; the second decodes it again and crops and measures each segment
  CHUNK_FRAMES at a time, yielding its Track before the next segment is read. The Tracks
  equal `track_segments` on the whole video's frames.

  Args:
    longest: track only the longest usable segment (as `extract` returns).
    keep_frames: keep the crops in each Track (its frames and torso); False leaves both
      None and holds no more than a chunk of crops.
    on_crops: called with each chunk of crops (n, R, R, 3) of the source frames a track
      shows (each once, in order), e.g. to measure their sharpness as they pass.
    min_frames: fewer decoded frames raise MediaError (too-short clip); a one-frame video
      is tracked as an image.
    progress: a tqdm description for the bars, or None for none.

  Raises:
    MediaError: unreadable, too short, or corrupt part-way (naming the file and the frame).
    NoFaceError: no usable face segment.
  """
  name = os.fspath(path)
  fps, expected, stream = media.stream_video(name)
  raw, detected = detect_track(stream, backend, progress, total=expected)
  if not len(detected):
    raise media.MediaError(name, "corrupt or unreadable video (no frames decoded)")
  if len(detected) < min_frames:
    raise media.MediaError(name, f"clip too short: {len(detected)} frames, need at least "
                           f"{min_frames}")
  if len(detected) == 1:
    config = _one_frame(config)
  segments = usable_segments(detected, fps, config, name)
  if longest:
    segments = [max(segments, key=lambda s: len(media.resample_indices(s[1] - s[0], fps)))]
  _, _, stream = media.stream_video(name)
  position = 0
  for start, end in segments:
    frames = itertools.islice(stream, start - position, end - position)
    position = end
    yield _segment_track(frames, raw, detected, start, end, fps, config, backend,
                         keep_frames=keep_frames, on_crops=on_crops,
                         progress=progress and f"{progress} crops", name=name)


def landmarks_on_crops(crops, source_landmarks, detected, backend,
                       progress: str | None = None) -> np.ndarray:
  """The backend's landmarks measured on each crop (the output resolution), where the
  face was detected; elsewhere the source landmarks already mapped into the crop.
  progress: a tqdm description, or None for no bar.

  Frames are independent here, so a `thread_safe` backend gets one thread per core
  (dlib's detector releases the GIL); the result does not depend on the order.
  """
  out = np.array(source_landmarks, np.float32, copy=True)

  def measure(i):
    low, high = out[i, :, :2].min(0), out[i, :, :2].max(0)
    boxes = backend.detect(crops[i], threshold=TRACK_THRESHOLD, face_size=max(high - low))
    if not len(boxes):
      return None
    centre = out[i, :, :2].mean(0)
    box = boxes[np.argmin(np.linalg.norm((boxes[:, :2] + boxes[:, 2:4]) / 2 - centre, axis=1))]
    return backend.landmarks(crops[i], box)

  frames = np.flatnonzero(detected)
  threads = (os.cpu_count() or 1) if getattr(backend, "thread_safe", False) else 1
  with futures.ThreadPoolExecutor(threads) as pool:
    measured = tqdm.tqdm(pool.map(measure, frames), desc=progress, total=len(frames),
                         unit="frame", disable=progress is None, leave=False)
    for i, points in zip(frames, measured):
      if points is not None:
        out[i] = points
  return out


def _segment_track(frames, raw, detected, start, end, fps, config, backend, *,
                   keep_frames=True, on_crops=None, progress=None, name="clip") -> Track:
  """The Track of source frames [start, end): `frames` iterates over exactly those. The
  crops are cut and measured CHUNK_FRAMES at a time; with keep_frames=False none is kept
  past its chunk (the Track's frames and torso are then None)."""
  raw, detected = raw[start:end], detected[start:end]
  size, n = config.resolution, end - start
  smooth = _smooth_landmarks(interpolate(raw, detected), fps, config.smooth_seconds)
  boxes = crop_boxes(smooth, fps, config)
  idx = media.resample_indices(n, fps)
  shown = np.zeros(n, bool)
  shown[idx] = True
  kept = np.empty((n, size, size, 3), np.uint8) if keep_frames else None
  measured = np.empty((n, lmk.NUM_LANDMARKS, 3), np.float32)
  bar = tqdm.tqdm(total=n, desc=progress, unit="frame", disable=progress is None, leave=False)
  with bar:
    for first in range(0, n, CHUNK_FRAMES):
      last = min(n, first + CHUNK_FRAMES)
      crops = (kept[first:last] if keep_frames
               else np.empty((last - first, size, size, 3), np.uint8))
      count = 0
      for count, frame in enumerate(itertools.islice(frames, last - first), 1):
        crop(frame, boxes[first + count - 1], size, out=crops[count - 1])
      if count < last - first:
        raise media.MediaError(name, f"the video ended at frame {start + first + count} on "
                               f"its second reading (it had {start + n} frames)")
      mapped = np.stack([to_crop(raw[i], boxes[i], size) for i in range(first, last)])
      measured[first:last] = landmarks_on_crops(crops, mapped, detected[first:last], backend)
      if on_crops is not None and shown[first:last].any():
        on_crops(crops[shown[first:last]])
      bar.update(last - first)
  landmarks = _smooth_landmarks(interpolate(measured, detected), fps, config.smooth_seconds)
  rotation, translation = pose.solve_head_pose(landmarks, size)
  torso = None if kept is None else track_torso(kept, landmarks)[idx]
  return Track(frames=None if kept is None else kept[idx], landmarks=landmarks[idx],
               detected=detected[idx], rotation=rotation[idx], translation=translation[idx],
               torso=torso, crop_boxes=boxes[idx].astype(np.float32), source_indices=idx,
               source_fps=float(fps), source_start=int(start))


def extract(source, *, backend: str | detectors.LandmarkBackend = "dlib",
            config: TrackerConfig = TrackerConfig(), progress: bool = False,
            keep_frames: bool = True, on_crops=None) -> Track:
  """The face track of a video or image (path or (H, W, 3) array): its longest segment.

  An image (or a one-frame video) gives a one-frame Track. Several faces: the largest is
  used. A video file is tracked by `track_video` (two passes over its stream: memory does
  not grow with its length); keep_frames and on_crops are track_video's. progress: show
  tqdm bars over the frames while detecting, then over the crops.
  """
  if isinstance(backend, str):
    backend = detectors.get_backend(backend)
  label = None
  if isinstance(source, np.ndarray):
    frames, fps, name = source[None] if source.ndim == 3 else source, media.FPS, "array"
  else:
    name = os.fspath(source)
    label = os.path.basename(name) if progress else None
    if os.path.splitext(name)[1].lower() not in (".jpg", ".jpeg", ".png", ".bmp", ".webp"):
      return next(track_video(name, backend, config, longest=True, keep_frames=keep_frames,
                              on_crops=on_crops, progress=label))
    frames, fps = media.read_image(name)[None], media.FPS
  if len(frames) == 1:
    config = _one_frame(config)
  detections = detect_track(frames, backend, label)
  segments = track_segments(frames, fps, backend, config, name, detections,
                            label and f"{label} crops")
  return max(segments, key=lambda t: len(t.frames))


def _one_frame(config: TrackerConfig) -> TrackerConfig:
  """How a single frame (an image, a one-frame video) is tracked: no minimum length, no
  smoothing."""
  return dataclasses.replace(config, min_segment_seconds=0.0, smooth_seconds=0.0)
