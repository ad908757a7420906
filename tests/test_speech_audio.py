"""The speech_audio builder: real speech at any rate -> log-mels; bad files skipped."""

import logging
import os

import numpy as np
import tensorflow_datasets as tfds

from stylehead_jax import datasets
from stylehead_jax import media


def test_speech_folder_builds(tmp_path, real_dir, bad_dir, caplog):
  root = tmp_path / "audio"
  (root / "nested").mkdir(parents=True)
  for wav in sorted(real_dir.glob("*.wav")):
    os.symlink(wav, root / "nested" / wav.name)
  os.symlink(bad_dir / "speech_float32_16k.wav", root / "float32.wav")
  media.write_wav(root / "silent.wav", np.zeros(media.SAMPLE_RATE, np.float32))
  (root / "broken.mp3").write_bytes(b"not audio at all")
  builder = datasets.make_builder("speech_audio", str(tmp_path / "tfds"), {"test_fraction": "0"})
  with caplog.at_level(logging.WARNING):
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(root)))
  skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipped")]
  assert len(skipped) == 2, skipped
  assert any("silent.wav: audio is silent" in m for m in skipped)
  assert any("broken.mp3: unreadable audio" in m for m in skipped)
  examples = list(tfds.as_numpy(builder.as_dataset(split="train")))
  assert len(examples) == len(list(real_dir.glob("*.wav"))) + 1
  for ex in examples:
    frames = media.num_video_frames(len(ex["audio"]))
    assert len(ex["audio"]) == frames * media.SAMPLES_PER_FRAME
    assert ex["log_mel"].shape == (2 * frames, media.N_MELS)
  jfk = next(ex for ex in examples if ex["clip_id"] == b"nested/speech_jfk_en")
  assert abs(len(jfk["audio"]) / media.SAMPLE_RATE - 11.0) < 0.05
