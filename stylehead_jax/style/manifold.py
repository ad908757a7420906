"""Manifold projection of audio features (Lu et al., Live Speech Portraits).

Audio features of an unseen voice are moved onto the manifold of a target bank: each
feature f is rebuilt from its K nearest bank features f_1..f_K with the weights of
locally linear embedding,

  w = argmin |f - sum_i w_i f_i|^2  subject to  sum_i w_i = 1,
  f' = (1 - p) f + p sum_i w_i f_i,

(K = 10 in LSP). The weights solve G w = 1 with the local Gram matrix
G_ij = (f - f_i).(f - f_j), regularised by `reg * trace(G) / K` on its diagonal, then
normalised to sum to 1. Neighbours are found chunk by chunk over the bank with a running
top-K, so an N x M distance matrix is never held: memory is query_chunk x bank_chunk.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

NUM_NEIGHBOURS = 10  # K of LSP
REGULARISATION = 1e-3


def _pad_to(x: jax.Array, multiple: int, value: float = 0.0) -> jax.Array:
  pad = -x.shape[0] % multiple
  return jnp.pad(x, ((0, pad), (0, 0)), constant_values=value) if pad else x


@functools.partial(jax.jit, static_argnames=("k", "query_chunk", "bank_chunk"))
def nearest(queries: jax.Array, bank: jax.Array, k: int = NUM_NEIGHBOURS, *,
            query_chunk: int = 1024, bank_chunk: int = 8192) -> tuple[jax.Array, jax.Array]:
  """The k nearest bank rows of each query (Euclidean): (distances^2 (N, k), indices (N, k)),
  nearest first."""
  n, m = queries.shape[0], bank.shape[0]
  if m < k:
    raise ValueError(f"the bank has {m} features, fewer than k={k}")
  q = _pad_to(queries.astype(jnp.float32), query_chunk).reshape(-1, query_chunk, queries.shape[1])
  bank_chunk = min(bank_chunk, m)
  b = _pad_to(bank.astype(jnp.float32), bank_chunk).reshape(-1, bank_chunk, bank.shape[1])
  b_norms = jnp.sum(b * b, -1)
  b_norms = jnp.where((jnp.arange(b.shape[0] * bank_chunk) < m).reshape(b_norms.shape),
                      b_norms, jnp.inf)  # padding rows are never neighbours

  def per_query_chunk(qc):
    q_norms = jnp.sum(qc * qc, -1, keepdims=True)

    def scan_bank(best, inputs):
      chunk_index, bc, bn = inputs
      d2 = jnp.maximum(q_norms - 2 * qc @ bc.T + bn[None], 0.0)
      idx = chunk_index * bank_chunk + jnp.arange(bank_chunk)
      all_d2 = jnp.concatenate([best[0], d2], 1)
      all_idx = jnp.concatenate([best[1], jnp.broadcast_to(idx, d2.shape)], 1)
      neg, pos = jax.lax.top_k(-all_d2, k)
      return (-neg, jnp.take_along_axis(all_idx, pos, 1)), None

    init = (jnp.full((query_chunk, k), jnp.inf), jnp.zeros((query_chunk, k), jnp.int32))
    (d2, idx), _ = jax.lax.scan(scan_bank, init, (jnp.arange(b.shape[0]), b, b_norms))
    return d2, idx

  d2, idx = jax.lax.map(per_query_chunk, q)
  return d2.reshape(-1, k)[:n], idx.reshape(-1, k)[:n]


def reconstruction_weights(queries: jax.Array, neighbours: jax.Array,
                           reg: float = REGULARISATION) -> jax.Array:
  """LLE weights (N, K) summing to 1 that best rebuild queries (N, D) from neighbours
  (N, K, D)."""
  diff = neighbours - queries[:, None, :]
  gram = jnp.einsum("nkd,njd->nkj", diff, diff)
  k = gram.shape[-1]
  trace = jnp.trace(gram, axis1=1, axis2=2)
  gram = gram + (reg * trace / k + 1e-12)[:, None, None] * jnp.eye(k)
  w = jnp.linalg.solve(gram, jnp.ones(gram.shape[:2] + (1,)))[..., 0]
  return w / jnp.sum(w, -1, keepdims=True)


def project(features, bank, weight: float, k: int = NUM_NEIGHBOURS, *,
            query_chunk: int = 1024, bank_chunk: int = 8192) -> jax.Array:
  """f' = (1 - weight) f + weight sum_i w_i f_i for features (..., D) and bank (M, D)."""
  features = jnp.asarray(features, jnp.float32)
  bank = jnp.asarray(bank, jnp.float32)
  flat = features.reshape(-1, features.shape[-1])
  _, idx = nearest(flat, bank, k, query_chunk=query_chunk, bank_chunk=bank_chunk)
  neighbours = bank[idx]
  w = reconstruction_weights(flat, neighbours)
  rebuilt = jnp.einsum("nk,nkd->nd", w, neighbours)
  return ((1 - weight) * flat + weight * rebuilt).reshape(features.shape)


def sample_bank(features: list[np.ndarray], size: int, seed: int = 0) -> np.ndarray:
  """A bank of at most `size` rows drawn without replacement from feature arrays (N_i, D)."""
  stacked = np.concatenate([np.asarray(f, np.float32) for f in features])
  if len(stacked) <= size:
    return stacked
  rows = np.random.default_rng(seed).choice(len(stacked), size, replace=False)
  return stacked[np.sort(rows)]
