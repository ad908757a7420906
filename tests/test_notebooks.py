"""The notebooks run top to bottom (their code cells, in one namespace), at small size."""

import ast
import json
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.conftest import SAG_TINY
from tests.conftest import SM_TINY


def code_cells(name: str, parameters: dict) -> list[str]:
  """The notebook's code cells, each `name = ...` line of `parameters` (one line, or a
  dict literal over several) set to the given value: the parameters cell pointed at the
  session's world, a fresh workdir and small sizes."""
  notebook = json.loads((REPO / "notebooks" / name).read_text())
  sources = []
  for cell in notebook["cells"]:
    if cell["cell_type"] != "code":
      continue
    source = "".join(cell["source"])
    for key, value in parameters.items():
      source = re.sub(rf'^{key} = (\{{[^}}]*\}}|[^\n]*)[^\n]*', f"{key} = {value!r}", source,
                      flags=re.M)
    sources.append(source)
  return sources


def run_cells(name: str, parameters: dict) -> dict:
  namespace = {}
  for source in code_cells(name, parameters):
    exec(compile(source, name, "exec"), namespace)  # pylint: disable=exec-used
  return namespace


@pytest.mark.slow
def test_quickstart_runs(synthetic_data_dir, tmp_path):
  namespace = run_cells("quickstart.ipynb", {"data_dir": synthetic_data_dir,
                                             "workdir": str(tmp_path)})
  assert namespace["result"]["step"] == namespace["total_steps"]


def _flags_to_overrides(flags) -> dict:
  """conftest's "--config.a.b=value" flags as the notebook's {"a.b": value} overrides."""
  out = {}
  for flag in flags:
    key, value = flag[len("--config."):].split("=", 1)
    try:
      out[key] = ast.literal_eval(value)
    except (ValueError, SyntaxError):
      out[key] = value
  return out


@pytest.mark.slow
def test_animate_notebook_trains_every_stage_and_animates(synthetic_data_dir, tmp_path):
  """Two steps per stage with the tests' tiny image networks and no evaluators (each
  stage's evaluator is tested in its own module; here it would only cost CI time)."""
  stages = ("audio_encoder", "motion_generator", "style_mapping", "style_aware_generator")
  quiet = {"progress": False, "evals": {}}
  overrides = {
      "audio_encoder": quiet,
      "motion_generator": quiet,
      "style_mapping": {**_flags_to_overrides(SM_TINY), **quiet},
      "style_aware_generator": {**_flags_to_overrides(SAG_TINY), **quiet},
  }
  namespace = run_cells("animate.ipynb", {
      "data_dir": synthetic_data_dir, "runs": str(tmp_path),
      "steps": dict.fromkeys(stages, 2), "overrides": overrides})
  assert all(r["step"] == 2 for r in namespace["results"].values())
  assert namespace["summary"]["frames"] > 0
  assert (tmp_path / "animation.mp4").stat().st_size > 1000


def test_tpu_pod_notebook_trains_sharded_on_fake_devices(synthetic_data_dir, tiny_motion,
                                                         tmp_path):
  """The notebook's code in a fresh process (its XLA_FLAGS must come before JAX starts):
  4 fake CPU devices as a 2 data x 2 model mesh, two Motion Generator steps, a checkpoint."""
  apc_dir = tiny_motion[0]
  script = tmp_path / "tpu_pod.py"
  script.write_text("\n".join(code_cells("tpu_pod.ipynb", {
      "data_dir": synthetic_data_dir, "workdir": str(tmp_path / "run"), "fake_devices": 4,
      "total_steps": 2, "overrides": {"audio.encoder_workdir": str(apc_dir),
                                      "progress": False, "evals.motion.every_steps": -1}})))
  proc = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True,
                        text=True, timeout=600, check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "4 in all (cpu)" in proc.stdout and "(('data', 2), ('model', 2))" in proc.stdout
  assert "step 2" in proc.stdout
  assert (tmp_path / "run" / "checkpoints" / "2").is_dir()
