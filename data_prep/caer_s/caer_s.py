"""caer_s: CAER-S images (or NCAER-S frames from CAER videos) with the project's face boxes.

  python -m data_prep.build caer_s --manual_dir ~/CAER-S --data_dir ~/tensorflow_datasets
  python -m data_prep.build caer_s --manual_dir ~/CAER --data_dir DIR --set source=videos

source=images (CAER-S): manual_dir in the CAER-S layout, `<split>/<Emotion>/<image>`,
split one of train, validation, test (those present become the splits) and Emotion one
of stylehead_jax.emotions.EMOTIONS (case-insensitive; "Angry" is read as Anger).

source=videos (NCAER-S): manual_dir holds CAER videos as `[<anything>/]<Emotion>/<video>`.
Every video is split into `parts_per_video` equal parts and one frame is drawn at random
from each; videos, not frames, are dealt to train and test (a seeded permutation per
emotion, `test_fraction` of each to test), so no video gives frames to both splits, as
NCAER-S asks. The same seed gives the same split and frames.

Each example: the image resized to a square `context_size` (the face is masked by the
model input, not here), the face crop (the largest face the project's detector finds,
`stylehead_jax.landmarks.detectors`, squared and widened by `face_margin`, then resized
to `face_size`), that box in fractions of the image, the label, and the image and video
ids. An image in which no face is found, or that cannot be read, is left out with one
logged line naming it; the build reports how many.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os

from absl import logging
import numpy as np
import tensorflow_datasets as tfds

from data_prep import features
from data_prep import files
from stylehead_jax import emotions
from stylehead_jax import media
from stylehead_jax import overrides as overrides_lib
from stylehead_jax.landmarks import detectors

SPLIT_FOLDERS = {"train": "train", "validation": "validation", "val": "validation",
                 "test": "test"}
ALIASES = {"angry": "Anger"}


@dataclasses.dataclass(frozen=True)
class PrepConfig:
  source: str = "images"  # "images" (CAER-S) or "videos" (NCAER-S from CAER)
  context_size: int = emotions.CONTEXT_SIZE
  face_size: int = emotions.FACE_SIZE
  face_margin: float = emotions.FACE_MARGIN
  backend: str = "dlib"
  parts_per_video: int = 3  # NCAER-S: frames drawn per video, one per part
  test_fraction: float = 0.2  # NCAER-S: share of each emotion's videos in test
  seed: int = 0


@dataclasses.dataclass(kw_only=True)
class CaerSConfig(tfds.core.BuilderConfig):
  prep: PrepConfig = dataclasses.field(default_factory=PrepConfig)


def make_config(overrides: dict[str, str] | None = None) -> CaerSConfig:
  overrides = dict(overrides or {})
  prep = overrides_lib.apply(PrepConfig(), overrides, what="caer_s")
  if prep.source not in ("images", "videos"):
    raise ValueError(f"source={prep.source!r}: expected images or videos")
  return CaerSConfig(name=overrides_lib.config_name(overrides),
                     description=f"CAER-S / NCAER-S with {overrides or 'default values'}",
                     prep=prep)


def emotion_of(relative_path: str) -> int:
  """The label of a file from its parent folder's name."""
  folder = relative_path.replace("\\", "/").split("/")[-2]
  return emotions.index(ALIASES.get(folder.lower(), folder))


def split_videos(videos: list[str], test_fraction: float, seed: int) -> dict[str, list[str]]:
  """Videos dealt to train and test: per emotion, a seeded permutation, the first
  round(test_fraction * n) to test. A video lands in exactly one split."""
  out = {"train": [], "test": []}
  by_label = {}
  for video in videos:
    by_label.setdefault(emotion_of(video), []).append(video)
  for label, group in sorted(by_label.items()):
    order = np.random.default_rng([seed, label]).permutation(sorted(group))
    num_test = int(round(test_fraction * len(order)))
    out["test"] += [str(v) for v in order[:num_test]]
    out["train"] += [str(v) for v in order[num_test:]]
  return out


