"""GLAMOR-Net: context-aware emotion recognition (face + context, global-local attention).

  python -m stylehead_jax.train --config configs/glamor.py:runlocal --workdir /tmp/glamor
  python -m stylehead_jax.train --config configs/glamor.py:runlocal,variant=face \\
      --workdir /tmp/glamor_face
  python -m data_prep.build caer_s --manual_dir ~/CAER-S --data_dir ~/tensorflow_datasets
  python -m stylehead_jax.train \\
      --config configs/glamor.py:dataset=caer_s,train_examples=N --workdir /tmp/glamor_caer

`:variant=` one of models.glamor.VARIANTS (face, masked_context, face_context,
context_attention, gla: the paper's Table 2). `:dataset=` synthetic_context_emotion (the
default: it builds itself) or caer_s (`--config.data.overrides=source=videos` for
NCAER-S); `:train_examples=` the train split's size (printed by data_prep.build), from
which the epochs become steps (the synthetic world's is known).

Defaults are the authors' (their public TensorFlow code): faces 96 x 96, contexts
112 x 112, SGD with momentum 0.9, lr 5e-4 times 0.1 at epochs 25 and 40, batch 4, 60 epochs.
`:runlocal` fits 2 CPU cores: 64 x 64 contexts, 48 x 48 faces, half the filters, three
context pools (an 8 x 8 attention grid), batch 32, 1,500 steps.
"""

import ml_collections

from configs import common
from data_prep.synthetic_context_emotion import scene


def get_config(arg=None):
  arg = common.parse_arg(arg, runlocal=False, variant="gla",
                         dataset="synthetic_context_emotion", train_examples=0)
  config = common.run_loop("glamor")
  config.checkpoint_every_steps = 2_000

  synthetic = arg.dataset == "synthetic_context_emotion"
  config.data = common.data(
      arg.dataset, ("context", "face", "face_box", "label") + (
          ("clarity", "cue_mask") if synthetic else ()),
      window_frames=0, shuffle_buffer=10_000)  # whole images, no time windows

  config.model = ml_collections.ConfigDict()
  config.model.variant = arg.variant
  config.model.widths = (32, 64, 128, 256, 256)
  config.model.face_pools = 4
  config.model.context_pools = 4
  config.model.attention_hidden = 128
  config.model.fusion_hidden = 128
  config.model.classifier_hidden = 128
  config.model.dropout = 0.5

  config.batch_size = 4
  config.eval_batch_size = 64
  config.optimizer = common.optimizer("sgd", 5e-4, momentum=0.9, schedule="piecewise",
                                      decay_factor=0.1)  # decay_steps: from the epochs below
  config.flip = True
  epochs, decay_epochs = 60, (25, 40)
  train_examples = arg.train_examples or (scene.SceneConfig().num_train if synthetic else 0)

  # Accuracy, per class, clear / ambiguous, attention on the cues (evaluators/emotion.py).
  config.evals.emotion = common.evaluator("emotion", every_steps=10_000)

  if arg.runlocal:
    config.data.overrides = "context_size=64,face_size=48"
    config.model.widths = (16, 32, 64, 128, 128)
    config.model.context_pools = 3
    config.batch_size = 32
    config.eval_batch_size = 100
    config.optimizer.lr = 0.02
    epochs, decay_epochs = 8, (5, 7)
    config.log_every_steps = 50
    config.evals.emotion.every_steps = 500
    config.checkpoint_every_steps = 500

  if not train_examples:
    raise ValueError(f"configs/glamor.py:dataset={arg.dataset} needs train_examples=N, the "
                     "train split's size (python -m data_prep.build prints it), to turn "
                     "epochs into steps")
  steps_per_epoch = max(1, train_examples // config.batch_size)
  config.total_steps = epochs * steps_per_epoch
  config.optimizer.decay_steps = tuple(e * steps_per_epoch for e in decay_epochs)
  return config
