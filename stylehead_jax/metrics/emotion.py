"""Emotion metrics over class predictions (GLAMOR-Net's: stylehead_jax/emotion_classifier.py).

consistency: the reference video shows one emotion, the most frequent class among its
  frames' predictions (ties to the lower class index); the consistency of a generated
  video is the fraction of its frames predicted as that class.
per-class accuracy: for each true class present, the fraction of its frames predicted
  as it.
"""

from __future__ import annotations

import numpy as np

from stylehead_jax import emotions


def dominant(predictions) -> int:
  """The most frequent class of a video's frame predictions."""
  predictions = np.asarray(predictions, np.int64)
  if not predictions.size:
    raise ValueError("no frame predictions")
  return int(np.bincount(predictions, minlength=emotions.NUM_EMOTIONS).argmax())


def consistency(generated, reference) -> tuple[float, int]:
  """(fraction of generated frames showing the reference's emotion, that emotion)."""
  target = dominant(reference)
  return float(np.mean(np.asarray(generated) == target)), target


def accuracy_by_group(predictions, labels, groups, names) -> dict[str, float]:
  """{names[g]: accuracy over the examples of group g} for the groups present."""
  predictions, labels, groups = (np.asarray(a) for a in (predictions, labels, groups))
  correct = predictions == labels
  return {names[g]: float(np.mean(correct[groups == g])) for g in np.unique(groups)}


def per_class_accuracy(predictions, labels) -> dict[str, float]:
  """{emotion name: accuracy over the frames labelled with it} for the classes present."""
  return accuracy_by_group(predictions, labels, labels, emotions.EMOTIONS)