def frame_indices(num_frames: int, parts: int, video_id: str, seed: int) -> list[int]:
  """One frame drawn at random from each of `parts` equal parts, seeded by the video."""
  key = int(hashlib.sha256(video_id.encode()).hexdigest()[:8], 16)
  rng = np.random.default_rng([seed, key])
  edges = np.linspace(0, num_frames, min(parts, num_frames) + 1).astype(int)
  return [int(rng.integers(a, b)) for a, b in zip(edges[:-1], edges[1:])]


class CaerS(tfds.core.GeneratorBasedBuilder):
  """CAER-S (images) or NCAER-S (video-disjoint frames of CAER), from manual_dir."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release: CAER-S images and NCAER-S from CAER videos."}
  BUILDER_CONFIGS = [make_config(), make_config({"source": "videos"})]
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  source=images: the CAER-S folder (train/<Emotion>/*.png, test/<Emotion>/*.png).
  source=videos: the CAER folder (any/<Emotion>/*.avi).
  CAER and CAER-S come from their authors (https://caer-dataset.github.io) on request.
  """

  def _info(self) -> tfds.core.DatasetInfo:
    prep = self.builder_config.prep
    return self.dataset_info_from_configs(
        description=__doc__,
        features=tfds.features.FeaturesDict(
            features.emotion_features(prep.context_size, prep.face_size)),
        homepage="https://caer-dataset.github.io",
    )

  def _split_generators(self, dl_manager):
    root = os.fspath(dl_manager.manual_dir)
    prep = self.builder_config.prep
    if prep.source == "videos":
      videos = files.list_media(root, media.VIDEO_SUFFIXES)
      splits = split_videos(videos, prep.test_fraction, prep.seed)
      return {name: self._generate_examples(root, paths) for name, paths in splits.items()
              if paths}
    images = files.list_media(root, media.IMAGE_SUFFIXES)
    by_split = {}
    for path in images:
      folder = path.replace("\\", "/").split("/")[0].lower()
      if folder not in SPLIT_FOLDERS:
        raise ValueError(f"{root}: {path} is not under train/, validation/ or test/ "
                         "(the CAER-S layout)")
      by_split.setdefault(SPLIT_FOLDERS[folder], []).append(path)
    return {name: self._generate_examples(root, paths) for name, paths in by_split.items()}

  def _generate_examples(self, root: str, paths: list[str]):
    if self.builder_config.prep.source == "videos":
      return self._video_examples(root, paths)
    return self._image_examples(root, paths)

  def _backend(self):
    return detectors.get_backend(self.builder_config.prep.backend)

  def _image_examples(self, root: str, paths: list[str]):
    prep, backend = self.builder_config.prep, self._backend()
    skipped = 0
    for path in paths:
      label = emotion_of(path)
      try:
        image = media.read_image(os.path.join(root, path))
      except media.MediaError as e:
        logging.warning("skipped: %s", e)
        skipped += 1
        continue
      box = emotions.face_box(image, backend, prep.face_margin)
      if box is None:
        logging.warning("skipped: %s: no face found", os.path.join(root, path))
        skipped += 1
        continue
      yield path, dict(emotions.model_example(image, box, prep.context_size, prep.face_size),
                       label=label, image_id=path, video_id=path)
    if skipped:
      logging.warning("%d of %d images left out (see the lines above)", skipped, len(paths))

  def _video_examples(self, root: str, paths: list[str]):
    prep, backend = self.builder_config.prep, self._backend()
    skipped = 0
    for path in paths:
      label = emotion_of(path)
      try:
        frames = media.read_video(os.path.join(root, path), fps=None).frames
      except media.MediaError as e:
        logging.warning("skipped: %s", e)
        skipped += 1
        continue
      for index in frame_indices(len(frames), prep.parts_per_video, path, prep.seed):
        box = emotions.face_box(frames[index], backend, prep.face_margin)
        if box is None:
          logging.warning("skipped: %s frame %d: no face found", os.path.join(root, path), index)
          skipped += 1
          continue
        image_id = f"{path}#{index}"
        yield image_id, dict(emotions.model_example(
            frames[index], box, prep.context_size, prep.face_size),
            label=label, image_id=image_id, video_id=path)
    if skipped:
      logging.warning("%d videos or frames left out (see the lines above)", skipped)


BUILDER = CaerS  # stylehead_jax.datasets reads it (entry point in pyproject.toml)
