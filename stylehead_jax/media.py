"""The media contract: every rate, size and audio feature of stylehead_jax, defined once.

Video is 60 fps; audio is 24 kHz mono float32; the audio feature is an 80-bin log-mel
spectrogram at 120 Hz (hop 200 samples), so each video frame owns exactly two mel frames.

Alignment, for any length of audio:
  * a clip of N samples covers T = ceil(N / SAMPLES_PER_FRAME) video frames; the audio is
    zero-padded at the end to T * SAMPLES_PER_FRAME samples (the tail of the last video
    frame is silence);
  * mel frame k is centred on sample k * HOP_LENGTH (the STFT is centred, with zero
    padding of N_FFT // 2 on both sides), so video frame t (shown at time t / FPS) owns
    mel frames 2t (centred on the frame's start) and 2t + 1 (half a frame later);
  * the centred STFT of the padded audio yields 2T + 1 frames; the last one, centred on the
    end of the clip, belongs to no video frame and is dropped.
So `log_mel(audio).shape == (2 * num_video_frames(len(audio)), N_MELS)` for every length.

Every loader raises `MediaError` naming the file and the problem, never a library
traceback.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import subprocess
import tempfile
import threading
from typing import Iterator, Sequence

import numpy as np

from stylehead_jax.errors import MediaError  # media.MediaError for callers

# --- The contract -----------------------------------------------------------------------
FPS = 60
SAMPLE_RATE = 24_000
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS  # 400
N_MELS = 80
N_FFT = 512
HOP_LENGTH = 200  # 1/120 s
WIN_LENGTH = 400  # 1/60 s
MELS_PER_FRAME = SAMPLES_PER_FRAME // HOP_LENGTH  # 2
MEL_FMIN = 0.0
MEL_FMAX = SAMPLE_RATE / 2
LOG_MEL_FLOOR = 1e-5  # log(max(mel, floor))
SILENCE_LOG_MEL = float(np.log(LOG_MEL_FLOOR))  # -11.5: the log-mel of silence
SILENCE_RMS = 1e-4  # audio whose RMS is below this is treated as silent
NO_AUDIO_STREAM = "no audio stream"
MEL_BLOCK = 4096  # mel frames computed at once (media.mel_power: memory, not results)
# Networks see (log_mel - LOG_MEL_OFFSET) / LOG_MEL_SCALE: the floor maps to about -1.4
# and loud speech (log-mel ~ +2) to about 2.
LOG_MEL_OFFSET = -6.0
LOG_MEL_SCALE = 4.0

CROP_SIZE = 512  # side of the face crops, pixels (the full-size default; configs may shrink it)
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".opus")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")

assert SAMPLES_PER_FRAME * FPS == SAMPLE_RATE
assert MELS_PER_FRAME * HOP_LENGTH == SAMPLES_PER_FRAME


# --- Audio ------------------------------------------------------------------------------
def num_video_frames(num_samples: int) -> int:
  """Number of 60 fps video frames covered by `num_samples` of 24 kHz audio."""
  return -(-int(num_samples) // SAMPLES_PER_FRAME)


def pad_to_frames(audio: np.ndarray) -> np.ndarray:
  """Zero-pads 24 kHz audio at the end to a whole number of video frames."""
  target = num_video_frames(len(audio)) * SAMPLES_PER_FRAME
  return np.pad(audio, (0, target - len(audio)))


def check_file(path: str) -> None:
  if not os.path.isfile(path):
    raise MediaError(path, "no such file")
  if os.path.getsize(path) == 0:
    raise MediaError(path, "empty file")


def ffmpeg_exe() -> str:
  import imageio_ffmpeg  # pylint: disable=g-import-not-at-top
  return imageio_ffmpeg.get_ffmpeg_exe()


def _decode_with_ffmpeg(path: str) -> tuple[np.ndarray, int]:
  """Decodes the first audio stream of any container to mono float32 at SAMPLE_RATE."""
  cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-i", path, "-vn", "-map", "0:a:0",
         "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"]
  proc = subprocess.run(cmd, capture_output=True, check=False)
  if proc.returncode != 0:
    err = proc.stderr.decode(errors="replace").strip().splitlines()
    reason = err[-1] if err else f"ffmpeg exited with {proc.returncode}"
    if any("matches no streams" in line for line in err):
      reason = NO_AUDIO_STREAM
    raise MediaError(path, f"unreadable audio ({reason})")
  return np.frombuffer(proc.stdout, np.float32).copy(), SAMPLE_RATE


def load_audio(path: str | os.PathLike, *, allow_silent: bool = False) -> np.ndarray:
  """Loads any audio (wav/flac/mp3/ogg, or the soundtrack of a video) as 24 kHz mono.

  Stereo is averaged to mono; other rates are resampled with librosa (soxr, high
  quality).

  Args:
    path: audio or video file.
    allow_silent: if False, a silent file raises MediaError.

  Returns:
    float32 array of shape (num_samples,) at SAMPLE_RATE.
  """
  path = os.fspath(path)
  check_file(path)
  try:
    import soundfile  # pylint: disable=g-import-not-at-top
    audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
  except Exception:  # pylint: disable=broad-except
    # Not a format libsndfile knows (an mp4 or AAC soundtrack, say): ffmpeg decodes it.
    audio, rate = _decode_with_ffmpeg(path)
  if audio.size == 0:
    raise MediaError(path, "audio has no samples")
  if not np.all(np.isfinite(audio)):
    raise MediaError(path, "audio contains NaN or infinite samples")
  if rate != SAMPLE_RATE:
    import librosa  # pylint: disable=g-import-not-at-top
    audio = librosa.resample(audio, orig_sr=rate, target_sr=SAMPLE_RATE, res_type="soxr_hq")
  audio = np.asarray(audio, np.float32)
  if not allow_silent and is_silent(audio):
    raise MediaError(path, "audio is silent (RMS below %g)" % SILENCE_RMS)
  return audio


def is_silent(audio: np.ndarray) -> bool:
  return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) < SILENCE_RMS


def load_soundtrack(path: str | os.PathLike) -> np.ndarray | None:
  """A video's soundtrack as `load_audio` gives it, or None where it has no audio stream
  or a silent one (a silent style video); any other problem raises MediaError."""
  try:
    audio = load_audio(path, allow_silent=True)
  except MediaError as e:
    if e.problem == f"unreadable audio ({NO_AUDIO_STREAM})":
      return None
    raise
  return None if is_silent(audio) else audio


def write_wav(path: str | os.PathLike, audio: np.ndarray, rate: int = SAMPLE_RATE) -> None:
  import soundfile  # pylint: disable=g-import-not-at-top
  soundfile.write(os.fspath(path), np.asarray(audio, np.float32), rate, subtype="PCM_16")


@functools.lru_cache(maxsize=None)
def mel_filterbank() -> np.ndarray:
  """(N_MELS, N_FFT // 2 + 1) Slaney-style mel filterbank, as librosa builds it."""
  import librosa  # pylint: disable=g-import-not-at-top
  return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS,
                             fmin=MEL_FMIN, fmax=MEL_FMAX).astype(np.float32)


