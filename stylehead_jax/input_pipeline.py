"""TFDS -> aligned windows -> per-host batches (-> global arrays in train.py).

A window is `window_frames` consecutive video frames with everything aligned to them:
per-frame features (landmarks, head pose, ...) are cut at [s, s + T), log-mels at
[2s, 2s + 2T) and audio at [400 s, 400 (s + T)) (media.MELS_PER_FRAME and
media.SAMPLES_PER_FRAME say how many per frame). Clips shorter than one window are
dropped (counted in the log).

Training order (big_vision style): shard by host -> drop `config.data.exclude_clips` ->
[cache] -> repeat -> shuffle (seeded) -> random window (stateless, seeded by the
element's position in the stream) -> [mix with a second source] -> batch -> skip the
batches already trained on -> prefetch. With `config.data.mix.name` set, a fraction
`config.data.mix.weight` of the windows (seeded draw) comes from that second builder
(say real footage next to the synthetic world); both must have the features asked for. The stream is a pure function of
(config.seed, step), so a resumed run sees exactly the batches an uninterrupted one would.
Image datasets (config.data.window_frames = 0) skip the windowing: examples go whole.
Image stages train on frame pairs instead (`train_pairs`): two frames of one clip, or at
the rate `config.data.cross_clip_rate` the second from another clip of the same speaker,
every per-frame feature taken at each frame; the same purity in (config.seed, step).
The Style-Aware Generator trains on frames (`train_frames`): a target frame and a source
frame of one clip, the clip's four template frames (found once per clip, before the
cache) and the target's facial map.
Evaluation cuts every clip into consecutive windows, pads the last batch and marks real
windows with mask = 1. With several hosts each reads its own shard of the eval split,
and every host must get the same number of eval batches; nothing equalises them yet
(the tests cover one host with many devices).
"""

from __future__ import annotations

from typing import Iterator

from stylehead_jax import console

console.import_tensorflow()  # its C++ start-up lines go to the log, not the terminal
# pylint: disable=g-import-not-at-top,wrong-import-position
import jax
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from stylehead_jax import datasets
from stylehead_jax import media
from stylehead_jax.landmarks import facial_map
from stylehead_jax.style import templates

# Samples per video frame of each time-indexed feature; features not listed are per clip.
TIME_RATES = {
    "frames": 1, "region_maps": 1, "landmarks": 1, "head_pose": 1, "torso": 1,
    "visemes": 1, "valid": 1,
    "log_mel": media.MELS_PER_FRAME, "audio": media.SAMPLES_PER_FRAME,
}
_VIDEO_FEATURES = ("frames", "region_maps")

tf.config.set_visible_devices([], "GPU")  # tf.data only; accelerators belong to JAX


def _load(builder, split: str, features, *, shard: bool, exclude_clips=(),
          clip_ids=()) -> tf.data.Dataset:
  missing = set(features) - set(builder.info.features.keys())
  if missing:
    raise KeyError(f"{builder.name} has no features {sorted(missing)}")
  # Undecoded videos are cheap to carry and drop; decode only what is asked for.
  decoders = {k: tfds.decode.SkipDecoding() for k in _VIDEO_FEATURES
              if k in builder.info.features and k not in features}
  read_config = tfds.ReadConfig(shuffle_seed=0, interleave_cycle_length=1)
  ds = builder.as_dataset(split=split, shuffle_files=False, decoders=decoders,
                          read_config=read_config)
  if shard and jax.process_count() > 1:
    ds = ds.shard(jax.process_count(), jax.process_index())
  if exclude_clips:
    excluded = tf.constant(list(exclude_clips))
    ds = ds.filter(lambda ex: tf.logical_not(tf.reduce_any(tf.equal(ex["clip_id"], excluded))))
  if clip_ids:
    kept = tf.constant(list(clip_ids))
    ds = ds.filter(lambda ex: tf.reduce_any(tf.equal(ex["clip_id"], kept)))
  return ds.map(lambda ex: {k: ex[k] for k in features})


def _num_frames(example) -> tf.Tensor:
  key = next(k for k in example if k in TIME_RATES)
  length = tf.shape(tf.nest.flatten(example[key])[0])[0]
  return length // TIME_RATES[key]


def _cut(example, start, window_frames):
  """The window of `window_frames` frames starting at frame `start`."""
  def cut(key, value):
    rate = TIME_RATES.get(key)
    if rate is None:
      return value
    return tf.nest.map_structure(lambda v: v[start * rate:(start + window_frames) * rate], value)
  return {k: cut(k, v) for k, v in example.items()}


def _set_shapes(example, window_frames):
  def fix(key, value):
    rate = TIME_RATES.get(key)
    if rate is None:
      return value
    return tf.nest.map_structure(
        lambda v: tf.ensure_shape(v, [window_frames * rate] + v.shape[1:].as_list()), value)
  return {k: fix(k, v) for k, v in example.items()}


