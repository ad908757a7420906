"""synthetic_context_emotion: scenes whose context carries the emotion where the face cannot.

  python -m data_prep.build synthetic_context_emotion --data_dir ~/tensorflow_datasets
  python -m data_prep.build synthetic_context_emotion --data_dir DIR \\
      --set context_size=64 --set face_size=48 --set ambiguous_fraction=0.7

Every SceneConfig field (scene.py) is a `--set` value. Besides the features of every
emotion builder (data_prep/features.py: context, face, face_box, label, ids), each
example has `clarity` (clear: the face shows the expression; ambiguous: sunglasses and a
scarf hide it) and `cue_mask`, the context pixels of the cues that carry the label, so
an evaluator can say where attention should go. Builds in seconds; no downloads.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from data_prep import features
from data_prep.synthetic_context_emotion import scene
from stylehead_jax import emotions
from stylehead_jax import overrides as overrides_lib


@dataclasses.dataclass(kw_only=True)
class SyntheticContextEmotionConfig(tfds.core.BuilderConfig):
  scene: scene.SceneConfig = dataclasses.field(default_factory=scene.SceneConfig)


def make_config(overrides: dict[str, str] | None = None) -> SyntheticContextEmotionConfig:
  overrides = dict(overrides or {})
  return SyntheticContextEmotionConfig(
      name=overrides_lib.config_name(overrides),
      description=f"synthetic scenes with {overrides or 'default values'}",
      scene=overrides_lib.apply(scene.SceneConfig(), overrides,
                                what="synthetic_context_emotion"))


class SyntheticContextEmotion(tfds.core.GeneratorBasedBuilder):
  """Procedural scenes: a main face, a companion, a stranger, maybe an object."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release."}
  BUILDER_CONFIGS = [make_config()]

  def _info(self) -> tfds.core.DatasetInfo:
    cfg = self.builder_config.scene
    return self.dataset_info_from_configs(
        description=__doc__,
        features=tfds.features.FeaturesDict({
            **features.emotion_features(cfg.context_size, cfg.face_size),
            "clarity": tfds.features.ClassLabel(names=emotions.CLARITY),
            "cue_mask": tfds.features.Tensor(shape=(cfg.context_size, cfg.context_size, 1),
                                             dtype=np.uint8),
        }),
        homepage="https://github.com/minhnhatvt/glamor-net",
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download.
    cfg = self.builder_config.scene
    return {"train": self._generate_examples("train", cfg.num_train),
            "test": self._generate_examples("test", cfg.num_test)}

  def _generate_examples(self, split: str, count: int):
    cfg = self.builder_config.scene
    for i in range(count):
      example = scene.make_scene(cfg, split, i)
      yield example["image_id"], example


BUILDER = SyntheticContextEmotion  # stylehead_jax.datasets reads it (entry point in pyproject.toml)
