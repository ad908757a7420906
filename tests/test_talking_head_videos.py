"""The talking_head_videos builder on real clips and on inputs that must be skipped."""

import logging
import os
import subprocess
import weakref

import imageio_ffmpeg
import numpy as np
import pytest
import tensorflow_datasets as tfds

from data_prep import real_clips
from data_prep.talking_head_videos import talking_head_videos as thv
from stylehead_jax import datasets
from stylehead_jax import media
from stylehead_jax import overrides as overrides_lib
from tests.conftest import SHARED_DATA, corrupt_part_way


def test_speakers_and_splits():
  assert thv.speaker_of("id00012/abc/00001.mp4", r"^id\d+$") == "id00012"
  assert thv.speaker_of("talk_vr_5.mp4", r"^id\d+$") == "talk_vr_5"
  speakers = [f"id{i:05d}" for i in range(10)]
  test = thv.split_speakers(speakers, 0.2)
  assert len(test) == 2 and test == thv.split_speakers(reversed(speakers), 0.2)


@pytest.mark.slow
def test_voxceleb_sample_builds_and_reads_back(tmp_path):
  """The CLI build of the ten-clip VoxCeleb2 sample, read back with tfds.load."""
  out = subprocess.run(
      [os.sys.executable, "-m", "data_prep.build", "talking_head_videos", "--manual_dir",
       str(SHARED_DATA / "voxceleb2_sample"), "--data_dir", str(tmp_path),
       "--set", "resolution=64"], capture_output=True, text=True, check=False)
  assert out.returncode == 0, out.stderr[-3000:]
  ds = tfds.load("talking_head_videos/resolution-64", data_dir=str(tmp_path), split="train+test")
  examples = list(tfds.as_numpy(ds))
  assert len(examples) == 10
  for ex in examples:
    t = len(ex["frames"])
    assert ex["frames"].shape == (t, 64, 64, 3) and ex["landmarks"].shape == (t, 68, 3)
    assert ex["log_mel"].shape == (2 * t, media.N_MELS)
    assert ex["audio"].shape == (t * media.SAMPLES_PER_FRAME,)
    assert ex["valid"].mean() >= 0.9
  speakers = {ex["speaker_id"] for ex in examples}
  assert len(speakers) == 10


def _held(example):
  """A weak reference to the memory behind an example's frames."""
  frames = example["frames"]
  return weakref.ref(frames if frames.base is None else frames.base)


def test_one_part_of_a_long_video_in_memory_at_a_time(real_dir):
  """A video cut into parts (max_segment_seconds) is prepared part by part: when the next
  part is asked for, nothing keeps the previous one's frames alive."""
  prep = thv.PrepConfig(resolution=32, max_segment_seconds=2.0)
  parts = thv.prepare_video(str(real_dir), "talk_vr_5.mp4", 0.0, prep)
  key, example = next(parts)
  frames = _held(example)
  count = 1
  del example
  for key, example in parts:
    assert frames() is None, f"part {count - 1} still held while {key} is made"
    frames = _held(example)
    count += 1
    del example
  assert count >= 3  # talk_vr_5 is several times 2 s long


def _ffmpeg(*args):
  subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *map(str, args)],
                 check=True)


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory, bad_dir, real_dir):
  """The shared bad inputs, made-up broken files, and one good clip."""
  root = tmp_path_factory.mktemp("videos")
  for name in ("no_face.mp4", "face_noface.mov", "corrupt.mp4"):
    os.symlink(bad_dir / name, root / name)
  os.symlink(real_dir / "talk_vr_5.mp4", root / "good.mp4")
  corrupt_part_way(real_dir / "talk_hdtf_aoc.mp4", root / "broken.mp4")
  (root / "empty.mp4").write_bytes(b"")
  frame = np.full((1, 64, 64, 3), 128, np.uint8)
  media.write_video(root / "one_frame.mp4", frame, audio=np.random.default_rng(0).normal(
      0, 0.1, media.SAMPLES_PER_FRAME).astype(np.float32))
  media.write_video(root / "no_audio.mp4", np.repeat(frame, 30, axis=0))
  _ffmpeg("-i", real_dir / "speech_radio31.wav", root / "song.mp3")
  os.rename(root / "song.mp3", root / "song.mp4")  # an mp3 with a video's extension
  return root


