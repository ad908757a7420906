"""The harness on the audio_encoder stage: learning, checkpoints, resume, SIGTERM,
1 vs 4 devices, and config typos."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from configs import audio_encoder as audio_encoder_config
from stylehead_jax import train
from tests.conftest import REPO, run

STEPS = 200


def _config(data_dir, **overrides):
  config = audio_encoder_config.get_config("runlocal")
  config.data.data_dir = data_dir
  config.total_steps = STEPS
  config.checkpoint_every_steps = 50
  config.evals.prediction.every_steps = STEPS
  config.log_every_steps = 10
  config.progress = False
  for key, value in overrides.items():
    config[key] = value
  return config


def _cli(workdir, data_dir, *flags):
  return [sys.executable, "-m", "stylehead_jax.train",
          "--config", "configs/audio_encoder.py:runlocal", "--workdir", str(workdir),
          f"--config.data.data_dir={data_dir}", f"--config.total_steps={STEPS}",
          "--config.checkpoint_every_steps=50", f"--config.evals.prediction.every_steps={STEPS}",
          "--config.progress=False", *flags]


def _params_from_checkpoint(workdir, step=None):
  manager = ocp.CheckpointManager(os.path.join(workdir, "checkpoints"))
  step = manager.latest_step() if step is None else step
  return step, manager.restore(step, args=ocp.args.StandardRestore())["params"]


def _assert_trees_equal(a, b, atol=0.0):
  leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(leaves_a) == len(leaves_b) > 0
  for x, y in zip(leaves_a, leaves_b):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=0, atol=atol)


@pytest.fixture(scope="module")
def reference(synthetic_data_dir, tmp_path_factory):
  """One uninterrupted run of STEPS steps."""
  workdir = tmp_path_factory.mktemp("reference")
  result = train.train_and_evaluate(_config(synthetic_data_dir), str(workdir))
  return workdir, result


def test_loss_falls_and_checkpoint_is_written(reference):
  workdir, result = reference
  losses = [loss for _, loss in result["history"]]
  assert result["step"] == STEPS and not result["preempted"]
  assert losses[-1] < 0.6 * losses[0], losses
  step, params = _params_from_checkpoint(workdir)
  assert step == STEPS
  _assert_trees_equal(params, jax.device_get(result["state"]["params"]))
  assert result["eval"]["prediction"]["num_windows"] > 0
  assert np.isfinite(result["eval"]["prediction"]["l1"])
  events = list((workdir / "tensorboard").glob("events.out.tfevents.*"))
  assert events and events[0].stat().st_size > 1000  # scalars and eval images


def test_second_run_resumes_with_identical_params(reference, synthetic_data_dir):
  workdir, first = reference
  again = train.train_and_evaluate(_config(synthetic_data_dir), str(workdir))
  assert again["step"] == STEPS and again["history"] == []  # nothing left to train
  _assert_trees_equal(again["state"]["params"], first["state"]["params"])
  _assert_trees_equal(again["state"]["opt_state"], first["state"]["opt_state"])


@pytest.mark.slow
def test_resume_mid_way_matches_uninterrupted(reference, synthetic_data_dir, tmp_path):
  _, full = reference
  part = train.train_and_evaluate(_config(synthetic_data_dir, total_steps=120), str(tmp_path))
  assert part["step"] == 120
  rest = train.train_and_evaluate(_config(synthetic_data_dir), str(tmp_path))
  assert rest["history"][0][0] == 130  # continued after the step-120 checkpoint
  _assert_trees_equal(rest["state"]["params"], full["state"]["params"])


@pytest.mark.slow
def test_sigterm_saves_and_rerun_matches_uninterrupted(reference, synthetic_data_dir,
                                                        tmp_path):
  _, full = reference
  cmd = _cli(tmp_path, synthetic_data_dir, "--config.log_every_steps=1")
  env = dict(os.environ, PYTHONUNBUFFERED="1")
  proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
  log_file = tmp_path / "train.log"  # the step lines are logged there, not on the console
  deadline = time.time() + 300
  while proc.poll() is None and time.time() < deadline:
    if log_file.exists() and "] step 10:" in log_file.read_text():
      proc.send_signal(signal.SIGTERM)
      break
    time.sleep(0.05)
  console, _ = proc.communicate(timeout=300)
  log = console + log_file.read_text()
  assert proc.returncode == 0, log[-3000:]
  assert "preempted: saved step" in log, log[-3000:]
  stopped, _ = _params_from_checkpoint(tmp_path)
  assert 10 <= stopped < STEPS, stopped
  run(_cli(tmp_path, synthetic_data_dir))
  step, params = _params_from_checkpoint(tmp_path)
  assert step == STEPS
  _assert_trees_equal(params, jax.device_get(full["state"]["params"]))


MESHES = {  # name: (devices, --config.mesh, how the train state is split)
    "1 device": (1, None, "none split"),
    "4 devices, data parallel": (4, "(('data', 4), ('model', 1))", "none split"),
    "4 devices, 2 data x 2 model": (4, "(('data', 2), ('model', 2))", "over 'model'"),
}


@pytest.mark.slow
def test_meshes_give_the_same_losses(synthetic_data_dir, tmp_path):
  """The same 3 steps on 1 device, 4 data shards, and 2 x 2 (data x model) shards."""
  losses = {}
  for name, (devices, mesh, split) in MESHES.items():
    flags = ["--config.total_steps=3", "--config.log_every_steps=1",
             "--config.evals.prediction.every_steps=-1"]  # no evaluation: losses only
    if mesh:
      flags.append(f"--config.mesh={mesh}")
    workdir = tmp_path / name.replace(" ", "_").replace(",", "")
    cmd = _cli(workdir, synthetic_data_dir, *flags)
    cmd.remove(f"--config.total_steps={STEPS}")
    run(cmd, env={"XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"})
    log = (workdir / "train.log").read_text()
    assert f"over {devices} devices" in log
    shardings = next(l for l in log.splitlines() if "state shardings" in l)
    assert split in shardings, shardings
    summary = json.loads((workdir / "result.json").read_text())
    assert not summary.get("eval"), summary["eval"]  # every_steps=-1: never evaluated
    losses[name] = [loss for _, loss in summary["history"]]
  assert len(losses["1 device"]) == 3
  for name in MESHES:
    np.testing.assert_allclose(losses[name], losses["1 device"], rtol=0, atol=1e-5,
                               err_msg=name)


def test_init_from_another_workdir(reference, synthetic_data_dir, tmp_path):
  reference_dir, full = reference
  config = _config(synthetic_data_dir, total_steps=0, init_from=str(reference_dir))
  result = train.train_and_evaluate(config, str(tmp_path))
  _assert_trees_equal(result["state"]["params"], full["state"]["params"])
  assert int(result["state"]["step"]) == 0  # a new run: step and optimizer start afresh
  assert result["eval"]["prediction"]["l1"] == pytest.approx(
      full["eval"]["prediction"]["l1"], rel=1e-5)


def test_config_typo_fails_clearly(tmp_path):
  out = run([sys.executable, "-m", "stylehead_jax.train", "--config",
             "configs/audio_encoder.py:runlocal", "--workdir", str(tmp_path),
             "--config.modle.hidden=32"], check=False)
  assert out.returncode != 0
  assert "modle" in out.stderr and "Traceback" not in out.stderr, out.stderr[-2000:]


def test_config_arg_typo_fails_clearly():
  with pytest.raises(KeyError, match="unknown config argument 'runlcoal'"):
    audio_encoder_config.get_config("runlcoal")


def test_gif_summary_holds_every_frame(tmp_path):
  """A clip written as a video summary reads back from the event file as a GIF with every
  frame, in order and exact (a few flat colours: no palette loss)."""
  import io  # pylint: disable=g-import-not-at-top
  from PIL import Image  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from tests.conftest import tensorboard_images  # pylint: disable=g-import-not-at-top
  frames = np.zeros((5, 6, 10, 3), np.float32)
  for t in range(5):
    frames[t, :, 2 * t:2 * t + 2] = (1.0, 0.5, 0.0)  # a bar moving right
  writer = tf.summary.create_file_writer(str(tmp_path / "tensorboard"))
  train._write_images(writer, 3, {"eval/x/clip_video": frames, "eval/x/grid": frames[:2]})
  images = tensorboard_images(tmp_path)
  assert len(images["eval/x/grid"]) == 2 + 2  # width, height, two PNGs
  width, height, gif = images["eval/x/clip_video"]
  assert (int(width), int(height)) == (10, 6)
  video = Image.open(io.BytesIO(gif))
  assert video.n_frames == 5 and video.info["duration"] == 20 and video.info["loop"] == 0
  for t in range(5):
    video.seek(t)
    expected = np.round(frames[t] * 255).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(video.convert("RGB")), expected)
