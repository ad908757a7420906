"""talking_head_videos: any folder of talking-head videos -> 60 fps face crops with labels.

  python -m data_prep.build talking_head_videos --manual_dir ~/voxceleb2/dev/mp4 \\
      --data_dir ~/tensorflow_datasets
  python -m data_prep.build talking_head_videos --manual_dir ../shared/data/real \\
      --data_dir DIR --set resolution=256

Every video under manual_dir (recursively) becomes one example per face segment
(stylehead_jax.landmarks.tracking; a segment over `max_segment_seconds`, 60, is cut into
equal parts): frames, region maps, 68 landmarks, head pose, torso
points, per-frame valid flags (False where landmarks were interpolated), 24 kHz audio
and its log-mels (2 per frame), speaker and clip ids. The features match
synthetic_talking_heads, so every stage reads both the same way.

The speaker is the first path component matching `speaker_pattern` (VoxCeleb2:
`idXXXXX/clip/utt.mp4`), else the file's stem. Splits are by speaker, deterministic:
the speakers with the smallest hashes of their ids form the test split; or, given
`manual_dir/splits.tsv` (each video's relative path, a tab, its split's name, every video
listed), the named splits there (data_prep/real_clips.py writes one; set `collection` to
give such a set a config name of its own).
A video is tracked as a stream (`tracking.track_video`), so memory does not grow with its
length: every frame is decoded and checked before its first example is written. A video
that cannot be used (unreadable, no audio, silent, no face, too short, corrupt part-way)
is skipped with one logged line naming the file and the reason (and the frame where the
data breaks); none of its examples is written and the rest still builds.

A soundtrack known to be off its mouth is corrected by a line in
`manual_dir/audio_offsets.tsv`: the video's path relative to manual_dir, a tab, and the
seconds its audio leads the mouth (negative: lags), as
`stylehead_jax.metrics.sync.audio_lead` measures it; the audio is shifted by that much
(the gap is silence) before anything is cut from it.

At VoxCeleb2 scale, `--beam` runs the same per-video function as an Apache Beam
pipeline (`pip install stylehead_jax[beam]`; `--beam_options` picks the runner).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import re

from absl import logging
import tensorflow_datasets as tfds
from tensorflow_datasets.core import shuffle

from data_prep import features
from data_prep import files
from stylehead_jax import footage
from stylehead_jax import media
from stylehead_jax import overrides as overrides_lib
from stylehead_jax.landmarks import detectors
from stylehead_jax.landmarks import tracking

AUDIO_OFFSETS_FILE = "audio_offsets.tsv"
SPLITS_FILE = "splits.tsv"
# TFDS's writer keeps finished examples in memory until they pass 1 GB (four of our
# 60-second parts at 256 px, 242 MB each) before it spills them to its bucket files; this
# builder spills past WRITER_MEMORY_BYTES, so a long source's build does not grow by them.
WRITER_MEMORY_BYTES = 64 << 20


@dataclasses.dataclass(frozen=True)
class PrepConfig:
  resolution: int = media.CROP_SIZE
  margin: float = 0.35
  backend: str = "dlib"  # or "face_alignment"
  speaker_pattern: str = r"^id\d+$"
  test_fraction: float = 0.2  # 0: everything in train (TFDS refuses an empty split)
  # A longer face segment becomes several examples, so a long source is prepared in the
  # memory of one part (a whole build of a long source peaks at about 3.5 GB at 256 px:
  # docs/benchmarks.md; every clip in ../shared/data is shorter).
  max_segment_seconds: float = 60.0
  collection: str = ""  # a name only: keeps builds of different manual_dirs apart

  def tracker(self) -> tracking.TrackerConfig:
    return tracking.TrackerConfig(resolution=self.resolution, margin=self.margin,
                                  max_segment_seconds=self.max_segment_seconds)


@dataclasses.dataclass(kw_only=True)
class TalkingHeadVideosConfig(tfds.core.BuilderConfig):
  prep: PrepConfig = dataclasses.field(default_factory=PrepConfig)


def make_config(overrides: dict[str, str] | None = None) -> TalkingHeadVideosConfig:
  overrides = dict(overrides or {})
  return TalkingHeadVideosConfig(
      name=overrides_lib.config_name(overrides),
      description=f"face crops with {overrides or 'default values'}",
      prep=overrides_lib.apply(PrepConfig(), overrides, what="talking_head_videos"))


def speaker_of(relative_path: str, pattern: str) -> str:
  parts = relative_path.replace("\\", "/").split("/")
  for part in parts[:-1]:
    if re.match(pattern, part):
      return part
  return os.path.splitext(parts[-1])[0]


def _read_table(root: str, name: str, value_type, what: str) -> dict:
  """{relative video path: value} from the two-column table manual_dir/`name`."""
  path = os.path.join(root, name)
  if not os.path.exists(path):
    return {}
  table = {}
  with open(path) as f:
    for number, line in enumerate(f, 1):
      if not line.strip() or line.startswith("#"):
        continue
      try:
        relative, value = line.rstrip("\n").split("\t")
        table[relative.strip()] = value_type(value.strip())
      except ValueError:
        raise ValueError(f"{path}:{number}: expected 'relative/path.mp4<TAB>{what}', "
                         f"got {line.strip()!r}") from None
  return table


def read_audio_offsets(root: str) -> dict[str, float]:
  """{relative video path: seconds its audio leads the mouth} from AUDIO_OFFSETS_FILE."""
  return _read_table(root, AUDIO_OFFSETS_FILE, float, "seconds")


def read_splits(root: str) -> dict[str, str]:
  """{relative video path: split name} from SPLITS_FILE ({} without one)."""
  return _read_table(root, SPLITS_FILE, str, "split")


def split_speakers(speakers, test_fraction: float) -> set[str]:
  """The test speakers: those with the smallest sha1 of their id."""
  ranked = sorted(set(speakers), key=lambda s: hashlib.sha1(s.encode()).hexdigest())
  if len(ranked) < 2 or test_fraction <= 0:
    return set()
  return set(ranked[:max(1, round(test_fraction * len(ranked)))])


class TalkingHeadVideos(tfds.core.GeneratorBasedBuilder):
  """Real talking-head footage prepared to the media contract."""

  VERSION = tfds.core.Version("1.2.0")
  RELEASE_NOTES = {"1.0.0": "First release: dlib tracking, PnP pose, LK torso, 60 fps.",
                   "1.1.0": "Soundtrack offsets corrected from manual_dir/audio_offsets.tsv.",
                   "1.2.0": "Named splits from manual_dir/splits.tsv."}
  BUILDER_CONFIGS = [make_config()]
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Put the videos (any nesting; VoxCeleb2 dev as idXXXXX/clip/utt.mp4) in manual_dir,
  and optionally audio_offsets.tsv (relative path, tab, seconds the audio leads) and
  splits.tsv (relative path, tab, split name).
  """

  def _info(self) -> tfds.core.DatasetInfo:
    res = self.builder_config.prep.resolution
    return self.dataset_info_from_configs(
        description=__doc__,
        features=tfds.features.FeaturesDict(features.talking_head_features(res)),
        homepage="https://arxiv.org/abs/2303.09799",
    )

  def _split_generators(self, dl_manager):
    root = os.fspath(dl_manager.manual_dir)
    videos = files.list_media(root, media.VIDEO_SUFFIXES)
    offsets = read_audio_offsets(root)
    prep = self.builder_config.prep
    named = read_splits(root)
    for table, name in ((offsets, AUDIO_OFFSETS_FILE), (named, SPLITS_FILE)):
      unknown = sorted(set(table) - set(videos))
      if unknown:
        raise ValueError(f"{os.path.join(root, name)} names videos that are not in "
                         f"manual_dir: {unknown}")
    by_split = {}
    if named:
      unlisted = sorted(set(videos) - set(named))
      if unlisted:
        raise ValueError(f"{os.path.join(root, SPLITS_FILE)} gives no split for {unlisted}")
      people = {}
      for v in videos:
        people.setdefault(speaker_of(v, prep.speaker_pattern), set()).add(named[v])
      mixed = sorted(p for p, s in people.items() if len(s) > 1)
      if mixed:
        raise ValueError(f"{os.path.join(root, SPLITS_FILE)}: speakers in two splits: {mixed}")
      for v in videos:
        by_split.setdefault(named[v], []).append(v)
    else:
      test = split_speakers([speaker_of(v, prep.speaker_pattern) for v in videos],
                            prep.test_fraction)
      for v in videos:
        by_split.setdefault("test" if speaker_of(v, prep.speaker_pattern) in test
                            else "train", []).append(v)
    return {split: self._generate_examples(root, [(p, offsets.get(p, 0.0)) for p in paths])
            for split, paths in by_split.items() if paths}

  def _download_and_prepare(self, dl_manager, download_config=None):
    limit = shuffle.MAX_MEM_BUFFER_SIZE
    shuffle.MAX_MEM_BUFFER_SIZE = min(limit, WRITER_MEMORY_BYTES)  # read as it writes
    try:
      return super()._download_and_prepare(dl_manager, download_config)
    finally:
      shuffle.MAX_MEM_BUFFER_SIZE = limit

  use_beam = False  # set by `python -m data_prep.build ... --beam` (VoxCeleb2 scale)

  def _generate_examples(self, root, paths):
    prep = self.builder_config.prep
    if self.use_beam:
      beam = tfds.core.lazy_imports.apache_beam
      return (beam.Create(paths)
              | beam.Reshuffle()  # spread the videos over the workers
              | beam.FlatMap(lambda item: prepare_video(root, *item, prep)))
    return self._generate_locally(root, paths, prep)

  def _generate_locally(self, root, paths, prep):
    for relative, audio_lead in paths:
      yield from prepare_video(root, relative, audio_lead, prep)


