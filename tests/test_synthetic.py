"""The synthetic world keeps its meaning: audio drives the mouth, styles move as stated."""

import hashlib
import pathlib

import numpy as np
import pytest

from data_prep.synthetic_talking_heads import world
from stylehead_jax import datasets
from stylehead_jax import media
from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.landmarks import pose
from stylehead_jax.landmarks import regions

CFG = world.WorldConfig()


def _utterances(config=CFG, style="talk", n=4, split="train"):
  for i in range(n):
    speaker = world.make_speaker(config, split, i)
    yield speaker, world.make_utterance(config, speaker, style, split, 0)


def _frame_energy(audio):
  frames = len(audio) // media.SAMPLES_PER_FRAME
  chunks = audio[:frames * media.SAMPLES_PER_FRAME].reshape(frames, -1)
  return np.sqrt((chunks**2).mean(1))


def _syllable_rate(audio):
  """Voiced onsets per second: upward crossings of 25% of the peak frame energy."""
  energy = _frame_energy(audio)
  voiced = energy > 0.25 * energy.max()
  onsets = np.count_nonzero(voiced[1:] & ~voiced[:-1]) + int(voiced[0])
  return onsets / (len(energy) / media.FPS)


@pytest.mark.parametrize("style", world.STYLES)
def test_mouth_opening_follows_audio_energy(style):
  for _, utt in _utterances(style=style):
    opening = lmk.mouth_opening(utt.landmarks)  # measured from landmarks, in pixels
    r = np.corrcoef(opening, _frame_energy(utt.audio))[0, 1]
    assert r > 0.5, (style, r)


def test_closed_lip_visemes_close_the_mouth():
  by_viseme = {v: [] for v in world.VISEMES}
  for style in world.STYLES:
    for _, utt in _utterances(style=style):
      opening = lmk.mouth_opening(utt.landmarks) / lmk.interocular(utt.landmarks)
      for v, o in zip(utt.visemes, opening):
        by_viseme[world.VISEMES[v]].append(o)
  closed = np.mean(by_viseme["closed"])
  for vowel in "aeo":
    assert closed < 0.5 * np.mean(by_viseme[vowel]), vowel
  assert np.mean(by_viseme["a"]) > np.mean(by_viseme["i"])


def test_audio_of_closures_is_quieter_than_open_vowels():
  quiet, loud = [], []
  for _, utt in _utterances(style="talk", n=6):
    energy = _frame_energy(utt.audio)
    quiet += list(energy[utt.visemes == world.CLOSED])
    loud += list(energy[utt.visemes == world.VISEMES.index("a")])
  assert np.median(quiet) < 0.5 * np.median(loud)


def _head_amplitude(utt):
  return pose.angles_from_rotation(utt.rotation)[:, 0].std()  # yaw, degrees


def test_style_values_move_measurements_in_their_direction():
  low = CFG.replace(**{"talk.sway_amplitude": 1.0, "talk.syllable_rate": 2.5})
  high = CFG.replace(**{"talk.sway_amplitude": 5.0, "talk.syllable_rate": 6.0})
  for (_, a), (_, b) in zip(_utterances(low), _utterances(high)):
    assert _head_amplitude(b) > 2 * _head_amplitude(a)
    assert _syllable_rate(b.audio) > 1.5 * _syllable_rate(a.audio)


def test_style_presets_differ_as_described():
  rate = {s: np.mean([_syllable_rate(u.audio) for _, u in _utterances(style=s)])
          for s in world.STYLES}
  assert rate["rap"] > rate["talk"] > rate["ballad"] > rate["opera"] * 0.9
  nods = {s: np.mean([pose.angles_from_rotation(u.rotation)[:, 1].std()
                      for _, u in _utterances(style=s)]) for s in ("talk", "rap")}
  assert nods["rap"] > 2 * nods["talk"]
  mouth = {s: np.mean([u.mouth_opening.max() for _, u in _utterances(style=s)])
           for s in ("talk", "opera")}
  assert mouth["opera"] > 1.2 * mouth["talk"]


def test_splits_draw_different_speakers():
  train = world.make_speaker(CFG, "train", 0)
  test = world.make_speaker(CFG, "test", 0)
  assert train.f0 != test.f0 and not np.allclose(train.face, test.face)


def test_built_dataset_is_aligned(synthetic_data_dir):
  builder = datasets.make_builder("synthetic_talking_heads", synthetic_data_dir)
  info = builder.info
  assert info.splits["train"].num_examples == 8 * 4 * 2
  assert info.splits["test"].num_examples == 4 * 4 * 1
  assert info.splits["validation"].num_examples == 8 * 4 * 1
  speakers = {split: {ex["speaker_id"] for ex in builder.as_dataset(split=split).map(
      lambda e: {"speaker_id": e["speaker_id"]}).as_numpy_iterator()} for split in info.splits}
  assert len(speakers["validation"]) == 8 and not speakers["validation"] & (
      speakers["train"] | speakers["test"])
  ex = next(iter(builder.as_dataset(split="test").take(1).as_numpy_iterator()))
  t = len(ex["frames"])
  assert ex["frames"].shape == (t, 64, 64, 3) and ex["region_maps"].shape == (t, 64, 64, 1)
  assert ex["landmarks"].shape == (t, 68, 3) and ex["visemes"].shape == (t,)
  assert ex["head_pose"]["rotation"].shape == (t, 3, 3) and ex["torso"].shape == (t, 3, 2)
  assert ex["log_mel"].shape == (2 * t, media.N_MELS)
  assert ex["audio"].shape == (t * media.SAMPLES_PER_FRAME,)
  np.testing.assert_allclose(ex["log_mel"], media.log_mel(ex["audio"]), atol=1e-5)
  np.testing.assert_array_equal(ex["region_maps"][5, ..., 0],
                                regions.region_map(ex["landmarks"][5], 64))
  # The rendered mouth interior sits where the landmarks put the mouth.
  mouth = ex["region_maps"][..., 0] == regions.MOUTH
  assert ex["frames"][mouth].mean() < ex["frames"][~mouth].mean()
  assert ex["speaker_id"].decode().startswith("synth-test-")
  assert set(ex["style_params"]) == set(world.STYLE_PARAM_NAMES)


def _tfrecord_digests(data_dir) -> dict[str, str]:
  files = sorted(pathlib.Path(data_dir).rglob("*.tfrecord*"))
  assert files
  return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


@pytest.mark.slow
def test_same_seed_rebuilds_byte_identical(tmp_path):
  small = {"num_train_speakers": "1", "num_test_speakers": "1", "styles": "talk+rap",
           "utterances_per_style": "1"}
  digests = []
  for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
    builder = datasets.make_builder("synthetic_talking_heads", str(tmp_path / name),
                                 dict(small, seed=seed))
    builder.download_and_prepare()
    digests.append(_tfrecord_digests(tmp_path / name))
  assert digests[0] == digests[1]
  assert digests[0] != digests[2]


def test_unknown_build_value_fails_clearly():
  with pytest.raises(KeyError, match="unknown world value 'resolutoin'"):
    datasets.make_builder("synthetic_talking_heads", None, {"resolutoin": "64"})
  with pytest.raises(KeyError, match="unknown style value 'rap.tempo'"):
    datasets.make_builder("synthetic_talking_heads", None, {"rap.tempo": "3"})
