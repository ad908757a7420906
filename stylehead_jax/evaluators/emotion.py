"""Evaluator "emotion": GLAMOR-Net's accuracy over the whole eval split.

Reports accuracy, accuracy per class (stylehead_jax.metrics.emotion), and where the
dataset has them (synthetic_context_emotion), accuracy on clear and on ambiguous faces and
`attention_mass_ratio`: the attention's mass on the cells covered by the stored cues,
over the mass a uniform map would put there (sum over examples of both; 1 = no better
than uniform). Images: contexts as the model saw them with the attention over them.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from stylehead_jax import emotion_classifier
from stylehead_jax import emotions
from stylehead_jax import input_pipeline
from stylehead_jax.errors import ConfigError
from stylehead_jax.evaluators import base
from stylehead_jax.metrics import emotion as emotion_metrics
from stylehead_jax.models import glamor


def cue_coverage(cue_mask, grid: tuple[int, int]):
  """(B, h, w): the fraction of each attention cell covered by the cue mask."""
  b, size_y, size_x, _ = cue_mask.shape
  h, w = grid
  m = jnp.asarray(cue_mask, jnp.float32)[..., 0]
  return m.reshape(b, h, size_y // h, w, size_x // w).mean(axis=(2, 4))


def _eval_batch(state, batch, *, config):
  logits, aux = emotion_classifier.predict(state, batch, config=config)
  out = {"prediction": logits.argmax(-1)}
  if "attention" in aux and "cue_mask" in batch:
    attention = aux["attention"]
    coverage = cue_coverage(batch["cue_mask"], attention.shape[1:])
    out["cue_mass"] = (attention * coverage).sum(axis=(1, 2))
    out["uniform_cue_mass"] = coverage.mean(axis=(1, 2))
  if "attention" in aux:
    out["attention"] = aux["attention"]
  return out


class Evaluator(base.Evaluator):

  def __init__(self, context, config, eval_config):
    super().__init__(context, config, eval_config)
    self._eval_batch = jax.jit(functools.partial(_eval_batch, config=config))

  def run(self, state) -> tuple[dict, dict]:
    predictions, labels, clarity = [], [], []
    cue_mass = uniform_mass = 0.0
    images = {}
    for batch in input_pipeline.eval_batches(self.builder, self.config):
      out = jax.device_get(self._eval_batch(state, batch))
      real = batch["mask"] > 0
      predictions.append(out["prediction"][real])
      labels.append(batch["label"][real])
      if "clarity" in batch:
        clarity.append(batch["clarity"][real])
      if "cue_mass" in out:
        cue_mass += float(out["cue_mass"][real].sum())
        uniform_mass += float(out["uniform_cue_mass"][real].sum())
      if not images:
        images = _images(batch, out, self.config)
    predictions, labels = np.concatenate(predictions), np.concatenate(labels)
    if not len(labels):
      raise ConfigError(f"eval split {self.config.data.eval_split!r} is empty")
    measurements = {"accuracy": float(np.mean(predictions == labels))}
    for name, value in emotion_metrics.per_class_accuracy(predictions, labels).items():
      measurements[f"accuracy_{name.lower()}"] = value
    if clarity:
      measurements.update({f"accuracy_{name}": value for name, value in
                           emotion_metrics.accuracy_by_group(
                               predictions, labels, np.concatenate(clarity),
                               emotions.CLARITY).items()})
    if uniform_mass:
      measurements["attention_mass_ratio"] = cue_mass / uniform_mass
    measurements["num_examples"] = float(len(labels))
    return measurements, images


def _images(batch, out, config, num: int = 4) -> dict:
  """Context (as the model saw it) beside the same context under its attention map."""
  face, context = glamor.model_inputs(
      {k: batch[k][:num] for k in ("face", "context", "face_box")}, config.model.variant)
  context = (np.asarray(context) + 1) / 2
  images = {"context": context}
  if "attention" in out:
    attention = np.asarray(out["attention"][:num])
    size = context.shape[1]
    heat = np.kron(attention / attention.max(axis=(1, 2), keepdims=True),
                   np.ones((size // attention.shape[1], size // attention.shape[2])))
    shaded = context * (0.25 + 0.75 * heat[..., None])
    images = {"context_left_attention_right": np.concatenate([context, shaded], axis=2)}
  images["face"] = (np.asarray(face) + 1) / 2
  return images
