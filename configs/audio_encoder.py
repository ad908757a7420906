"""Audio encoder (APC) on log-mels: predict the mel frame `apc_shift` steps ahead.

  python -m stylehead_jax.train --config configs/audio_encoder.py --workdir /tmp/apc
  python -m stylehead_jax.train --config configs/audio_encoder.py:runlocal --workdir /tmp/apc
  python -m stylehead_jax.train --config configs/audio_encoder.py:runlocal \\
      --config.total_steps=50 --workdir /tmp/apc

Paper (via Live Speech Portraits): 3 unidirectional GRU layers of 512, lr 1e-4, batch 64,
trained on Common Voice (`speech_audio`); here on the synthetic world by default.
"""

import ml_collections

from configs import common


def get_config(arg=None):
  arg = common.parse_arg(arg, runlocal=False)
  config = ml_collections.ConfigDict()
  config.task = "audio_encoder"
  config.seed = 0

  config.data = ml_collections.ConfigDict()
  config.data.name = "synthetic_talking_heads"
  config.data.overrides = ""  # builder values, "key=value,key=value"
  config.data.data_dir = ""  # "" -> $TFDS_DATA_DIR or ~/tensorflow_datasets
  config.data.train_split = "train"
  config.data.eval_split = "test"
  config.data.window_frames = 64  # video frames per window (2x as many mel frames)
  config.data.shuffle_buffer = 1_000
  config.data.cache = True  # keep decoded examples in memory (log-mels are small)
  config.data.features = ("log_mel",)

  config.batch_size = 64
  config.eval_batch_size = 64
  config.total_steps = 100_000
  config.lr = 1e-4
  config.warmup_steps = 1_000
  config.grad_clip_norm = 1.0
  config.weight_decay = 0.0

  config.model = ml_collections.ConfigDict()
  config.model.num_layers = 3
  config.model.hidden = 512
  config.model.residual = True  # residual connections between GRU layers (as in APC)
  config.apc_shift = 3  # n: predict mel frame t + n (25 ms at 120 Hz)

  config.mesh = common.default_mesh()
  config.sharding_rules = common.default_sharding_rules()

  config.log_every_steps = 100
  config.eval_every_steps = 2_000
  config.checkpoint_every_steps = 1_000
  config.keep_checkpoints = 3
  config.init_from = ""  # a workdir whose latest params start this run (if none here)
  config.progress = True  # tqdm bar

  if arg.runlocal:
    config.batch_size = 8
    config.eval_batch_size = 8
    config.total_steps = 600
    config.warmup_steps = 20
    config.lr = 2e-3
    config.model.num_layers = 2
    config.model.hidden = 128
    config.data.shuffle_buffer = 64
    config.log_every_steps = 20
    config.eval_every_steps = 200
    config.checkpoint_every_steps = 200
  return config
