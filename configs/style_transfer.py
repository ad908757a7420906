"""Style transfer: a trained Motion Generator fine-tuned to one style reference.

  python -m stylehead_jax.train --config configs/style_transfer.py:runlocal \\
      --config.style.motion_generator_workdir=/tmp/mg \\
      --config.style.reference=test/test-0000-opera-000 --workdir /tmp/st_opera
  python -m stylehead_jax.evaluate --config configs/style_transfer.py:runlocal \\
      --config.style.motion_generator_workdir=/tmp/mg \\
      --config.style.reference=test/test-0000-opera-000 --workdir /tmp/st_opera --json OUT

The reference is '<split>/<clip_id>' of config.data (the synthetic world by default) or a
video path (`:video` sets the evaluation to the video's frames after config.style.span).
`:variant=` picks a row of the ablation: full (L_mg + L_sc + L_r), no_r (no gradient
penalty), no_sc (L_mg alone: plain fine-tuning on the reference). The Motion Generator's
shape, audio input and L_mg weights come from its own run (config.json in its workdir).
"""

import ml_collections

from configs import common
from stylehead_jax import media
from stylehead_jax import motion

VARIANTS = {"full": (1.0, 10.0), "no_r": (1.0, 0.0), "no_sc": (0.0, 0.0)}


def get_config(arg=None):
  arg = common.parse_arg(arg, runlocal=False, variant="full", video=False)
  if arg.variant not in VARIANTS:
    raise KeyError(f"unknown variant {arg.variant!r}; known: {sorted(VARIANTS)}")
  config = common.run_loop("style_transfer")
  config.keep_checkpoints = 2
  config.log_every_steps = 50
  config.checkpoint_every_steps = 500

  # name "": none (a video reference evaluated on its own rest, eval clips="rest").
  config.data = common.data("synthetic_talking_heads", motion.FEATURES, window_frames=240)

  config.style = ml_collections.ConfigDict()
  config.style.motion_generator_workdir = ""
  config.style.reference = ""  # "<split>/<clip_id>" of config.data, or a video path
  config.style.span = (0.0, 1.0)  # the part of the reference that trains (fractions)
  config.style.video_resolution = media.CROP_SIZE  # crop size a video reference is tracked at
  config.style.cache_dir = ""  # tracked video references; "": ~/.cache/stylehead_jax/styles
  # Speech phi_mg is generated on ("": the reference's own); required for a silent reference.
  config.style.drive_audio = ""

  config.critic = ml_collections.ConfigDict()
  config.critic.features = (1024, 512, 256)
  config.critic.window = 16  # frames of motion per input of f
  # The head's pose in what f sees (0: the expression alone, the mouth, brows and eyes on
  # a still head). animate uses 0: there the head's style is its amplitude
  # (style/amplitude.py), and a critic that sees the head turned real faces further than
  # their style (docs/style_transfer.md); in the synthetic world 1 keeps opera's SLD.
  config.critic.head_weight = 1.0
  config.critic.mode = "adversarial"  # or "joint" (tasks/style_transfer.py)
  config.critic.steps = 1  # critic steps per Motion Generator step (adversarial)
  config.critic.optimizer = common.optimizer("adam", 1e-4, b1=0.5, b2=0.9)  # WGAN-GP's

  config.loss = ml_collections.ConfigDict()
  config.loss.sc_weight, config.loss.r_weight = VARIANTS[arg.variant]
  config.loss.mg_weight = 1.0  # L_mg; 0 for a reference without sound
  config.loss.keep_weight = 1.0  # L_keep, where config.style.drive_audio is set
  config.loss.gamma = -1.0  # < 0: gamma ~ U(0, 1) per window; else this value

  config.batch_size = 64
  config.eval_batch_size = 64
  config.total_steps = 2_000
  config.optimizer = common.optimizer("adamw", 1e-4, grad_clip_norm=1.0,
                                      schedule="warmup_constant", warmup_steps=100)

  # Before / after SLD, SLV, SMD, LMD (evaluators/style_transfer.py); clips: "style" (other
  # speakers in the reference's style) or "rest" (the reference after its span).
  config.evals.style = common.evaluator(
      "style_transfer", every_steps=1_000, clips="rest" if arg.video else "style",
      max_clips=64, min_frames=120,  # clips shorter than two style windows are left out
      chunk_frames=240, seed=0, num_image_frames=4)

  if arg.video:
    config.data.name = ""
    config.style.span = (0.0, 2 / 3)  # the last third is held out for evaluation
  if arg.runlocal:
    config.data.window_frames = 64
    common.cpu_scale(config, total_steps=300, lr=5e-4)
    config.critic.optimizer.lr = 2e-4
    config.evals.style.chunk_frames = 120
    config.evals.style.every_steps = 300
    config.log_every_steps = 25
    config.checkpoint_every_steps = 100
  return config
