"""The device mesh, logical-axis shardings, and host-local batches -> global arrays."""

from __future__ import annotations

import math
from typing import Any, Sequence

import flax.linen as nn
import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P


def make_mesh(mesh_config: Sequence[tuple[str, int]], devices=None) -> Mesh:
  """Builds a mesh from ((axis_name, size), ...); one size may be -1 (all the rest)."""
  devices = list(devices if devices is not None else jax.devices())
  names = tuple(name for name, _ in mesh_config)
  sizes = [int(size) for _, size in mesh_config]
  if sizes.count(-1) > 1:
    raise ValueError(f"config.mesh {mesh_config}: at most one axis may be -1")
  known = math.prod(s for s in sizes if s != -1)
  if len(devices) % known:
    raise ValueError(f"config.mesh {mesh_config} does not divide {len(devices)} devices")
  sizes = [len(devices) // known if s == -1 else s for s in sizes]
  if math.prod(sizes) != len(devices):
    raise ValueError(f"config.mesh {mesh_config} -> {sizes} needs {math.prod(sizes)} "
                     f"devices, have {len(devices)}")
  return jax.make_mesh(tuple(sizes), names, axis_types=(AxisType.Auto,) * len(names),
                       devices=devices)


def logical_shardings(abstract_tree: Any, mesh: Mesh, rules) -> Any:
  """NamedShardings for a tree whose leaves may be flax `Partitioned` boxes.

  Boxed leaves (parameters created with `nn.with_logical_partitioning`, and the
  optimizer moments optax derives from them) follow `rules`; plain leaves replicate.
  """
  specs = nn.get_partition_spec(abstract_tree)
  return nn.logical_to_mesh_sharding(specs, mesh, tuple(map(tuple, rules)))


def describe(shardings: Any) -> str:
  """One line: how many arrays are split over each mesh axis (the rest replicate)."""
  leaves = jax.tree.leaves(shardings)
  counts = {}
  for sharding in leaves:
    for entry in sharding.spec:
      for axis in (entry,) if isinstance(entry, str) else (entry or ()):
        if sharding.mesh.shape[axis] > 1:  # an axis of size 1 splits nothing
          counts[axis] = counts.get(axis, 0) + 1
  split = ", ".join(f"{n} over '{axis}'" for axis, n in sorted(counts.items())) or "none split"
  return f"{len(leaves)} arrays: {split}"


def batch_sharding(mesh: Mesh, rules) -> NamedSharding:
  """Sharding of a batch: its leading axis is the logical 'batch' axis."""
  return nn.logical_to_mesh_sharding(P("batch"), mesh, tuple(map(tuple, rules)))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def data_parallel_size(mesh: Mesh, rules) -> int:
  """How many shards the batch axis is split into."""
  spec = batch_sharding(mesh, rules).spec[0]
  axes = () if spec is None else (spec,) if isinstance(spec, str) else tuple(spec)
  return math.prod(mesh.shape[a] for a in axes)


def to_global(batch: dict[str, np.ndarray], sharding: NamedSharding) -> dict[str, jax.Array]:
  """This host's slice of a batch -> global arrays laid out by `sharding`."""
  return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, x), batch)