def test_bad_inputs_are_skipped_with_one_line_each(bad_folder, tmp_path, caplog):
  builder = datasets.make_builder("talking_head_videos", str(tmp_path),
                               {"resolution": "64", "test_fraction": "0"})
  with caplog.at_level(logging.WARNING):
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(bad_folder)))
  skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipped")]
  reasons = {
      "no_face.mp4": "no face found", "corrupt.mp4": "unreadable audio",
      "empty.mp4": "empty file", "one_frame.mp4": "clip too short",
      "no_audio.mp4": "no audio stream", "song.mp4": "corrupt or unreadable video",
      "broken.mp4": "corrupt video: decoding failed at frame",
  }
  for name, reason in reasons.items():
    lines = [m for m in skipped if f"{os.sep}{name}:" in m]
    assert len(lines) == 1, (name, skipped)
    assert reason in lines[0], lines[0]
  clips = {ex["clip_id"].decode() for ex in tfds.as_numpy(builder.as_dataset(split="train"))}
  assert "good#0" in clips and not any(c.startswith("broken#") for c in clips)
  # The face leaves the frame part-way: what remains is the segment(s) with the face.
  noface = [c for c in clips if c.startswith("face_noface#")]
  assert noface, clips


@pytest.mark.slow
def test_beam_pipeline_matches_the_local_build(real_dir, tmp_path):
  """The Beam build (DirectRunner) writes the same examples as the ordinary build."""
  from apache_beam.options import pipeline_options  # pylint: disable=g-import-not-at-top
  root = tmp_path / "videos"
  root.mkdir()
  os.symlink(real_dir / "talk_vr_5.mp4", root / "a.mp4")
  os.symlink(SHARED_DATA / "voxceleb2_sample" / "00010.mp4", root / "b.mp4")
  examples = {}
  for mode in ("local", "beam"):
    builder = datasets.make_builder("talking_head_videos", str(tmp_path / mode),
                                 {"resolution": "64", "test_fraction": "0"})
    config = tfds.download.DownloadConfig(manual_dir=str(root))
    if mode == "beam":
      builder.use_beam = True
      config = tfds.download.DownloadConfig(
          manual_dir=str(root),
          beam_options=pipeline_options.PipelineOptions(["--runner=DirectRunner"]))
    builder.download_and_prepare(download_config=config)
    examples[mode] = {ex["clip_id"]: ex for ex in tfds.as_numpy(builder.as_dataset(split="train"))}
  assert set(examples["beam"]) == set(examples["local"]) == {b"a#0", b"b#0"}
  for clip, ex in examples["local"].items():
    np.testing.assert_array_equal(examples["beam"][clip]["landmarks"], ex["landmarks"])
    np.testing.assert_array_equal(examples["beam"][clip]["frames"], ex["frames"])


def test_audio_offsets_shift_the_soundtrack(real_dir, tmp_path):
  """A line of audio_offsets.tsv moves that video's audio and nothing else; a bad file
  names itself and the line."""
  (tmp_path / thv.AUDIO_OFFSETS_FILE).write_text("# video\tlead\nsub/late.mp4\t-0.25\n")
  assert thv.read_audio_offsets(str(tmp_path)) == {"sub/late.mp4": -0.25}
  prep = thv.PrepConfig(resolution=64)
  (key, as_is), = thv.prepare_video(str(real_dir), "talk_vr_5.mp4", 0.0, prep)
  (_, moved), = thv.prepare_video(str(real_dir), "talk_vr_5.mp4", -0.25, prep)
  assert key == "talk_vr_5#0"
  shift = int(0.25 * media.SAMPLE_RATE)
  np.testing.assert_array_equal(moved["audio"][:-shift], as_is["audio"][shift:])
  assert not moved["audio"][-shift:].any()
  np.testing.assert_array_equal(moved["landmarks"], as_is["landmarks"])
  (tmp_path / thv.AUDIO_OFFSETS_FILE).write_text("late.mp4 0.25\n")
  with pytest.raises(ValueError, match=r"audio_offsets.tsv:1: expected"):
    thv.read_audio_offsets(str(tmp_path))