def _train_windows(builder, split, config) -> tf.data.Dataset:
  """Endless random windows of `split`'s clips (those not excluded), seeded; whole
  examples where config.data.window_frames is 0 (images)."""
  window = config.data.window_frames
  ds = _load(builder, split, config.data.features, shard=True,
             exclude_clips=tuple(config.data.get("exclude_clips", ())))
  if window:
    ds = ds.filter(lambda ex: _num_frames(ex) >= window)
  if config.data.cache:
    ds = ds.cache()
  ds = ds.repeat()
  ds = ds.shuffle(config.data.shuffle_buffer, seed=config.seed)
  if not window:
    return ds

  def random_window(index, example):
    seed = tf.stack([tf.cast(config.seed, tf.int64), index])
    limit = _num_frames(example) - window + 1
    start = tf.random.stateless_uniform([], seed, 0, limit, dtype=tf.int32)
    return _set_shapes(_cut(example, start, window), window)

  return ds.enumerate().map(random_window, num_parallel_calls=tf.data.AUTOTUNE)


def train_batches(builder, config, *, start_step: int = 0) -> Iterator[dict[str, np.ndarray]]:
  """Endless host-local training batches of the features in `config.data.features`."""
  host_batch = config.batch_size // jax.process_count()
  ds = _train_windows(builder, config.data.train_split, config)
  mix = config.data.get("mix")
  if mix is not None and mix.name and mix.weight > 0:
    other = _train_windows(datasets.get_builder(mix), mix.train_split, config)
    ds = tf.data.Dataset.sample_from_datasets(
        [ds, other], weights=[1.0 - mix.weight, mix.weight], seed=config.seed)
  ds = ds.batch(host_batch, drop_remainder=True).skip(start_step)
  options = tf.data.Options()
  options.deterministic = True
  ds = ds.with_options(options).prefetch(2)
  return iter(tfds.as_numpy(ds))


PAIR_PARTS = ("source", "driving")


def _frame(example, index):
  """Frame `index` of every per-frame feature (rate 1) of a clip; per-clip ones kept."""
  return {k: tf.nest.map_structure(lambda v: v[index], v) if TIME_RATES.get(k) == 1 else v
          for k, v in example.items() if TIME_RATES.get(k, 1) == 1}


def _train_pairs(builder, split, config) -> tf.data.Dataset:
  """Endless {"source": frame, "driving": frame} pairs of `split`, seeded (module doc)."""
  features = tuple(config.data.features) + (
      ("speaker_id",) if config.data.cross_clip_rate > 0 else ())
  ds = _load(builder, split, sorted(set(features)), shard=True,
             exclude_clips=tuple(config.data.get("exclude_clips", ())))
  ds = ds.filter(lambda ex: _num_frames(ex) >= 2)
  if config.data.cache:
    ds = ds.cache()
  ds = ds.repeat().shuffle(config.data.shuffle_buffer, seed=config.seed)

  def random_pair(index, example):
    seed = tf.stack([tf.cast(config.seed, tf.int64), index])
    i, j = tf.unstack(tf.random.stateless_uniform([2], seed, 0, _num_frames(example),
                                                  dtype=tf.int32))
    return {"source": _frame(example, i), "driving": _frame(example, j)}

  ds = ds.enumerate().map(random_pair, num_parallel_calls=tf.data.AUTOTUNE)
  if config.data.cross_clip_rate <= 0:
    return ds

  # Consecutive pairs of one speaker, two at a time: the second's driving frame replaces
  # the first's at the cross-clip rate (another clip of that speaker where it has more).
  rate = config.data.cross_clip_rate
  ds = ds.group_by_window(
      key_func=lambda p: tf.strings.to_hash_bucket_fast(p["source"]["speaker_id"], 1 << 62),
      reduce_func=lambda _, w: w.batch(2, drop_remainder=True), window_size=2)

  def choose(index, two):
    seed = tf.stack([tf.cast(config.seed, tf.int64) + 1, index])
    cross = tf.random.stateless_uniform([], seed) < rate
    pick = lambda v: tf.where(cross, v[1], v[0])
    return {"source": tf.nest.map_structure(lambda v: v[0], two["source"]),
            "driving": tf.nest.map_structure(pick, two["driving"])}

  return ds.enumerate().map(choose, num_parallel_calls=tf.data.AUTOTUNE)


def train_pairs(builder, config, *, start_step: int = 0) -> Iterator[dict]:
  """Endless host-local batches of frame pairs {"source": {...}, "driving": {...}} of
  the features in `config.data.features` (a Stage.train_batches for image stages)."""
  host_batch = config.batch_size // jax.process_count()
  ds = _train_pairs(builder, config.data.train_split, config)
  ds = ds.map(lambda p: {part: {k: v for k, v in p[part].items() if k != "speaker_id"}
                         for part in PAIR_PARTS})
  ds = ds.batch(host_batch, drop_remainder=True).skip(start_step)
  options = tf.data.Options()
  options.deterministic = True
  ds = ds.with_options(options).prefetch(2)
  return iter(tfds.as_numpy(ds))


