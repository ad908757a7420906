"""Training streams: clips left out, a second source mixed in, both seeded."""

import itertools

import numpy as np

from configs import motion_generator as motion_config
from stylehead_jax import datasets
from stylehead_jax import input_pipeline


def _config(data_dir):
  config = motion_config.get_config("runlocal")
  config.data.data_dir = data_dir
  config.data.features = ("log_mel", "clip_id")
  return config


def _clip_ids(builder, split):
  return [c["clip_id"].decode() for c in input_pipeline.clips(builder, split, ("clip_id",))]


def _trained_ids(builder, config, batches):
  stream = input_pipeline.train_batches(builder, config)
  return [i.decode() for b in itertools.islice(stream, batches) for i in b["clip_id"]]


def test_excluded_clips_never_train(synthetic_data_dir):
  config = _config(synthetic_data_dir)
  builder = datasets.get_builder(config.data)
  ids = _clip_ids(builder, "train")
  config.data.exclude_clips = tuple(ids[2:])
  assert set(_trained_ids(builder, config, 10)) == set(ids[:2])
  # ... and are what a validation evaluation reads (evals.motion.clip_ids).
  kept = input_pipeline.clips(builder, "train", ("clip_id",), clip_ids=tuple(ids[2:5]))
  assert [c["clip_id"].decode() for c in kept] == ids[2:5]


def test_mix_draws_its_share_from_the_second_source(synthetic_data_dir):
  config = _config(synthetic_data_dir)
  builder = datasets.get_builder(config.data)
  config.data.mix.name = config.data.name
  config.data.mix.data_dir = synthetic_data_dir
  config.data.mix.train_split = "test"
  config.data.mix.weight = 0.25
  test_ids = set(_clip_ids(builder, "test"))
  assert not test_ids & set(_clip_ids(builder, "train"))
  trained = _trained_ids(builder, config, 40)  # 320 windows
  share = np.mean([i in test_ids for i in trained])
  assert 0.15 < share < 0.35, share
  assert trained == _trained_ids(builder, config, 40)  # seeded: the same stream again
