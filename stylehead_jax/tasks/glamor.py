"""Stage glamor: GLAMOR-Net (models/glamor.py) on context-aware emotion examples.

Inputs (`model_inputs`): face and context images scaled to [-1, 1]; for the variants that
hide the face (models.glamor.MASKED_VARIANTS) every context pixel whose centre lies in the
face box is set to 0. Training flips each example left-right with probability 1/2
(`config.flip`), box included. Loss: softmax cross-entropy. Optimizer: SGD with momentum,
the learning rate times 0.1 at each of `config.lr_decay_steps` (the authors: epochs 25
and 40 of 60).

The evaluator reports over the eval split: accuracy, accuracy per class, and where the
dataset has them (synthetic_context_emotion), accuracy on clear and on ambiguous faces and
`attention_mass_ratio`: the attention's mass on the cells covered by the stored cues,
over the mass a uniform map would put there (sum over examples of both; 1 = no better
than uniform). Images: contexts as the model saw them with the attention over them.
"""

from __future__ import annotations

import functools
import json
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from data_prep import overrides
from stylehead_jax import checkpoint
from stylehead_jax import emotions
from stylehead_jax import input_pipeline
from stylehead_jax.models import glamor

FEATURES = ("context", "face", "face_box", "label")


def make_model(config) -> glamor.GlamorNet:
  return glamor.GlamorNet(**config.model)


def make_schedule(config) -> optax.Schedule:
  return optax.piecewise_constant_schedule(
      config.lr, {int(step): 0.1 for step in config.lr_decay_steps})


def make_optimizer(config) -> optax.GradientTransformation:
  sgd = optax.sgd(make_schedule(config), momentum=config.momentum)
  if config.weight_decay:
    return optax.chain(optax.add_decayed_weights(config.weight_decay), sgd)
  return sgd


def face_mask(face_box, size: int):
  """(B, size, size, 1): 1 where a pixel's centre lies in the box [y0, x0, y1, x1]
  (fractions of the image side)."""
  centres = (jnp.arange(size) + 0.5) / size
  y0, x0, y1, x1 = (face_box[:, i, None] for i in range(4))
  rows = (centres >= y0) & (centres <= y1)  # (B, size)
  cols = (centres >= x0) & (centres <= x1)
  return (rows[:, :, None] & cols[:, None, :])[..., None].astype(jnp.float32)


def model_inputs(batch, variant: str):
  """(face, context) as the model reads them, the face hidden in the context if the
  variant says so."""
  scale = lambda image: jnp.asarray(image, jnp.float32) / 127.5 - 1.0
  face, context = scale(batch["face"]), scale(batch["context"])
  if variant in glamor.MASKED_VARIANTS:
    context = context * (1.0 - face_mask(batch["face_box"], context.shape[1]))
  return face, context


def flip(batch, rng):
  """Each example mirrored left-right with probability 1/2 (images, box, cue mask)."""
  n = batch["label"].shape[0]
  flipped = jax.random.bernoulli(rng, 0.5, (n,))
  out = dict(batch)
  pick = lambda a, b: jnp.where(flipped.reshape((n,) + (1,) * (a.ndim - 1)), b, a)
  for key in ("face", "context", "cue_mask"):
    if key in batch:
      out[key] = pick(batch[key], batch[key][:, :, ::-1])
  y0, x0, y1, x1 = (batch["face_box"][:, i] for i in range(4))
  out["face_box"] = pick(batch["face_box"], jnp.stack([y0, 1 - x1, y1, 1 - x0], -1))
  return out


def init(config, rng, batch):
  """Fresh state {step, params, batch_stats, opt_state}."""
  face, context = model_inputs(batch, config.model.variant)
  variables = make_model(config).init(rng, face, context, train=False)
  params = variables["params"]
  return {"step": jnp.zeros((), jnp.int32), "params": params,
          "batch_stats": variables["batch_stats"],
          "opt_state": make_optimizer(config).init(params)}


