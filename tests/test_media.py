"""The media contract: log-mel against librosa, frame counts, loaders, mp4 round trip."""

import subprocess

import librosa
import numpy as np
import pytest

from stylehead_jax import media


@pytest.mark.parametrize("name", ["speech_jfk_en.wav", "speech_radio31.wav",
                                  "sing_itosinger1.wav"])
def test_log_mel_matches_librosa(real_dir, name):
  audio = media.load_audio(real_dir / name)
  ours = media.mel_power(audio)
  padded = media.pad_to_frames(audio)
  ref = librosa.feature.melspectrogram(
      y=padded, sr=media.SAMPLE_RATE, n_fft=media.N_FFT, hop_length=media.HOP_LENGTH,
      win_length=media.WIN_LENGTH, n_mels=media.N_MELS, center=True, pad_mode="constant",
      power=2.0).T
  # librosa's centred STFT has one more frame (centred on the clip's end); we drop it.
  assert ref.shape[0] == ours.shape[0] + 1
  ref = ref[:ours.shape[0]]
  rel = np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-8 * ref.max())
  assert rel.max() < 1e-4, rel.max()
  log = media.log_mel(audio)
  np.testing.assert_allclose(log, np.log(np.maximum(ref, media.LOG_MEL_FLOOR)), atol=1e-4)


@pytest.mark.parametrize("seconds,frames", [(1.0, 60), (1.0083, 61), (61.0, 3660),
                                            (1 / 60, 1), (0.0001, 1)])
def test_two_mel_frames_per_video_frame(seconds, frames):
  num_samples = int(seconds * media.SAMPLE_RATE)
  audio = np.random.default_rng(0).normal(size=num_samples).astype(np.float32)
  assert media.num_video_frames(num_samples) == frames
  assert media.log_mel(audio).shape == (2 * frames, media.N_MELS)


def test_mel_frames_do_not_drift():
  """A click at video frame t lights up mel frames 2t and 2t+1, at any position."""
  for t in (3, 1000, 3000):
    audio = np.zeros(3660 * media.SAMPLES_PER_FRAME, np.float32)
    start = t * media.SAMPLES_PER_FRAME
    audio[start:start + 40] = 1.0
    energy = media.mel_power(audio).sum(-1)
    assert set(np.argsort(energy)[-2:]) == {2 * t, 2 * t + 1}


@pytest.mark.parametrize("name,rate,seconds", [
    ("speech_radio31.wav", 16_000, 8.0), ("speech_japanese.wav", 48_000, 9.09),
    ("sing_itosinger1.wav", 24_000, 10.42), ("speech_jfk_en.wav", 44_100, 11.0)])
def test_load_audio_any_rate_to_24k_mono(real_dir, name, rate, seconds):
  del rate  # the loader reads it from the file
  audio = media.load_audio(real_dir / name)
  assert audio.dtype == np.float32 and audio.ndim == 1
  assert abs(len(audio) / media.SAMPLE_RATE - seconds) < 0.02


@pytest.mark.parametrize("suffix", [".flac", ".mp3", ".ogg"])
def test_load_audio_compressed_formats(real_dir, tmp_path, suffix):
  """Stereo 48 kHz speech re-encoded to other formats loads as the same 24 kHz mono."""
  import imageio_ffmpeg  # pylint: disable=g-import-not-at-top
  source = real_dir / "speech_japanese.wav"
  path = tmp_path / f"speech{suffix}"
  subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(source),
                  str(path)], check=True)
  audio = media.load_audio(path)
  reference = media.load_audio(source)
  # mp3 and ogg encoders add a little padding at the ends.
  assert abs(len(audio) - len(reference)) < 0.1 * media.SAMPLE_RATE
  n = min(len(audio), len(reference))
  energy = lambda a: np.sqrt(np.mean(a[:n] ** 2))
  assert abs(energy(audio) / energy(reference) - 1) < 0.1


def test_load_audio_from_video_soundtrack(real_dir):
  audio = media.load_audio(real_dir / "talk_vr_5.mp4")
  assert abs(len(audio) / media.SAMPLE_RATE - 4.9) < 0.1