class _Manual:  # what _split_generators reads of a download manager
  def __init__(self, folder):
    self.manual_dir = folder


def test_named_splits_from_splits_tsv(real_dir, tmp_path):
  """splits.tsv names each video's split; a speaker in two splits, an unlisted video or a
  listed one that is not there is an error naming the file."""
  for person, name in (("p_a", "talk_vr_5.mp4"), ("p_a", "talk_hdtf_aoc.mp4"),
                       ("p_b", "talk_lp_d20.mp4")):
    (tmp_path / person).mkdir(exist_ok=True)
    os.symlink(real_dir / name, tmp_path / person / name)
  builder = datasets.make_builder("talking_head_videos", str(tmp_path / "tfds"),
                                  {"resolution": "64", "speaker_pattern": "^p_"})
  splits = tmp_path / thv.SPLITS_FILE
  splits.write_text("p_a/talk_vr_5.mp4\tvalidation\np_a/talk_hdtf_aoc.mp4\tvalidation\n"
                    "p_b/talk_lp_d20.mp4\ttrain\n")
  assert set(builder._split_generators(_Manual(str(tmp_path)))) == {"train", "validation"}
  for text, message in (
      ("p_a/talk_vr_5.mp4\ttest\np_a/talk_hdtf_aoc.mp4\ttrain\np_b/talk_lp_d20.mp4\ttrain\n",
       r"speakers in two splits: \['p_a'\]"),
      ("p_a/talk_vr_5.mp4\ttest\np_b/talk_lp_d20.mp4\ttrain\n",
       r"gives no split for \['p_a/talk_hdtf_aoc.mp4'\]"),
      ("p_a/talk_vr_5.mp4\ttest\np_a/talk_hdtf_aoc.mp4\ttest\np_b/talk_lp_d20.mp4\ttrain\n"
       "p_c/gone.mp4\ttrain\n", r"splits.tsv names videos that are not in manual_dir")):
    splits.write_text(text)
    with pytest.raises(ValueError, match=message):
      builder._split_generators(_Manual(str(tmp_path)))


def test_the_real_clips_split_by_person(tmp_path):
  """data_prep/real_clips.py: every clip is there, no person in two splits, the test split
  has >= 4 people with a non-English speaker and a singer, validation >= 3 people; its
  manual_dir is one the builder accepts."""
  people = {}
  for clip in real_clips.CLIPS:
    people.setdefault(clip.person, set()).add(clip.split)
    assert clip.split in real_clips.SPLITS and clip.licence, clip
  assert all(len(s) == 1 for s in people.values()), people
  test = real_clips.of_split("test")
  assert len({c.person for c in test}) >= 4
  assert any("singing" in c.note for c in test)
  assert any(c.note in ("German", "French") or "Japanese" in c.note for c in test)
  assert len({c.person for c in real_clips.of_split("validation")}) >= 3
  assert len({c.path for c in real_clips.CLIPS}) == len(real_clips.CLIPS)
  folder = real_clips.make_manual_dir(str(SHARED_DATA), str(tmp_path / "videos"))
  builder = datasets.make_builder("talking_head_videos", str(tmp_path / "tfds"),
                                  overrides_lib.parse(real_clips.OVERRIDES))
  assert set(builder._split_generators(_Manual(folder))) == set(real_clips.SPLITS)
  assert thv.read_audio_offsets(folder) == {c.relative: c.audio_lead
                                            for c in real_clips.CLIPS if c.audio_lead}