def train_step(state, batch, rng, *, config):
  flip_rng, dropout_rng = jax.random.split(rng)
  if config.flip:
    batch = flip(batch, flip_rng)
  face, context = model_inputs(batch, config.model.variant)
  model = make_model(config)

  def loss_fn(params):
    (logits, _), updates = model.apply(
        {"params": params, "batch_stats": state["batch_stats"]}, face, context, train=True,
        rngs={"dropout": dropout_rng}, mutable=["batch_stats"])
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"]).mean()
    return loss, (logits, updates["batch_stats"])

  (loss, (logits, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      state["params"])
  tx = make_optimizer(config)
  updates, opt_state = tx.update(grads, state["opt_state"], state["params"])
  params = optax.apply_updates(state["params"], updates)
  measurements = {"loss": loss,
                  "accuracy": (logits.argmax(-1) == batch["label"]).mean(),
                  "grad_norm": optax.global_norm(grads),
                  "param_norm": optax.global_norm(params),
                  "learning_rate": make_schedule(config)(state["step"])}
  return {"step": state["step"] + 1, "params": params, "batch_stats": batch_stats,
          "opt_state": opt_state}, measurements


def predict(state, batch, *, config):
  """(logits, aux) of a batch in inference mode."""
  face, context = model_inputs(batch, config.model.variant)
  return make_model(config).apply(
      {"params": state["params"], "batch_stats": state["batch_stats"]}, face, context)


def cue_coverage(cue_mask, grid: tuple[int, int]):
  """(B, h, w): the fraction of each attention cell covered by the cue mask."""
  b, size_y, size_x, _ = cue_mask.shape
  h, w = grid
  m = jnp.asarray(cue_mask, jnp.float32)[..., 0]
  return m.reshape(b, h, size_y // h, w, size_x // w).mean(axis=(2, 4))


def _eval_batch(state, batch, *, config):
  logits, aux = predict(state, batch, config=config)
  out = {"prediction": logits.argmax(-1)}
  if "attention" in aux and "cue_mask" in batch:
    attention = aux["attention"]
    coverage = cue_coverage(batch["cue_mask"], attention.shape[1:])
    out["cue_mass"] = (attention * coverage).sum(axis=(1, 2))
    out["uniform_cue_mass"] = coverage.mean(axis=(1, 2))
  if "attention" in aux:
    out["attention"] = aux["attention"]
  return out


def evaluate(state, builder, config):
  """Measurements over the whole eval split (see the module docstring) and images."""
  eval_batch = jax.jit(functools.partial(_eval_batch, config=config))
  counts = np.zeros((emotions.NUM_EMOTIONS, 2))  # per class: [correct, total]
  by_clarity = np.zeros((len(emotions.CLARITY), 2))
  cue_mass = uniform_mass = 0.0
  images = {}
  for batch in input_pipeline.eval_batches(builder, config):
    out = jax.device_get(eval_batch(state, batch))
    real = batch["mask"] > 0
    correct = (out["prediction"] == batch["label"]) & real
    np.add.at(counts[:, 0], batch["label"][real], correct[real])
    np.add.at(counts[:, 1], batch["label"][real], 1)
    if "clarity" in batch:
      np.add.at(by_clarity[:, 0], batch["clarity"][real], correct[real])
      np.add.at(by_clarity[:, 1], batch["clarity"][real], 1)
    if "cue_mass" in out:
      cue_mass += float(out["cue_mass"][real].sum())
      uniform_mass += float(out["uniform_cue_mass"][real].sum())
    if not images:
      images = _images(batch, out, config)
  total = counts[:, 1].sum()
  if not total:
    raise ValueError(f"eval split {config.data.eval_split!r} is empty")
  measurements = {"accuracy": float(counts[:, 0].sum() / total)}
  for i, name in enumerate(emotions.EMOTIONS):
    if counts[i, 1]:
      measurements[f"accuracy_{name.lower()}"] = float(counts[i, 0] / counts[i, 1])
  for i, name in enumerate(emotions.CLARITY):
    if by_clarity[i, 1]:
      measurements[f"accuracy_{name}"] = float(by_clarity[i, 0] / by_clarity[i, 1])
  if uniform_mass:
    measurements["attention_mass_ratio"] = cue_mass / uniform_mass
  measurements["num_examples"] = float(total)
  return measurements, images


def _images(batch, out, config, num: int = 4) -> dict:
  """Context (as the model saw it) beside the same context under its attention map."""
  face, context = model_inputs({k: batch[k][:num] for k in ("face", "context", "face_box")},
                               config.model.variant)
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


def input_sizes(config) -> tuple[int, int]:
  """(context side, face side) of the data a config trains on: its builder overrides,
  else the builders' defaults."""
  values = overrides.parse(config.data.overrides)
  return (int(values.get("context_size", emotions.CONTEXT_SIZE)),
          int(values.get("face_size", emotions.FACE_SIZE)))


class Classifier:
  """The emotion evaluator: a trained glamor workdir that classifies pictures.

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