@functools.lru_cache(maxsize=None)
def _analysis_window() -> np.ndarray:
  """Periodic Hann window of WIN_LENGTH, zero-padded to N_FFT around its centre."""
  n = np.arange(WIN_LENGTH)
  window = 0.5 - 0.5 * np.cos(2 * np.pi * n / WIN_LENGTH)
  left = (N_FFT - WIN_LENGTH) // 2
  return np.pad(window, (left, N_FFT - WIN_LENGTH - left)).astype(np.float64)


def mel_power(audio: np.ndarray) -> np.ndarray:
  """Linear-power mel spectrogram, (2T, N_MELS), aligned as the module docstring says.

  Computed in blocks of MEL_BLOCK frames (each in float64), so the memory it takes beyond
  its input and output does not grow with the audio's length (a 10-minute file would
  otherwise hold about 1 GB of frames and spectra at once)."""
  audio = np.asarray(audio, np.float32)
  num_frames = num_video_frames(len(audio))
  num_mels = MELS_PER_FRAME * num_frames
  # pad_to_frames, then the centred STFT's N_FFT // 2 on both sides, in one copy.
  tail = num_frames * SAMPLES_PER_FRAME - len(audio)
  padded = np.pad(audio, (N_FFT // 2, N_FFT // 2 + tail))
  frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH][:num_mels]
  window = _analysis_window()
  filterbank = mel_filterbank().T.astype(np.float64)
  out = np.empty((num_mels, N_MELS), np.float32)
  for start in range(0, num_mels, MEL_BLOCK):
    block = frames[start:start + MEL_BLOCK].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(block * window, axis=-1)) ** 2
    out[start:start + MEL_BLOCK] = spectrum @ filterbank
  return out


