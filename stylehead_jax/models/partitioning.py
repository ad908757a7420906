"""Parameter initialisers that carry logical axis names (no network here).

Every kernel is created boxed with the names of its axes ("embed", "mlp", "conv_in",
...); config.sharding_rules maps them onto mesh axes (stylehead_jax/sharding.py).
"""

from __future__ import annotations

import flax.linen as nn


def kernel(names, init=nn.initializers.lecun_normal()):
  """`init` boxed with the logical axis names `names`."""
  return nn.with_logical_partitioning(init, names)
