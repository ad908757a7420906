"""A trained GLAMOR-Net as an emotion classifier of pictures (the emotion evaluator).

  classifier = emotion_classifier.Classifier("runs/glamor")
  labels, probabilities = classifier.classify(frames)

eval/metrics.py (emotion consistency of a generated video), the glamor stage and its
"emotion" evaluator all run the network through `predict`, so a video is classified
exactly as training evaluated.
"""

from __future__ import annotations

import functools
import json
import os

import jax
import ml_collections
import numpy as np

from stylehead_jax import checkpoint
from stylehead_jax import emotions
from stylehead_jax import overrides
from stylehead_jax.models import glamor


def make_model(config) -> glamor.GlamorNet:
  return glamor.GlamorNet(**config.model)


def predict(state, batch, *, config):
  """(logits, aux) of a batch in inference mode."""
  face, context = glamor.model_inputs(batch, config.model.variant)
  return make_model(config).apply(
      {"params": state["params"], "batch_stats": state["batch_stats"]}, face, context)


def input_sizes(config) -> tuple[int, int]:
  """(context side, face side) of the data a config trains on: its builder overrides,
  else the builders' defaults."""
  values = overrides.parse(config.data.overrides)
  return (int(values.get("context_size", emotions.CONTEXT_SIZE)),
          int(values.get("face_size", emotions.FACE_SIZE)))


class Classifier:
  """A trained glamor workdir that classifies pictures.

  Each picture is prepared as the caer_s builder prepares its images (the largest face
  by the landmark backend, emotions.model_example); pictures without a face get no
  prediction.
  """

  def __init__(self, workdir: str, *, step: int | None = None, backend="dlib",
               batch_size: int = 32):
    from stylehead_jax.landmarks import detectors  # pylint: disable=g-import-not-at-top
    workdir = os.path.abspath(workdir)
    config_path = os.path.join(workdir, "config.json")
    if not os.path.isfile(config_path):
      raise FileNotFoundError(f"{workdir}: no config.json (not a glamor training workdir)")
    with open(config_path) as f:
      self.config = ml_collections.ConfigDict(json.load(f))
    if self.config.get("task") != "glamor":
      raise ValueError(f"{workdir}: trained task {self.config.get('task')!r}, not glamor")
    self.state = checkpoint.load_state(checkpoint.checkpoint_dir(workdir), step)
    self.context_size, self.face_size = input_sizes(self.config)
    self.backend = detectors.get_backend(backend) if isinstance(backend, str) else backend
    self.batch_size = batch_size
    self._predict = jax.jit(functools.partial(predict, config=self.config))

  def classify(self, pictures) -> tuple[np.ndarray, np.ndarray]:
    """(class index per picture, -1 where no face was found; softmax probabilities
    (N, 7), zero rows where no face)."""
    examples, found = [], []
    for i, picture in enumerate(pictures):
      box = emotions.face_box(picture, self.backend)
      if box is not None:
        examples.append(emotions.model_example(picture, box, self.context_size,
                                               self.face_size))
        found.append(i)
    labels = np.full(len(pictures), -1, np.int64)
    probabilities = np.zeros((len(pictures), emotions.NUM_EMOTIONS), np.float32)
    for start in range(0, len(examples), self.batch_size):
      chunk = examples[start:start + self.batch_size]
      batch = {k: np.stack([e[k] for e in chunk]) for k in chunk[0]}
      logits, _ = self._predict(self.state, batch)
      rows = found[start:start + len(chunk)]
      probabilities[rows] = np.asarray(jax.nn.softmax(logits))
      labels[rows] = np.asarray(logits).argmax(-1)
    return labels, probabilities