def log_mel(audio: np.ndarray) -> np.ndarray:
  """Log-mel spectrogram of 24 kHz audio: float32 (2 * num_video_frames, N_MELS)."""
  return np.log(np.maximum(mel_power(audio), LOG_MEL_FLOOR)).astype(np.float32)


def normalize_log_mel(log_mel):
  """The fixed affine map from log-mel to network inputs (numpy or jax arrays)."""
  return (log_mel - LOG_MEL_OFFSET) / LOG_MEL_SCALE


# --- Video ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Video:
  """Decoded frames resampled to FPS, with what the source was."""
  frames: np.ndarray  # (T, H, W, 3) uint8 at FPS
  source_fps: float
  source_num_frames: int


def resample_indices(num_source_frames: int, source_fps: float, fps: float = FPS) -> np.ndarray:
  """Source frame shown at each output time (sample-and-hold).

  Output frame t, at time t / fps, takes the latest source frame whose start time is not
  after it: floor(t * source_fps / fps) (with a 1e-6 tolerance against round-off). The
  output covers the source's duration: round(num_source_frames * fps / source_fps) frames.
  From 25 fps to 60 fps each source frame is shown 2 or 3 times, in a fixed pattern; from
  higher rates frames are dropped evenly.
  """
  if num_source_frames <= 0 or source_fps <= 0:
    return np.zeros((0,), np.int64)
  num_out = max(1, int(round(num_source_frames * fps / source_fps)))
  idx = np.floor(np.arange(num_out) * source_fps / fps + 1e-6).astype(np.int64)
  return np.minimum(idx, num_source_frames - 1)


def stream_video(path: str | os.PathLike) -> tuple[float, int, Iterator[np.ndarray]]:
  """A video's source frame rate, its frame count as the container states it (0 if
  unknown; an estimate for a progress bar) and its frames one at a time, RGB uint8
  (H, W, 3), not resampled: a video of any length in the memory of a frame or two.

  Opening checks the file and its header. The frames come from ffmpeg with -xerror: data
  that does not decode part-way is not concealed but raises MediaError from the iterator,
  naming the file and the frame it broke at.
  """
  path = os.fspath(path)
  check_file(path)
  source_fps, (width, height), duration = _probe_video(path)
  if source_fps <= 0:
    raise MediaError(path, "video reports no frame rate")
  expected = int(duration * source_fps)
  return source_fps, expected, _decoded_frames(path, width, height)


def _probe_video(path: str) -> tuple[float, tuple[int, int], float]:
  """The video stream's frame rate, the (width, height) ffmpeg decodes it to (rotation
  applied) and the container's duration in seconds (0 if unstated), from ffmpeg's header
  as it decodes one frame. ffmpeg runs to its end: no deadline to miss on a busy machine
  (imageio_ffmpeg.read_frames gives the header 10 s, which a loaded 2-core machine
  running a Beam build exceeded)."""
  cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", path, "-frames:v", "1",
         "-pix_fmt", "rgb24", "-vcodec", "rawvideo", "-f", "image2pipe", "-y", os.devnull]
  try:
    result = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, check=False)
  except OSError as e:
    raise _unreadable(path, e) from None
  lines = result.stderr.decode(errors="replace").splitlines()
  output = next((i for i, line in enumerate(lines) if line.startswith("Output #")), len(lines))
  video = [line for line in lines if line.lstrip().startswith("Stream #") and " Video: " in line]
  decoded = [line for line in lines[output:] if line in video]
  if not video and any(line.startswith("Input #") for line in lines):
    raise _unreadable(path, RuntimeError("no video stream"))
  if not decoded:
    errors = [line for line in lines if line.strip() and not line.startswith(" ")]
    raise _unreadable(path, RuntimeError(
        re.sub(r"^\[[^]]*\]\s*", "", errors[-1]) if errors else "ffmpeg decoded nothing"))
  fps = re.search(r" (\d+(?:\.\d*)?) fps", video[0])
  size = re.search(r" (\d+)x(\d+)[, ]", decoded[-1])
  duration = next((re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", line)
                   for line in lines if "Duration: " in line), None)
  if size is None:
    raise _unreadable(path, RuntimeError("no frame size in the video stream"))
  seconds = (3600 * int(duration[1]) + 60 * int(duration[2]) + float(duration[3])
             if duration else 0.0)
  return (float(fps[1]) if fps else 0.0), (int(size[1]), int(size[2])), seconds


