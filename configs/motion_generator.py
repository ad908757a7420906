"""Motion Generator: audio features (frozen APC) + neutral face -> phi_mg.

  python -m stylehead_jax.train --config configs/audio_encoder.py:runlocal --workdir /tmp/apc
  python -m stylehead_jax.train --config configs/motion_generator.py:runlocal \\
      --config.audio.encoder_workdir=/tmp/apc --workdir /tmp/mg
  python -m stylehead_jax.evaluate --config configs/motion_generator.py:runlocal \\
      --config.audio.encoder_workdir=/tmp/apc --workdir /tmp/mg --json /tmp/mg/eval.json

The default is the accelerator scale (paper: lr 1e-4, batch 64; LSP: 3 LSTM layers of
256 over two merged APC frames per video frame) on a 512 x 512 synthetic world; point
config.data (or config.data.mix, next to the synthetic world) at `talking_head_videos` for
real footage; eval/motion_real_speech.py does that leaving one clip out at a time.
`:runlocal` fits 2 CPU cores.
"""

import ml_collections

from configs import common


def get_config(arg=None):
  arg = common.parse_arg(arg, runlocal=False)
  config = ml_collections.ConfigDict()
  config.task = "motion_generator"
  config.seed = 0

  config.data = ml_collections.ConfigDict()
  config.data.name = "synthetic_talking_heads"
  config.data.overrides = "resolution=512,num_train_speakers=64,utterances_per_style=8"
  config.data.data_dir = ""
  config.data.train_split = "train"
  config.data.eval_split = "test"
  config.data.window_frames = 240  # 4 s
  config.data.shuffle_buffer = 1_000
  config.data.cache = True
  config.data.features = ("log_mel", "landmarks", "head_pose", "torso", "valid")
  config.data.exclude_clips = ()  # clip ids kept out of training (leave-one-out)
  # A second training source (say real footage: talking_head_videos), mixed in seeded.
  config.data.mix = ml_collections.ConfigDict()
  config.data.mix.name = ""  # "" : none
  config.data.mix.overrides = ""
  config.data.mix.data_dir = ""
  config.data.mix.train_split = "train"
  config.data.mix.weight = 0.0  # fraction of training windows drawn from it

  config.audio = ml_collections.ConfigDict()
  config.audio.source = "apc"  # "apc": a trained audio_encoder run; "log_mel": none
  config.audio.encoder_workdir = ""  # the audio_encoder workdir (its latest checkpoint)

  config.model = ml_collections.ConfigDict()
  config.model.hidden = 256
  config.model.num_layers = 3
  config.model.identity_features = 128
  config.model.pose_hidden = 128
  config.lookahead_frames = 6  # 100 ms of audio after each frame
  config.pose_temperature = 0.5  # sigma scale of the head-motion samples (LSP samples low)
  config.pose_noise_seconds = 0.5  # time constant of the samples' noise (0: white)

  config.loss = ml_collections.ConfigDict()
  config.loss.mouth_weight = 5.0
  config.loss.velocity_weight = 1.0
  config.loss.pose_weight = 0.1
  config.loss.pose_input_noise = 1.0  # on the teacher-forced previous pose (pose units)

  config.manifold = ml_collections.ConfigDict()
  config.manifold.weight = 0.0  # p; 0 leaves features as they are
  config.manifold.num_neighbours = 10
  config.manifold.bank_frames = 100_000  # evaluation bank: features of training clips
  config.manifold.bank_clips = 1_000

  config.batch_size = 64
  config.eval_batch_size = 64
  config.total_steps = 50_000
  config.lr = 1e-4
  config.warmup_steps = 1_000
  config.grad_clip_norm = 1.0
  config.weight_decay = 0.0

  config.eval = ml_collections.ConfigDict()
  config.eval.max_clips = 64
  config.eval.chunk_frames = 240
  config.eval.seed = 0
  config.eval.num_image_frames = 4

  config.mesh = common.default_mesh()
  config.sharding_rules = common.default_sharding_rules()

  config.log_every_steps = 100
  config.eval_every_steps = 5_000
  config.checkpoint_every_steps = 1_000
  config.keep_checkpoints = 3
  config.init_from = ""
  config.progress = True

  if arg.runlocal:
    config.data.overrides = ""
    config.data.window_frames = 64
    config.data.shuffle_buffer = 64
    config.batch_size = 8
    config.eval_batch_size = 8
    config.total_steps = 1_000
    config.warmup_steps = 20
    config.lr = 2e-3
    config.model.hidden = 128
    config.model.num_layers = 2
    config.model.identity_features = 64
    config.model.pose_hidden = 64
    config.eval.chunk_frames = 120
    config.log_every_steps = 50
    config.eval_every_steps = 500
    config.checkpoint_every_steps = 250
  return config