def test_float32_wav_is_read(bad_dir):
  audio = media.load_audio(bad_dir / "speech_float32_16k.wav")
  assert abs(len(audio) / media.SAMPLE_RATE - 11.5) < 0.1


def test_bad_audio_fails_clearly(bad_dir, tmp_path):
  with pytest.raises(media.MediaError, match="corrupt.mp4: unreadable audio"):
    media.load_audio(bad_dir / "corrupt.mp4")
  silent = tmp_path / "silent.wav"
  media.write_wav(silent, np.zeros(24_000, np.float32))
  with pytest.raises(media.MediaError, match="silent.wav: audio is silent"):
    media.load_audio(silent)
  with pytest.raises(media.MediaError, match="nothing.wav: no such file"):
    media.load_audio(tmp_path / "nothing.wav")


def test_corrupt_video_fails_clearly(bad_dir, tmp_path):
  with pytest.raises(media.MediaError, match="corrupt.mp4: corrupt or unreadable video"):
    media.read_video(bad_dir / "corrupt.mp4")
  song = tmp_path / "song.mp4"  # sound only
  subprocess.run([media.ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=d=1",
                  str(song)], check=True)
  with pytest.raises(media.MediaError, match=r"song.mp4: .*\(no video stream\)"):
    media.read_video(song)


def test_stream_video_reads_the_header_ffmpeg_decodes_to(real_dir):
  """media's own probe of a real clip against imageio_ffmpeg's header parser (frame rate,
  decoded size) and against the frames ffmpeg actually decodes (the count)."""
  import imageio_ffmpeg  # pylint: disable=g-import-not-at-top
  path = str(real_dir / "talk_vr_5.mp4")
  fps, expected, frames = media.stream_video(path)
  first = next(frames)
  frames.close()
  reader = imageio_ffmpeg.read_frames(path)
  meta = next(reader)
  reader.close()
  assert fps == meta["fps"] and first.shape == (meta["size"][1], meta["size"][0], 3)
  decoded, _ = imageio_ffmpeg.count_frames_and_secs(path)
  assert abs(expected - decoded) <= 2


def test_resample_indices():
  # 25 -> 60 fps: each source frame is held 2 or 3 times, in order, none skipped.
  idx = media.resample_indices(25, 25.0)
  assert len(idx) == 60
  assert np.all(np.diff(idx) >= 0) and set(idx) == set(range(25))
  assert np.array_equal(media.resample_indices(4, 30.0), [0, 0, 1, 1, 2, 2, 3, 3])
  assert np.array_equal(media.resample_indices(6, 120.0), [0, 2, 4])


def test_read_video_resamples_to_60fps(real_dir):
  video = media.read_video(real_dir / "talk_vr_5.mp4")
  assert video.source_fps == 25.0
  assert len(video.frames) == round(video.source_num_frames * 60 / 25)
  assert video.frames.dtype == np.uint8 and video.frames.shape[-1] == 3


def test_mp4_round_trip_with_audio(tmp_path):
  rng = np.random.default_rng(0)
  frames = np.zeros((90, 64, 64, 3), np.uint8)
  for t in range(90):
    frames[t, :, : (t % 64) + 1] = 200  # a bar that grows: frames are distinguishable
  audio = 0.1 * rng.normal(size=int(1.5 * media.SAMPLE_RATE)).astype(np.float32)
  path = tmp_path / "clip.mp4"
  media.write_video(path, frames, audio=audio)
  back = media.read_video(path)
  assert back.source_fps == 60.0
  assert back.frames.shape == (90, 64, 64, 3)
  assert np.abs(back.frames.astype(int) - frames).mean() < 8
  assert abs(media.probe_audio_duration(path) - 1.5) < 0.05


def test_frames_fill_one_array_whatever_the_container_claims():
  """Decoded frames are copied into one array sized from the container's duration; a
  video longer than it claims grows the array, a shorter one is cut."""
  rng = np.random.default_rng(0)
  frames = rng.integers(0, 256, (5, 4, 6, 3), np.uint8)
  for expected in (0, 1, 3, 5, 50):
    out = media._fill_frames(iter(frames), expected)  # pylint: disable=protected-access
    np.testing.assert_array_equal(out, frames)