def _decoded_frames(path: str, width: int, height: int) -> Iterator[np.ndarray]:
  """RGB frames of `path` as ffmpeg decodes them (the arguments imageio_ffmpeg uses, so
  the same pixels), stopping at the first decoding error (-xerror), which raises."""
  cmd = [ffmpeg_exe(), "-nostdin", "-v", "error", "-xerror", "-i", path, "-pix_fmt",
         "rgb24", "-vcodec", "rawvideo", "-f", "image2pipe", "-"]
  process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
  errors = []  # stderr, read beside stdout so that neither pipe fills
  reader = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)
  reader.start()
  size, count = width * height * 3, 0
  try:
    while True:
      buffer = process.stdout.read(size)
      if len(buffer) < size:
        break
      yield np.frombuffer(buffer, np.uint8).reshape(height, width, 3)
      count += 1
    process.wait()
    reader.join()
    if process.returncode != 0 or (buffer and len(buffer) < size):
      text = errors[0].decode(errors="replace").strip() if errors else ""
      first = (re.sub(r"^\[[^]]*\]\s*", "", text.splitlines()[0]) if text  # "[h264 @ 0x..] "
               else f"ffmpeg exit status {process.returncode}")
      raise MediaError(path, f"corrupt video: decoding failed at frame {count} ({first})")
  finally:
    if process.poll() is None:
      process.kill()
    process.wait()
    process.stdout.close()


def _unreadable(path: str, error: Exception) -> MediaError:
  first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
  return MediaError(path, f"corrupt or unreadable video ({first})")


def read_video(path: str | os.PathLike, *, fps: float | None = FPS,
               min_frames: int = 1) -> Video:
  """Reads every frame of a video as RGB uint8 and resamples it to `fps`.

  Args:
    path: any video ffmpeg can read.
    fps: output rate; frame selection is `resample_indices`. None keeps the source frames.
    min_frames: fewer decoded frames than this raise MediaError (too-short clip).

  Returns:
    Video with frames (T, H, W, 3) uint8.
  """
  path = os.fspath(path)
  source_fps, expected, stream = stream_video(path)
  frames = _fill_frames(stream, expected + 2)
  if not len(frames):
    raise MediaError(path, "corrupt or unreadable video (no frames decoded)")
  if len(frames) < min_frames:
    raise MediaError(path, f"clip too short: {len(frames)} frames, need at least {min_frames}")
  if fps is None:
    return Video(frames, source_fps, len(frames))
  return Video(frames[resample_indices(len(frames), source_fps, fps)], source_fps, len(frames))


_FIRST_ALLOCATION_BYTES = 1 << 30  # a header claiming hours does not reserve them up front


