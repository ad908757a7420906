"""Audio Encoder: autoregressive predictive coding (APC) over log-mels.

The paper's audio features come from APC (Chung et al. 2019), as in Live Speech Portraits:
unidirectional GRU layers read normalised log-mel frames; a linear postnet predicts the
frame `n` steps ahead. The last GRU layer's states are the features that drive the
Motion Generator (two per video frame, at 120 Hz).
"""

import flax.linen as nn

from stylehead_jax import media
from stylehead_jax.models import partitioning


class APCEncoder(nn.Module):
  """Audio Encoder (APC): log-mels (B, L, 80) -> (prediction of frame t+n, aux).

  The encoder is causal, so audio of any length streams through it in chunks: pass each
  chunk the `carries` of the one before (None: start of the stream).

  Returns:
    prediction: (B, L, N_MELS), element t predicts input frame t + n.
    aux: {"features": (B, L, hidden) last-layer states, "carries": the GRU states after
      the last frame, one per layer}.
  """
  num_layers: int = 3
  hidden: int = 512
  residual: bool = True  # add each layer's input to its output (from the 2nd layer on)
  num_mels: int = media.N_MELS

  @nn.compact
  def __call__(self, log_mel, carries=None):
    x = log_mel
    out_carries = []
    for i in range(self.num_layers):
      cell = nn.GRUCell(
          self.hidden,
          kernel_init=partitioning.kernel(("mel" if i == 0 else "embed", "hidden")),
          recurrent_kernel_init=partitioning.kernel(("embed", "hidden"),
                                                    nn.initializers.orthogonal()),
          name=f"gru_{i}")
      carry, y = nn.RNN(cell, return_carry=True, name=f"rnn_{i}")(
          x, initial_carry=None if carries is None else carries[i])
      out_carries.append(carry)
      x = x + y if self.residual and i > 0 else y
    prediction = nn.Dense(self.num_mels, kernel_init=partitioning.kernel(("hidden", "mel")),
                          name="postnet")(x)
    return prediction, {"features": x, "carries": tuple(out_carries)}
