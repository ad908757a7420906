"""synthetic_talking_heads: procedural talking and singing heads with full ground truth.

Build (seconds at 64x64, minutes at 512x512; no downloads):

  python -m data_prep.build synthetic_talking_heads --data_dir ~/tensorflow_datasets
  python -m data_prep.build synthetic_talking_heads --data_dir DIR \\
      --set resolution=512 --set num_train_speakers=32 --set rap.syllable_rate=8

Every WorldConfig field and every `<style>.<param>` is a `--set` value; a non-default set
gets its own builder config name, so differently-made worlds never overwrite each other.
See world.py for what the world simulates.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from data_prep import features
from data_prep.synthetic_talking_heads import world
from stylehead_jax import media
from stylehead_jax import overrides as overrides_lib
from stylehead_jax.landmarks import regions

# validation: speakers of its own, as many utterances as test, for choosing settings (say
# the head-motion sampling, eval/calibrate_pose.py) without looking at the test split.
SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(kw_only=True)
class SyntheticTalkingHeadsConfig(tfds.core.BuilderConfig):
  world: world.WorldConfig = dataclasses.field(default_factory=world.WorldConfig)


def make_config(overrides: dict[str, str] | None = None) -> SyntheticTalkingHeadsConfig:
  overrides = dict(overrides or {})
  return SyntheticTalkingHeadsConfig(
      name=overrides_lib.config_name(overrides),
      description=f"synthetic world with {overrides or 'default values'}",
      world=world.WorldConfig().replace(**overrides))


class SyntheticTalkingHeads(tfds.core.GeneratorBasedBuilder):
  """Procedural speakers talking and singing in four styles."""

  VERSION = tfds.core.Version("1.2.0")
  RELEASE_NOTES = {
      "1.0.0": "First release: four styles, formant synthesis, 60 fps.",
      "1.1.0": "head_pose translation is the image position of the face's origin (the "
               "nose tip), as landmarks/pose.py defines it and PnP measures it.",
      "1.2.0": "A validation split: num_validation_speakers speakers of its own; train and "
               "test as in 1.1.0.",
  }
  BUILDER_CONFIGS = [make_config()]

  def _info(self) -> tfds.core.DatasetInfo:
    res = self.builder_config.world.resolution
    return self.dataset_info_from_configs(
        description=__doc__,
        features=tfds.features.FeaturesDict({
            **features.talking_head_features(res),
            "visemes": tfds.features.Tensor(shape=(None,), dtype=np.int32),
            "style": tfds.features.ClassLabel(names=world.STYLES),
            "style_params": {name: np.float32 for name in world.STYLE_PARAM_NAMES},
        }),
        homepage="https://arxiv.org/abs/2303.09799",
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download.
    return {split: self._generate_examples(split) for split in SPLITS}

  def _generate_examples(self, split: str):
    cfg = self.builder_config.world
    num_speakers = {"train": cfg.num_train_speakers, "validation": cfg.num_validation_speakers,
                    "test": cfg.num_test_speakers}[split]
    per_style = cfg.utterances_per_style if split == "train" else cfg.test_utterances_per_style
    for s in range(num_speakers):
      for style in cfg.styles:
        for u in range(per_style):
          key = f"{split}-{s:04d}-{style}-{u:03d}"
          yield key, make_example(cfg, split, s, style, u, key)


def make_example(cfg: world.WorldConfig, split: str, speaker_index: int, style: str,
                 utterance_index: int, clip_id: str) -> dict:
  """One example as numpy arrays (the builder's feature dict)."""
  speaker = world.make_speaker(cfg, split, speaker_index)
  utt = world.make_utterance(cfg, speaker, style, split, utterance_index)
  res = cfg.resolution
  num_frames = len(utt.landmarks)
  return {
      "frames": world.render_frames(speaker, utt, res),
      "region_maps": regions.region_maps(utt.landmarks, res)[..., None],
      "landmarks": utt.landmarks,
      "head_pose": {"rotation": utt.rotation, "translation": utt.translation},
      "torso": utt.torso,
      "log_mel": media.log_mel(utt.audio),
      "audio": utt.audio,
      "visemes": utt.visemes,
      "valid": np.ones((num_frames,), np.bool_),
      "speaker_id": speaker.speaker_id,
      "clip_id": clip_id,
      "style": style,
      "style_params": {k: np.float32(v) for k, v in dataclasses.asdict(utt.style).items()},
  }


BUILDER = SyntheticTalkingHeads  # stylehead_jax.datasets reads it (entry point in pyproject.toml)
