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

`:real` is the Motion Generator that animates real speech (docs/motion.md, "Real clips"),
at :runlocal sizes: it trains on the real clips' train split (data_prep/real_clips.py)
mixed with the synthetic world (a quarter of the windows real; 4,000 steps, 1.5-3.5 min;
the mouth opening's timing as a fourth loss term, docs/motion.md), on
plain log-mels (an APC trained on the synthetic world's voices transfers worse to real
speech), is evaluated on their test split and calibrated (head sampling, mouth gain) on
their validation split:

  python -m data_prep.real_clips --data_dir DIR
  python -m stylehead_jax.train --config configs/motion_generator.py:real \
      --config.data.data_dir=DIR --workdir runs/mg_real
  python eval/calibrate_pose.py --config configs/motion_generator.py:real \
      --config.data.data_dir=DIR --workdir runs/mg_real --mouth --write
  python eval/real_mouth.py --config configs/motion_generator.py:real \
      --config.data.data_dir=DIR --workdir runs/mg_real      # the test split's figures

(`make motion-real` runs all four.) `:real,shipped` is the one that ships (pretrained/,
`make pretrained`): the same, on the clips whose licence lets its weights ship.
"""

import ml_collections

from configs import common
from data_prep import real_clips
from stylehead_jax import media
from stylehead_jax import motion


def get_config(arg=None):
  arg = common.parse_arg(arg, runlocal=False, real=False, shipped=False)
  config = common.run_loop("motion_generator")

  config.data = common.data(
      "synthetic_talking_heads", motion.FEATURES, window_frames=240,  # 4 s
      overrides=f"resolution={media.CROP_SIZE},num_train_speakers=64,utterances_per_style=8")
  config.data.exclude_clips = ()  # clip ids kept out of training (leave-one-out)
  # Clips for choosing generation settings (eval/calibrate_pose.py), never the eval split:
  # the synthetic world's validation speakers; on data without a validation split, train
  # clips kept out of training (exclude_clips). () : all of the split.
  config.data.validation_split = "validation"
  config.data.validation_clip_ids = ()
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
  # Head-motion sampling, chosen on validation clips (README, "Head motion"): sigma scale
  # of the samples, time constant of their noise (0: white; it starts at 0 on the source
  # frame), and the zero-phase Gaussian smoothing of the sampled poses (0: none).
  config.pose_temperature = 1.0
  config.pose_noise_seconds = 0.5
  config.pose_smoothing_seconds = 0.1
  # Factors on the two above per head axis (yaw, pitch, roll, x, y): each axis' amplitude
  # and speed like the truth's, as eval/calibrate_pose.py fits them (motion.sampling).
  config.pose_axis_temperature = (1.0, 1.0, 1.0, 1.0, 1.0)
  config.pose_axis_smoothing = (1.0, 1.0, 1.0, 1.0, 1.0)
  # Correlation of the noise on those axes (5 x 5, row-major), as the truth's frame-to-frame
  # changes correlate (yaw with x, pitch with y); calibrate_pose measures it. Identity: none.
  config.pose_axis_correlation = tuple(float(i == j) for i in range(5) for j in range(5))
  # The mouth's change from the source face, times this (motion.py; calibrate_pose --mouth).
  config.mouth_gain = 1.0

  config.loss = ml_collections.ConfigDict()
  config.loss.mouth_weight = 5.0
  config.loss.velocity_weight = 1.0
  config.loss.pose_weight = 0.1
  config.loss.pose_input_noise = 1.0  # on the teacher-forced previous pose (pose units)
  # The mouth opening's timing (1 - r per window, tasks/motion_generator.py); 0: none.
  config.loss.opening_r_weight = 0.0

  config.manifold = ml_collections.ConfigDict()
  config.manifold.weight = 0.0  # p; 0 leaves features as they are
  config.manifold.num_neighbours = 10
  config.manifold.bank_frames = 100_000  # evaluation bank: features of training clips
  config.manifold.bank_clips = 1_000

  config.batch_size = 64
  config.eval_batch_size = 64
  config.total_steps = 50_000
  config.optimizer = common.optimizer("adamw", 1e-4, grad_clip_norm=1.0,
                                      schedule="warmup_constant", warmup_steps=1_000)

  # phi_mg of whole eval clips against no motion and shuffled audio (evaluators/motion.py);
  # split "" is config.data.eval_split, clip_ids () all of its clips.
  config.evals.motion = common.evaluator("motion", every_steps=5_000, max_clips=64,
                                         chunk_frames=240, seed=0, num_image_frames=4,
                                         split="", clip_ids=(), truth_smoothing=0.0)

  if arg.runlocal or arg.real:
    config.data.overrides = ""
    config.data.window_frames = 64
    config.data.shuffle_buffer = 64
    common.cpu_scale(config, total_steps=1_000, lr=2e-3)
    config.model.hidden = 128
    config.model.num_layers = 2
    config.model.identity_features = 64
    config.model.pose_hidden = 64
    config.evals.motion.chunk_frames = 120
    config.evals.motion.every_steps = 500
    config.log_every_steps = 50
    config.checkpoint_every_steps = 250
  if arg.real:
    synthetic = config.data
    config.data = common.data(
        "talking_head_videos", motion.FEATURES, overrides=real_clips.OVERRIDES,
        window_frames=synthetic.window_frames, shuffle_buffer=synthetic.shuffle_buffer)
    config.data.exclude_clips = ()
    config.data.validation_split = "validation"
    config.data.validation_clip_ids = ()
    # Chosen on the validation split (docs/motion.md, "Real clips"): 3/4 of the windows
    # from the synthetic world (1/4 or 1/2: lower mouth r), 4,000 steps (8,000 overfit
    # the 15 clips; a wider model or 4 s windows did no better).
    config.data.mix = ml_collections.ConfigDict(dict(
        name=synthetic.name, overrides=synthetic.overrides, train_split="train",
        weight=0.75))
    config.total_steps = 4_000
    # On the validation split (docs/motion.md), mouth r over 4 training seeds each (the
    # model's own head sampling): 0.335 without the opening's r term, 0.381 at weight 1,
    # 0.428 at 3, 0.396 at 10; fitted as make motion-real does, 0.336 at 0, 0.430 at 3.
    config.loss.opening_r_weight = 3.0
    config.evals.motion.every_steps = 1_000
    config.data.mix.data_dir = config.data.get_ref("data_dir")  # beside the real clips
    config.audio.source = "log_mel"
    config.evals.motion.max_clips = len(real_clips.of_split("test"))
    # Tracked heads jitter (tracking noise): compare them smoothed as the samples are.
    config.evals.motion.truth_smoothing = config.pose_smoothing_seconds
  if arg.shipped:
    if not arg.real:
      raise ValueError("shipped: only with real (configs/motion_generator.py:real,shipped)")
    # The model that ships (pretrained/, `make pretrained`): trained and calibrated only on
    # clips whose licence lets its weights ship (data_prep/real_clips.shippable: 3 people
    # to train on, 2 to fit the head sampling and mouth gain); figures on the whole test
    # split, as :real's. Half the windows real (on the validation split: mouth r 0.43,
    # against 0.34 with a quarter and 0.20 with three quarters; docs/pretrained.md).
    config.data.exclude_clips = real_clips.unshippable_ids("train")
    config.data.validation_clip_ids = real_clips.shippable_ids("validation")
    config.data.mix.weight = 0.5
    # The shipped model was trained before the opening's r term; `make pretrained` makes
    # that model again.
    config.loss.opening_r_weight = 0.0
  return config
