"""Checkpoints: one orbax CheckpointManager per workdir, and the resume order.

Resume order, in `restore_or_initialize` only: the workdir's latest checkpoint, else
`config.init_from` (the latest checkpoint of another workdir; its params are taken and
the optimizer starts afresh), else a fresh init.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any, Callable

import jax
import ml_collections
import orbax.checkpoint as ocp

from stylehead_jax.errors import ConfigError


class Checkpointer:
  """Saves `{params, opt_state, step, ...}` every K steps, keeps the newest N."""

  def __init__(self, directory: str, *, keep: int = 3, every_steps: int = 1000,
               read_only: bool = False):
    self.directory = os.path.abspath(directory)
    self.every_steps = every_steps
    # We decide when to save (see `save`); orbax only writes, asynchronously.
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(
            max_to_keep=keep, read_only=read_only, create=not read_only))

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def due(self, step: int) -> bool:
    """Whether `step` is one the schedule saves (a multiple of `every_steps`)."""
    return step % self.every_steps == 0

  def save(self, step: int, state: Any) -> None:
    """Saves `state` as `step` (the caller decides when: `due`, the last step, a
    preemption). A save still being written is waited for first: orbax would otherwise
    skip the new one, and a preemption save must never be skipped.
    """
    self._manager.wait_until_finished()
    if not self._manager.save(step, args=ocp.args.StandardSave(state), force=True):
      raise RuntimeError(f"{self.directory}: orbax did not save step {step}")

  def restore(self, abstract_state: Any, step: int | None = None) -> Any:
    """Restores into the structure, dtypes and shardings of `abstract_state` (None: as
    saved, on the default device)."""
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"{self.directory}: no checkpoint")
    if step not in self._manager.all_steps():
      raise FileNotFoundError(f"{self.directory}: no checkpoint of step {step} (it has "
                              f"{sorted(self._manager.all_steps())})")
    return self._manager.restore(step, args=ocp.args.StandardRestore(abstract_state))

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()


def abstract_like(tree: Any, shardings: Any) -> Any:
  """ShapeDtypeStructs carrying `shardings`: the restore target of a tree."""
  return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
                      tree, shardings)


def restore_or_initialize(checkpointer: Checkpointer, abstract_state: Any,
                          init_fn: Callable[[], Any], init_from: str = "") -> tuple[Any, str]:
  """Returns (state, where it came from), following the module's resume order."""
  if checkpointer.latest_step() is not None:
    step = checkpointer.latest_step()
    return checkpointer.restore(abstract_state), f"resumed from {checkpointer.directory} step {step}"
  state = init_fn()
  if init_from:
    source = Checkpointer(checkpoint_dir(init_from), read_only=True)
    restored = source.restore(abstract_state)
    state = dict(state, params=restored["params"])
    return state, f"params from {source.directory} step {source.latest_step()}"
  return state, "initialized from scratch"


def load_state(directory: str, step: int | None = None) -> Any:
  """A saved state as host arrays, whatever mesh saved it (inference, pretrained parts).

  The restore target is read from the checkpoint's own metadata, on one device, so a
  state saved by a 4-device run loads in a 1-device process.

  Raises:
    FileNotFoundError: `directory` holds no checkpoint.
  """
  manager = ocp.CheckpointManager(
      os.path.abspath(directory), options=ocp.CheckpointManagerOptions(read_only=True),
      item_handlers=ocp.StandardCheckpointHandler())
  step = manager.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f"{os.path.abspath(directory)}: no checkpoint")
  device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  target = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device),
                        manager.item_metadata(step))
  state = manager.restore(step, args=ocp.args.StandardRestore(target))
  manager.close()
  return jax.device_get(state)


def load_into(state: dict, workdir: str, parts: dict[str, str], *, field: str) -> dict:
  """`state` with its entries replaced by those of another run's latest checkpoint (in
  `workdir`), placed as the current values are (their shardings): how a stage fills its
  pretrained parts. `parts` maps a state entry to the checkpoint's entry that fills it
  ({"audio_params": "params"}: that run's params become this state's audio_params);
  entries the state lacks are skipped.

  Raises:
    ConfigError: `workdir` (config field `field`) holds no checkpoint, or a part's shapes
      differ from the state's (the run was trained with another config).
  """
  parts = {mine: theirs for mine, theirs in parts.items() if mine in state}
  if not parts:
    return state
  try:
    loaded = load_state(checkpoint_dir(workdir))
  except FileNotFoundError as e:
    raise ConfigError(f"{field}: {e}") from None
  out = dict(state)
  for mine, theirs in parts.items():
    if theirs not in loaded or (jax.tree.map(jax.numpy.shape, loaded[theirs])
                                != jax.tree.map(jax.numpy.shape, state[mine])):
      raise ConfigError(f"{field}={workdir}: its {theirs} do not match the shapes its "
                        "config.json gives")
    shardings = jax.tree.map(lambda x: x.sharding, state[mine])
    out[mine] = jax.device_put(loaded[theirs], shardings)
  return out


@functools.lru_cache(maxsize=8)
def read_run_config(workdir: str) -> ml_collections.ConfigDict:
  """The config.json a training run wrote in `workdir` (cached): how a stage builds the
  networks of another run it loads."""
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    raise ConfigError(f"{workdir}: no config.json (not a training workdir)")
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def newest_step(workdir: str) -> int | None:
  """The newest checkpoint step of a training workdir (None: no config.json or no
  checkpoint), read from the folder names without opening orbax."""
  ckpt = checkpoint_dir(workdir)
  if not (os.path.exists(os.path.join(workdir, "config.json")) and os.path.isdir(ckpt)):
    return None
  return max((int(n) for n in os.listdir(ckpt) if n.isdigit()), default=None)


def checkpoint_dir(workdir: str) -> str:
  return os.path.join(os.path.abspath(workdir), "checkpoints")

