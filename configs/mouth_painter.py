"""Mouth Painter: the warp renderer's mouth drawn again at the frame's resolution.

  python -m data_prep.real_clips --data_dir D
  python -m stylehead_jax.train --config configs/mouth_painter.py \\
      --config.data.data_dir=D --workdir runs/mouth_painter
  python -m stylehead_jax.evaluate --config configs/mouth_painter.py \\
      --config.data.data_dir=D --workdir runs/mouth_painter --json runs/mouth_painter/eval.json

The default trains on the real clips' train split (data_prep/real_clips.py) at their
256 px: crops of 96 px around the mouth (no resampling), batch 8, VGG16 features and
a PatchGAN on the crop (tasks/mouth_painter.py); about 1.2 s a step on 2 cores, 2000
steps in 40 minutes. Evaluation (evaluators/mouth_frames.py) redraws the test split's
clips from their first frames by their own landmarks: the painter over the warp against
the plain warp, the warp with its drawn interior (render/mouth_interior.py) and the
truth; `evaluate` runs it (training does not: it takes 6-8 minutes).

Arguments (comma-separated after the colon): runlocal (the synthetic world at 64 px,
crops of 32 px, a narrow network: what the tests train), shipped (only the clips whose
licence lets weights ship: data_prep/real_clips.shippable).
"""

import ml_collections

from configs import common
from data_prep import real_clips


def get_config(arg=None):
  arg = common.parse_arg(arg, runlocal=False, shipped=False)
  config = common.run_loop("mouth_painter")
  config.data = common.data("talking_head_videos", ("frames", "landmarks"),
                            overrides=real_clips.OVERRIDES, window_frames=0,
                            shuffle_buffer=32, cache=True)
  config.data.cross_clip_rate = 0.0
  config.data.exclude_clips = ()

  config.crop_size = 96  # px of the training frames (render/mouth_painter.py)
  config.model = ml_collections.ConfigDict(dict(stem=24, widths=(24, 48, 96),
                                                prior_logits=(0.0, 2.0)))
  config.loss = ml_collections.ConfigDict(dict(
      l1_weight=1.0, perceptual_weight=1.0, perceptual_scales=1, perceptual_blocks=3,
      gan="least_squares", gan_weight=0.1, feature_matching_weight=1.0))
  config.discriminator = common.discriminator(lr=2e-4)
  config.discriminator.widths = (16, 32, 64)

  config.batch_size = config.eval_batch_size = 8
  config.total_steps = 2_000
  config.optimizer = common.optimizer("adam", 2e-4, b1=0.5, b2=0.999, warmup_steps=50)
  config.log_every_steps = 50
  config.checkpoint_every_steps = 250

  # Self-reenactment of the test split against the warp, with and without its interior.
  config.evals.mouth_frames = common.evaluator("mouth_frames", every_steps=-1, max_clips=5,
                                               max_frames=60, tracker_size=256)
  if arg.shipped:
    config.data.exclude_clips = real_clips.unshippable_ids("train")
  if arg.runlocal:
    config.data.name = "synthetic_talking_heads"
    config.data.overrides = ""
    config.data.eval_split = "test"
    config.crop_size = 32
    config.model.update(dict(stem=16, widths=(16, 32)))
    config.loss.perceptual_scales = 1
    config.loss.perceptual_blocks = 2
    config.discriminator.widths = (16, 32)
    config.discriminator.scales = 1
    common.cpu_scale(config, total_steps=200, lr=1e-3, batch_size=4)
    config.checkpoint_every_steps = 100
    config.evals.mouth_frames.update(max_clips=2, max_frames=8, tracker_size=128)
  return config
