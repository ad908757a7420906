"""Style transfer network f: a window of motion -> style features.

f is an MLP of 1024, 512 and 256 units over the vectorised 68 x 3 landmarks of every
frame of a window (B, W, 68, 3) -> (B, 256): the last layer's outputs are the features
whose means over a batch the style consistency loss L_sc compares
(tasks/style_transfer.py). No normalisation layer: the gradient penalty L_r asks for
each example's gradient on its own, which a batch statistic would couple. Leaky ReLU
keeps gradients alive for the penalty on both sides of zero.
"""

from __future__ import annotations

import flax.linen as nn

from stylehead_jax.models import partitioning


class StyleNetwork(nn.Module):
  """f: motion windows (B, W, 68, 3) -> features (B, features[-1])."""
  features: tuple[int, ...] = (1024, 512, 256)

  @nn.compact
  def __call__(self, windows):
    x = windows.reshape(windows.shape[0], -1)
    for i, width in enumerate(self.features):
      names = ("embed", "mlp") if i == 0 else ("mlp", "embed") if i % 2 else ("embed", "mlp")
      x = nn.Dense(width, kernel_init=partitioning.kernel(names), name=f"dense_{i}")(x)
      if i < len(self.features) - 1:
        x = nn.leaky_relu(x, 0.2)
    return x