def _fill_frames(frames: Iterator[np.ndarray], expected: int) -> np.ndarray:
  """Frames into one (T, H, W, 3) uint8 array, copied in as they arrive (a list of frames
  and then np.stack would hold every frame twice). `expected` (from the container's
  duration) sizes the array; it doubles when the video runs longer."""
  out, count = None, 0
  for frame in frames:
    if out is None:
      capacity = max(1, min(expected, _FIRST_ALLOCATION_BYTES // frame.nbytes))
      out = np.empty((capacity, *frame.shape), np.uint8)
    elif count == len(out):
      out = np.concatenate([out, np.empty_like(out)])
    out[count] = frame
    count += 1
  return np.zeros((0, 0, 0, 3), np.uint8) if out is None else out[:count]


def read_image(path: str | os.PathLike) -> np.ndarray:
  """Reads an image as RGB uint8 (H, W, 3), whatever its mode: grey, palette and CMYK
  are converted, alpha is composited over white (a transparent background reads as
  white, not as the black of its unset colour), 16-bit is scaled to 8."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  path = os.fspath(path)
  check_file(path)
  try:
    with Image.open(path) as image:
      image.load()
      if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        grey = np.asarray(image, np.float64)
        grey = grey / max(1.0, float(np.iinfo(np.uint16).max))
        return np.repeat(np.clip(grey * 255 + 0.5, 0, 255).astype(np.uint8)[..., None], 3, -1)
      if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and
                                                "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
      rgb = np.asarray(image.convert("RGB"), np.uint8)
  except Exception as e:  # pylint: disable=broad-except
    raise MediaError(path, f"unreadable image ({type(e).__name__}: {e})") from None
  if rgb.ndim != 3 or min(rgb.shape[:2]) == 0:
    raise MediaError(path, f"not an image (shape {rgb.shape})")
  return np.ascontiguousarray(rgb)


class VideoWriter:
  """Writes RGB uint8 frames as an H.264 mp4 (yuv420p) as they come, the audio (if
  given) muxed as AAC; the video is as long as the frames written.

    with media.VideoWriter(path, width, height, audio=audio) as writer:
      for chunk in chunks:
        writer.write(chunk)  # (N, H, W, 3) or (H, W, 3)

  Uses the ffmpeg binary bundled with imageio-ffmpeg. Width and height must be even
  (yuv420p halves the chroma planes).
  """

  def __init__(self, path: str | os.PathLike, width: int, height: int, *, fps: float = FPS,
               audio: np.ndarray | None = None, sample_rate: int = SAMPLE_RATE,
               quality: int = 8):
    import imageio_ffmpeg  # pylint: disable=g-import-not-at-top
    if width % 2 or height % 2:
      raise ValueError(f"{path}: H.264 in yuv420p needs an even size, got {width} x {height}")
    self.path, self.size = os.fspath(path), (height, width)
    self._tmp = tempfile.TemporaryDirectory()
    audio_path = None
    if audio is not None:
      audio_path = os.path.join(self._tmp.name, "audio.wav")
      write_wav(audio_path, audio, sample_rate)
    # -shortest stops at the last frame: audio is padded to whole frames by its callers.
    self._writer = imageio_ffmpeg.write_frames(
        self.path, (width, height), fps=fps, codec="libx264", quality=quality,
        pix_fmt_out="yuv420p", macro_block_size=1, audio_path=audio_path,
        audio_codec="aac" if audio_path else None,
        output_params=["-shortest"] if audio_path else None, ffmpeg_log_level="error")
    self._writer.send(None)

  def write(self, frames: np.ndarray) -> None:
    frames = np.asarray(frames)
    frames = frames[None] if frames.ndim == 3 else frames
    if frames.shape[1:] != self.size + (3,) or frames.dtype != np.uint8:
      raise ValueError(f"{self.path}: frames must be (N, {self.size[0]}, {self.size[1]}, 3) "
                       f"uint8, got {frames.shape} {frames.dtype}")
    for frame in frames:
      self._writer.send(np.ascontiguousarray(frame))

  def close(self) -> None:
    try:
      self._writer.close()
    finally:
      self._tmp.cleanup()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()


def write_video(path: str | os.PathLike, frames: np.ndarray | Sequence[np.ndarray], *,
                fps: float = FPS, audio: np.ndarray | None = None,
                sample_rate: int = SAMPLE_RATE, quality: int = 8) -> None:
  """Writes RGB uint8 frames (T, H, W, 3) as H.264 mp4, with the audio (if given) muxed
  as AAC (`VideoWriter`; an odd size is padded by one replicated row or column)."""
  path = os.fspath(path)
  frames = np.asarray(frames)
  if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
    raise ValueError(f"{path}: frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
  height, width = frames.shape[1:3]
  pad = ((0, 0), (0, height % 2), (0, width % 2), (0, 0))
  if any(p[1] for p in pad):
    frames = np.pad(frames, pad, mode="edge")
  with VideoWriter(path, frames.shape[2], frames.shape[1], fps=fps, audio=audio,
                   sample_rate=sample_rate, quality=quality) as writer:
    writer.write(frames)


def probe_audio_duration(path: str | os.PathLike) -> float:
  """Duration in seconds of the audio stream of a media file (decoded, not from headers)."""
  audio, _ = _decode_with_ffmpeg(os.fspath(path))
  return len(audio) / SAMPLE_RATE