def _with_templates(example):
  """A clip with "template_indices" (4,): style/templates.retrieve of its landmarks."""
  def indices(track):
    return templates.retrieve(track).indices.astype(np.int32)
  found = tf.numpy_function(indices, [example["landmarks"]], tf.int32, stateful=False)
  return dict(example, template_indices=tf.ensure_shape(found, [len(templates.TEMPLATES)]))


def _train_frames(builder, split, config) -> tf.data.Dataset:
  """Endless {"target", "source", "templates", "facial_map"} examples of `split`."""
  ds = _load(builder, split, sorted(set(config.data.features) | {"landmarks"}), shard=True,
             exclude_clips=tuple(config.data.get("exclude_clips", ())))
  ds = ds.filter(lambda ex: _num_frames(ex) >= len(templates.TEMPLATES))
  ds = ds.map(_with_templates, num_parallel_calls=tf.data.AUTOTUNE)
  if config.data.cache:
    ds = ds.cache()
  ds = ds.repeat().shuffle(config.data.shuffle_buffer, seed=config.seed)
  size = config.image_size

  def render_map(landmarks, resolution):
    return facial_map.render_facial_map(landmarks, size, int(resolution))

  def random_frames(index, example):
    seed = tf.stack([tf.cast(config.seed, tf.int64), index])
    i, j = tf.unstack(tf.random.stateless_uniform([2], seed, 0, _num_frames(example),
                                                  dtype=tf.int32))
    target = {k: v for k, v in _frame(example, i).items() if k != "template_indices"}
    resolution = tf.shape(example["frames"])[1]
    rendered = tf.numpy_function(render_map, [target["landmarks"], resolution], tf.uint8,
                                 stateful=False)
    picked = example["template_indices"]
    return {"target": target,
            "source": {k: example[k][j] for k in ("frames", "landmarks")},
            "templates": {k: tf.gather(example[k], picked) for k in ("frames", "landmarks")},
            "facial_map": tf.ensure_shape(rendered, [size, size, 3])}

  return ds.enumerate().map(random_frames, num_parallel_calls=tf.data.AUTOTUNE)


def train_frames(builder, config, *, start_step: int = 0) -> Iterator[dict]:
  """Endless host-local batches of `_train_frames` examples (a Stage.train_batches)."""
  host_batch = config.batch_size // jax.process_count()
  ds = _train_frames(builder, config.data.train_split, config)
  ds = ds.batch(host_batch, drop_remainder=True).skip(start_step)
  options = tf.data.Options()
  options.deterministic = True
  ds = ds.with_options(options).prefetch(2)
  return iter(tfds.as_numpy(ds))


def eval_batches(builder, config) -> Iterator[dict[str, np.ndarray]]:
  """Every consecutive window of the eval split once (every example, where
  config.data.window_frames is 0), in full padded batches."""
  window = config.data.window_frames
  host_batch = config.eval_batch_size // jax.process_count()
  ds = _load(builder, config.data.eval_split, config.data.features, shard=True)

  def windows(example):
    starts = tf.range(0, _num_frames(example) - window + 1, window)
    return tf.data.Dataset.from_tensor_slices(starts).map(
        lambda s: _set_shapes(_cut(example, s, window), window))

  if window:
    ds = ds.flat_map(windows)
  ds = ds.batch(host_batch)
  for batch in tfds.as_numpy(ds):
    n = len(next(iter(jax.tree.leaves(batch))))
    pad = host_batch - n
    batch = jax.tree.map(lambda x: np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)]),
                         batch)
    batch["mask"] = (np.arange(host_batch) < n).astype(np.float32)
    yield batch


def cut_clip(clip: dict, start: int, stop: int) -> dict:
  """Frames [start, stop) of a whole numpy clip, every time-indexed feature cut at its
  own rate (TIME_RATES); per-clip features are kept."""
  def cut(key, value):
    rate = TIME_RATES.get(key)
    return value if rate is None else jax.tree.map(lambda v: v[start * rate:stop * rate], value)
  return {k: cut(k, v) for k, v in clip.items()}


def num_frames(clip: dict) -> int:
  """Video frames of a whole numpy clip."""
  key = next(k for k in clip if k in TIME_RATES)
  return len(jax.tree.leaves(clip[key])[0]) // TIME_RATES[key]


def clips(builder, split: str, features, *, limit: int | None = None, clip_ids=()):
  """Whole clips of `split` (only `clip_ids` where given) as numpy dicts, in the split's
  stored order (evaluators that run a model over a clip end to end)."""
  ds = _load(builder, split, features, shard=False, clip_ids=clip_ids)
  if limit:
    ds = ds.take(limit)
  return tfds.as_numpy(ds)