_BACKENDS = {}  # one landmark backend per process and name (a Beam worker reuses it)


def _backend(name: str):
  if name not in _BACKENDS:
    _BACKENDS[name] = detectors.get_backend(name)
  return _BACKENDS[name]


def prepare_video(root: str, relative: str, audio_lead: float, prep: PrepConfig):
  """(key, example) per face segment of one video whose audio leads its mouth by
  `audio_lead` seconds; logs one line and yields nothing when the video cannot be used."""
  path = os.path.join(root, relative)
  if audio_lead:
    logging.info("%s: audio shifted by %+.3f s (%s)", path, -audio_lead, AUDIO_OFFSETS_FILE)
  clips = footage.video_clips(path, prep.tracker(), _backend(prep.backend), audio_lead)
  try:  # the whole video is decoded (and checked) before its first clip is made
    first = next(clips)
  except (media.MediaError, tracking.NoFaceError) as e:
    logging.warning("skipped %s", e)
    return
  clip_id = os.path.splitext(relative.replace(os.sep, "/"))[0]
  speaker = speaker_of(relative, prep.speaker_pattern)
  # Each part is written as it is made, and dropped (here and in footage.video_clips)
  # before the next is tracked: one part in memory at a time (no enumerate or
  # itertools.chain: their own references would hold a finished part).
  pending = [first]
  del first
  for k in itertools.count():
    clip = pending.pop() if pending else next(clips, None)
    if clip is None:
      return
    example = dict(clip, speaker_id=speaker, clip_id=f"{clip_id}#{k}")
    del clip
    yield f"{clip_id}#{k}", example
    del example


BUILDER = TalkingHeadVideos  # stylehead_jax.datasets reads it (entry point in pyproject.toml)
