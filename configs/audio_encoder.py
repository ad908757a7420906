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
  config = common.run_loop("audio_encoder")

  config.data = common.data("synthetic_talking_heads", ("log_mel",), window_frames=64)

  config.batch_size = 64
  config.eval_batch_size = 64
  config.total_steps = 100_000
  config.optimizer = common.optimizer("adamw", 1e-4, grad_clip_norm=1.0,
                                      schedule="warmup_constant", warmup_steps=1_000)

  config.model = ml_collections.ConfigDict()
  config.model.num_layers = 3
  config.model.hidden = 512
  config.model.residual = True  # residual connections between GRU layers (as in APC)
  config.apc_shift = 3  # n: predict mel frame t + n (25 ms at 120 Hz)

  # L1 of the prediction and of the copy-last-frame baseline on every eval window.
  config.evals.prediction = common.evaluator("windows", every_steps=2_000)

  if arg.runlocal:
    common.cpu_scale(config, total_steps=600, lr=2e-3)
    config.model.num_layers = 2
    config.model.hidden = 128
    config.data.shuffle_buffer = 64
    config.log_every_steps = 20
    config.evals.prediction.every_steps = 200
    config.checkpoint_every_steps = 200
  return config
