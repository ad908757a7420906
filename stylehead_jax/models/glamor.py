"""GLAMOR-Net: context-aware emotion recognition with Global-Local Attention (Le et al.).

Two encoders read the face crop and the context (the whole scene; the task masks the face
out of it unless the variant says otherwise). Each is five blocks of 3x3 conv, BatchNorm
and ReLU, 32 filters doubling per block except the last (32, 64, 128, 256, 256), with a
2x2 max-pool after the first four (the authors' code; a 96 x 96 face gives a 6 x 6 map, a
112 x 112 context a 7 x 7 one).

Global-Local Attention (GLA): v_f is the global average of the face map; each context
cell v_ij is scored from [v_f; v_ij] by a feed-forward net (Dense 128, BatchNorm, ReLU,
Dense 1), the scores are softmaxed over all cells (a_ij) and v_c = sum_ij a_ij v_ij. The
face thus decides where in the context to look.

Adaptive fusion: s_f = F(v_f; phi_f), s_c = F(v_c; phi_c) (each Dense 128, ReLU, Dense 1);
(w_f, w_c) = softmax(s_f, s_c); [v_f w_f; v_c w_c] -> Dense 128, ReLU, Dropout 0.5 ->
logits over the 7 emotions.

Variants (the paper's Table 2), `variant=`:
  face               w/F:   the face alone (no context, no fusion);
  masked_context     w/mC:  + the face-masked context, averaged (no attention);
  face_context       w/fC:  + the context with the face visible, averaged;
  context_attention  w/CA:  + masked context under attention scored from v_ij alone;
  gla                w/GLA: + masked context under global-local attention.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from stylehead_jax import emotions
from stylehead_jax.models import partitioning

VARIANTS = ("face", "masked_context", "face_context", "context_attention", "gla")
MASKED_VARIANTS = ("masked_context", "context_attention", "gla")  # face hidden in context
_ATTENTION = ("context_attention", "gla")


def _dense(features: int, name: str, names=("embed", "mlp")) -> nn.Dense:
  return nn.Dense(features, kernel_init=partitioning.kernel(names), name=name)


class Encoder(nn.Module):
  """Facial / Context Encoding Module: (B, H, W, 3) -> (B, H / 16, W / 16, widths[-1])."""
  widths: Sequence[int] = (32, 64, 128, 256, 256)
  num_pools: int = 4  # a 2x2 max-pool after each of the first `num_pools` blocks
  bn_momentum: float = 0.99

  @nn.compact
  def __call__(self, x, *, train: bool):
    for i, width in enumerate(self.widths):
      x = nn.Conv(width, (3, 3), use_bias=False, name=f"conv_{i}",
                  kernel_init=partitioning.kernel((None, None, "conv_in", "conv_out")))(x)
      x = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum,
                       name=f"bn_{i}")(x)
      x = nn.relu(x)
      if i < self.num_pools:
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
    return x


class ContextAttention(nn.Module):
  """Attention over context cells: GLA scores [v_f; v_ij], plain attention v_ij alone.

  Returns v_c (B, C) and the attention map a (B, H, W), summing to 1 per example.
  """
  hidden: int = 128
  global_local: bool = True
  bn_momentum: float = 0.99

  @nn.compact
  def __call__(self, v_f, context_map, *, train: bool):
    b, h, w, c = context_map.shape
    cells = context_map.reshape(b, h * w, c)
    x = cells
    if self.global_local:
      x = jnp.concatenate([jnp.broadcast_to(v_f[:, None], (b, h * w, v_f.shape[-1])), cells], -1)
    x = _dense(self.hidden, "score_hidden")(x)
    x = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum, name="score_bn")(x)
    scores = _dense(1, "score", ("mlp", None))(nn.relu(x))[..., 0]  # (B, HW)
    attention = nn.softmax(scores, axis=-1)
    return jnp.einsum("bn,bnc->bc", attention, cells), attention.reshape(b, h, w)


class GlamorNet(nn.Module):
  """GLAMOR-Net: (face (B, Hf, Wf, 3), context (B, Hc, Wc, 3)) -> (logits (B, 7), aux).

  Inputs are normalised images (the task's `model_inputs`). aux holds
  "attention" (B, Hc', Wc'): the weights over context cells (uniform where the variant
  averages; absent for the face alone) and "fusion" (B, 2): (w_f, w_c).
  """
  variant: str = "gla"
  widths: Sequence[int] = (32, 64, 128, 256, 256)
  face_pools: int = 4
  context_pools: int = 4
  attention_hidden: int = 128
  fusion_hidden: int = 128
  classifier_hidden: int = 128
  dropout: float = 0.5
  bn_momentum: float = 0.99
  num_classes: int = emotions.NUM_EMOTIONS

  @nn.compact
  def __call__(self, face, context, *, train: bool = False):
    if self.variant not in VARIANTS:
      raise ValueError(f"unknown GLAMOR-Net variant {self.variant!r}; known: {VARIANTS}")
    face_map = Encoder(self.widths, self.face_pools, self.bn_momentum, name="face_encoder")(
        face, train=train)
    v_f = face_map.mean(axis=(1, 2))
    aux = {}
    if self.variant == "face":
      features = v_f
    else:
      context_map = Encoder(self.widths, self.context_pools, self.bn_momentum,
                            name="context_encoder")(context, train=train)
      if self.variant in _ATTENTION:
        v_c, attention = ContextAttention(
            self.attention_hidden, global_local=self.variant == "gla",
            bn_momentum=self.bn_momentum, name="attention")(v_f, context_map, train=train)
      else:
        v_c = context_map.mean(axis=(1, 2))
        b, h, w, _ = context_map.shape
        attention = jnp.full((b, h, w), 1.0 / (h * w))
      aux["attention"] = attention
      # Adaptive fusion: one score per stream, softmaxed into weights.
      score = lambda v, name: _dense(1, f"{name}_score", ("mlp", None))(
          nn.relu(_dense(self.fusion_hidden, f"{name}_hidden")(v)))
      weights = nn.softmax(jnp.concatenate([score(v_f, "fusion_face"),
                                            score(v_c, "fusion_context")], -1), axis=-1)
      aux["fusion"] = weights
      features = jnp.concatenate([v_f * weights[:, :1], v_c * weights[:, 1:]], -1)
    x = nn.relu(_dense(self.classifier_hidden, "classifier_hidden")(features))
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    logits = _dense(self.num_classes, "logits", ("mlp", None))(x)
    return logits, aux


# --- Inputs -----------------------------------------------------------------------------
def face_mask(face_box, size: int):
  """(B, size, size, 1): 1 where a pixel's centre lies in the box [y0, x0, y1, x1]
  (fractions of the image side)."""
  centres = (jnp.arange(size) + 0.5) / size
  y0, x0, y1, x1 = (face_box[:, i, None] for i in range(4))
  rows = (centres >= y0) & (centres <= y1)  # (B, size)
  cols = (centres >= x0) & (centres <= x1)
  return (rows[:, :, None] & cols[:, None, :])[..., None].astype(jnp.float32)


def model_inputs(batch, variant: str):
  """(face, context) as the network reads them, from uint8 images: scaled to [-1, 1],
  the face hidden in the context (every pixel whose centre lies in the face box set to
  0) for the MASKED_VARIANTS."""
  scale = lambda image: jnp.asarray(image, jnp.float32) / 127.5 - 1.0
  face, context = scale(batch["face"]), scale(batch["context"])
  if variant in MASKED_VARIANTS:
    context = context * (1.0 - face_mask(batch["face_box"], context.shape[1]))
  return face, context
