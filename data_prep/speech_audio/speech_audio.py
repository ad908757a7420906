"""speech_audio: any folder of speech or singing (Common Voice clips) -> 24 kHz log-mels.

  python -m data_prep.build speech_audio --manual_dir ~/cv-corpus/en/clips \\
      --data_dir ~/tensorflow_datasets

Every audio file under manual_dir (recursively: wav, flac, mp3, ogg, m4a, opus) becomes
one example: 24 kHz mono audio (padded to whole 60 fps frames), its log-mel (2 per
frame), and a clip id. Files that cannot be used (unreadable, silent, shorter than
`min_seconds`) are skipped with one logged line naming the file and the reason. The
split is by file hash (`test_fraction` to test), since Common Voice clips carry no
speaker id in their paths.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os

from absl import logging
import numpy as np
import tensorflow_datasets as tfds

from data_prep import files
from stylehead_jax import media
from stylehead_jax import overrides as overrides_lib


@dataclasses.dataclass(frozen=True)
class SpeechConfig:
  min_seconds: float = 0.5
  test_fraction: float = 0.1  # 0: everything in train


@dataclasses.dataclass(kw_only=True)
class SpeechAudioConfig(tfds.core.BuilderConfig):
  speech: SpeechConfig = dataclasses.field(default_factory=SpeechConfig)


def make_config(overrides: dict[str, str] | None = None) -> SpeechAudioConfig:
  overrides = dict(overrides or {})
  return SpeechAudioConfig(
      name=overrides_lib.config_name(overrides),
      description=f"log-mels with {overrides or 'default values'}",
      speech=overrides_lib.apply(SpeechConfig(), overrides, what="speech_audio"))


def is_test(relative_path: str, test_fraction: float) -> bool:
  digest = int(hashlib.sha1(relative_path.encode()).hexdigest()[:8], 16)
  return digest < test_fraction * 0xFFFFFFFF


class SpeechAudio(tfds.core.GeneratorBasedBuilder):
  """Speech (or singing) audio prepared to the media contract."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release."}
  BUILDER_CONFIGS = [make_config()]
  MANUAL_DOWNLOAD_INSTRUCTIONS = "Put the audio files (any nesting) in manual_dir."

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description=__doc__,
        features=tfds.features.FeaturesDict({
            "audio": tfds.features.Audio(shape=(None,), dtype=np.float32,
                                         sample_rate=media.SAMPLE_RATE),
            "log_mel": tfds.features.Tensor(shape=(None, media.N_MELS), dtype=np.float32),
            "clip_id": tfds.features.Text(),
        }),
        homepage="https://commonvoice.mozilla.org",
    )

  def _split_generators(self, dl_manager):
    root = os.fspath(dl_manager.manual_dir)
    fraction = self.builder_config.speech.test_fraction
    by_split = {"train": [], "test": []}
    for f in files.list_media(root, media.AUDIO_SUFFIXES):
      by_split["test" if is_test(f, fraction) else "train"].append(f)
    return {split: self._generate_examples(root, paths)
            for split, paths in by_split.items() if paths}

  def _generate_examples(self, root, paths):
    min_seconds = self.builder_config.speech.min_seconds
    for relative in paths:
      path = os.path.join(root, relative)
      try:
        audio = media.load_audio(path)
      except media.MediaError as e:
        logging.warning("skipped %s", e)
        continue
      if len(audio) < min_seconds * media.SAMPLE_RATE:
        logging.warning("skipped %s: %.2f s, shorter than %s s", path,
                        len(audio) / media.SAMPLE_RATE, min_seconds)
        continue
      audio = media.pad_to_frames(audio)
      clip_id = os.path.splitext(relative.replace(os.sep, "/"))[0]
      yield clip_id, {"audio": audio, "log_mel": media.log_mel(audio), "clip_id": clip_id}


BUILDER = SpeechAudio  # stylehead_jax.datasets reads it (entry point in pyproject.toml)
