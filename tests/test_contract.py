"""The stage contract and the layering: stages checked once, evaluators from a registry,
imports that only go one way, runs that stop on a non-finite loss, files written by
process 0 only."""

import ast
import dataclasses
import json
import pathlib

import jax.numpy as jnp
import pytest

from configs import audio_encoder as audio_encoder_config
from configs import motion_generator as motion_config
from stylehead_jax import tasks
from stylehead_jax import train
from stylehead_jax.errors import ConfigError
from stylehead_jax.errors import NonFiniteError
from stylehead_jax.evaluators import base as evaluators
from stylehead_jax.tasks import base
from tests.conftest import REPO

LIBRARY = REPO / "stylehead_jax"


def _imports(path: pathlib.Path) -> set[str]:
  """Every module a file imports (absolute names; `from a import b` gives a and a.b)."""
  names = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      names.update(alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      names.add(node.module)
      names.update(f"{node.module}.{alias.name}" for alias in node.names)
  return names


def test_imports_go_one_way():
  for path in LIBRARY.rglob("*.py"):
    imported = _imports(path)
    where = path.relative_to(REPO)
    assert not {n for n in imported if n.split(".")[0] in ("data_prep", "eval")}, where
    if path.parent.name == "tasks" and path.stem not in ("__init__", "base"):
      others = {f"stylehead_jax.tasks.{s}" for s in tasks.STAGES} - {
          f"stylehead_jax.tasks.{path.stem}"}
      assert not imported & others, f"{where} imports another task"
    if path.parent.name == "metrics":
      assert not {n for n in imported if "tracking" in n or "detectors" in n}, where
  assert not {n for n in _imports(LIBRARY / "motion.py") if n.startswith("stylehead_jax.tasks")}
  assert not {n for n in _imports(REPO / "eval" / "metrics.py")
              if n.startswith("stylehead_jax.tasks")}


def test_every_stage_meets_the_contract():
  for name in tasks.STAGES:
    stage = tasks.get(name)
    assert stage.name == name
  with pytest.raises(ConfigError, match="train_step is required"):
    base.check(base.Stage(name="broken", init=lambda *a: None, train_step=None))
  with pytest.raises(ConfigError, match="unknown task"):
    tasks.get("style_mappin")


def test_evaluators_come_from_the_registry():
  config = motion_config.get_config("runlocal")
  context = evaluators.Context(stage=tasks.get("motion_generator"), builder=None, mesh=None,
                               state_sharding=None, batch_sharding=None)
  config.evals.motion.type = "motoin"
  with pytest.raises(ConfigError, match="config.evals.motion.type='motoin'"):
    evaluators.build(context, config)
  # A windows evaluator needs eval_step and eval_images, which the Motion Generator lacks.
  config.evals.motion.type = "windows"
  with pytest.raises(ConfigError, match="needs the stage's eval_step, eval_images"):
    evaluators.build(context, config)
  assert evaluators.due(config.evals.motion, 500, 1000)
  assert not evaluators.due(config.evals.motion, 501, 1000)
  assert evaluators.due(config.evals.motion, 1000, 1000)


def test_a_diverging_run_stops_and_keeps_its_last_good_checkpoint(
    synthetic_data_dir, tmp_path, monkeypatch):
  """A loss that turns NaN at step 4 stops the run there; steps 1-3 stay saved."""
  stage = tasks.get("audio_encoder")

  def train_step(state, batch, rng, *, config):
    new, measurements = stage.train_step(state, batch, rng, config=config)
    poison = jnp.where(state["step"] >= 3, jnp.nan, 1.0)
    return new, dict(measurements, loss=measurements["loss"] * poison)

  monkeypatch.setattr(tasks, "get", lambda name: dataclasses.replace(
      stage, train_step=train_step))
  config = audio_encoder_config.get_config("runlocal")
  config.data.data_dir = synthetic_data_dir
  config.total_steps, config.checkpoint_every_steps, config.progress = 8, 1, False
  with pytest.raises(NonFiniteError, match=r"^step 4: train/loss = nan; .* step 3, is kept"):
    train.train_and_evaluate(config, str(tmp_path))
  saved = sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit())
  assert saved == [1, 2, 3]


def test_only_the_main_process_writes_run_files(synthetic_data_dir, tmp_path, monkeypatch):
  monkeypatch.setattr(train, "is_main_process", lambda: False)
  config = audio_encoder_config.get_config("runlocal")
  config.data.data_dir = synthetic_data_dir
  config.total_steps = 2
  config.progress = False
  result = train.train_and_evaluate(config, str(tmp_path))
  assert result["step"] == 2
  assert (tmp_path / "checkpoints" / "2").is_dir()  # checkpoints are collective
  assert not (tmp_path / "config.json").exists()
  assert not (tmp_path / "tensorboard").exists()
  monkeypatch.setattr(train, "is_main_process", lambda: True)
  config.total_steps = 3
  train.train_and_evaluate(config, str(tmp_path))
  assert json.loads((tmp_path / "config.json").read_text())["total_steps"] == 3
  assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
