"""Shared fixtures: the real media folder and one built synthetic world per session.

`make test` and `make test-all` spread the modules over every core (pytest-xdist,
`-n auto --dist loadfile`); what several modules share (the synthetic world, the trained
stages) is still made once per session: the first worker to ask makes it, the others wait
for it and read it back (`once_per_session`)."""

import fcntl
import functools
import os
import pathlib
import pickle
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
REAL = SHARED_DATA / "real"
BAD = SHARED_DATA / "bad"


def pytest_configure(config):
  del config
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def real_dir() -> pathlib.Path:
  if not REAL.is_dir():
    pytest.fail(f"{REAL} is missing: the tests need ../shared/data beside the checkout")
  return REAL


@pytest.fixture(scope="session")
def bad_dir() -> pathlib.Path:
  if not BAD.is_dir():
    pytest.fail(f"{BAD} is missing: the tests need ../shared/data beside the checkout")
  return BAD


@pytest.fixture(scope="session")
def styles_silent_dir() -> pathlib.Path:
  folder = SHARED_DATA / "styles_silent"
  if not folder.is_dir():
    pytest.fail(f"{folder} is missing: the tests need ../shared/data beside the checkout")
  return folder


def once_per_session(tmp_path_factory, name: str, make):
  """`make(folder)` for a new folder, once in the whole test session: alone, made here;
  under pytest-xdist, made by the first worker that asks (under a file lock) and read back
  from its pickle by the others."""
  if "PYTEST_XDIST_WORKER" not in os.environ:
    return make(tmp_path_factory.mktemp(name))
  root = tmp_path_factory.getbasetemp().parent  # this session's, shared by its workers
  with open(root / f"{name}.lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
    done = root / f"{name}.pickle"
    if done.exists():
      return pickle.loads(done.read_bytes())
    folder = root / name
    shutil.rmtree(folder, ignore_errors=True)  # what a worker that failed left
    folder.mkdir()
    result = make(folder)
    done.write_bytes(pickle.dumps(result))
    return result


@pytest.fixture(scope="session")
def synthetic_data_dir(tmp_path_factory) -> str:
  """The default synthetic_talking_heads, built once, through the real CLI."""
  def build(data_dir):
    run([sys.executable, "-m", "data_prep.build", "synthetic_talking_heads",
         "--data_dir", str(data_dir)])
    return str(data_dir)
  return once_per_session(tmp_path_factory, "tfds", build)


def _train_motion(folder, data_dir, steps=None):
  """A :runlocal audio encoder in folder/apc, then a :runlocal Motion Generator on its
  features in folder/motion_generator: `steps` steps each with no evaluators, or the
  configs' own (None). (apc_dir, mg_dir, the generator's config, its result)."""
  import jax  # pylint: disable=g-import-not-at-top
  from configs import audio_encoder as audio_encoder_config  # pylint: disable=g-import-not-at-top
  from configs import motion_generator as motion_config  # pylint: disable=g-import-not-at-top
  from stylehead_jax import train  # pylint: disable=g-import-not-at-top
  apc_dir, mg_dir = folder / "apc", folder / "motion_generator"
  for config, workdir in ((audio_encoder_config.get_config("runlocal"), apc_dir),
                          (motion_config.get_config("runlocal"), mg_dir)):
    workdir.mkdir()
    config.data.data_dir = data_dir
    if workdir == mg_dir:
      config.audio.encoder_workdir = str(apc_dir)
    config.progress = False
    if steps is not None:
      config.total_steps = steps
      for evaluator in config.evals.values():
        evaluator.every_steps = -1
    result = jax.device_get(train.train_and_evaluate(config, str(workdir)))
  return apc_dir, mg_dir, config, result


@pytest.fixture(scope="session")
def trained(synthetic_data_dir, tmp_path_factory):
  """The audio encoder and Motion Generator :runlocal trains, evaluated: (apc_dir, mg_dir,
  motion generator config, its train_and_evaluate result)."""
  return once_per_session(tmp_path_factory, "trained",
                          lambda folder: _train_motion(folder, synthetic_data_dir))


@pytest.fixture(scope="session")
def tiny_motion(synthetic_data_dir, tmp_path_factory):
  """An audio encoder and a Motion Generator of the :runlocal shapes, two steps each and
  no evaluators: for tests of what runs a Motion Generator, not of what it learned
  (`trained` is that): (apc_dir, mg_dir)."""
  return once_per_session(tmp_path_factory, "tiny_motion",
                          lambda folder: _train_motion(folder, synthetic_data_dir, 2)[:2])


MESH = "--config.mesh=(('data',2),('model',2))"
SM_TINY = [  # a 32 px Style Mapping that trains in seconds
    "--config.image_size=32", "--config.model.num_keypoints=5",
    "--config.model.keypoint_widths=(8,16)", "--config.model.keypoint_depth=4",
    "--config.model.pose_widths=(8,16,16)", "--config.model.encoder_widths=(8,16)",
    "--config.model.volume_depth=4", "--config.model.volume_channels=4",
    "--config.model.encoder_blocks=1", "--config.model.motion_widths=(8,16)",
    "--config.model.motion_compressed=2", "--config.model.generator_features=16",
    "--config.model.generator_blocks=1", "--config.loss.perceptual_scales=2",
    "--config.loss.perceptual_blocks=2", "--config.batch_size=4",
    "--config.eval_batch_size=4",
    "--config.evals.isp.num_image_pairs=2", "--config.progress=False",
    "--config.log_every_steps=1", "--config.checkpoint_every_steps=2"]

SAG_TINY = [  # a 32 px generator that trains in seconds
    "--config.image_size=32", "--config.model.widths=(8,16)", "--config.model.num_blocks=1",
    "--config.discriminator.widths=(8,16)", "--config.loss.perceptual_scales=2",
    "--config.loss.perceptual_blocks=2", "--config.batch_size=4",
    "--config.eval_batch_size=4", "--config.evals.frames.num_image_clips=1",
    "--config.evals.frames.max_frames=4", "--config.progress=False",
    "--config.log_every_steps=1", "--config.checkpoint_every_steps=2"]

@pytest.fixture(scope="session")
def style_mapping_run(synthetic_data_dir, tmp_path_factory):
  """A SM_TINY Style Mapping, 4 steps on 4 devices (2 data x 2 model), evaluated at the
  end: (workdir, the command's output)."""
  return once_per_session(tmp_path_factory, "style_mapping", lambda workdir: (
      workdir, train_cli("configs/style_mapping.py:runlocal", workdir, synthetic_data_dir,
                         4, 4, *SM_TINY, MESH, "--config.evals.isp.max_clips=3")))


@pytest.fixture(scope="session")
def style_aware_generator_run(synthetic_data_dir, tmp_path_factory):
  """A SAG_TINY Style-Aware Generator, 4 steps on 4 devices (2 data x 2 model),
  evaluated at the end: (workdir, the command's output)."""
  return once_per_session(tmp_path_factory, "style_aware_generator", lambda workdir: (
      workdir, train_cli("configs/style_aware_generator.py:runlocal", workdir,
                         synthetic_data_dir, 4, 4, *SAG_TINY, MESH,
                         "--config.evals.frames.max_clips=2")))


TRACKED_CLIPS = sorted(REAL.glob("*.mp4")) + sorted((SHARED_DATA / "voxceleb2_sample").glob("*.mp4"))


class _Tracked(dict):
  """{name: (video at its own rate, detected per frame, face segments)} of the real and
  VoxCeleb2 clips, each tracked (crops of 256) when a test first asks for it."""

  def __missing__(self, name):
    from stylehead_jax import media  # pylint: disable=g-import-not-at-top
    from stylehead_jax.landmarks import detectors  # pylint: disable=g-import-not-at-top
    from stylehead_jax.landmarks import tracking  # pylint: disable=g-import-not-at-top
    path = {p.name: p for p in TRACKED_CLIPS}[name]
    backend = detectors.get_backend("dlib")
    video = media.read_video(path, fps=None)
    detections = tracking.detect_track(video.frames, backend)
    self[name] = (video, detections[1], tracking.track_segments(
        video.frames, video.source_fps, backend, tracking.TrackerConfig(resolution=256),
        path.name, detections))
    return self[name]


@pytest.fixture(scope="session")
def tracked():
  return _Tracked()


@functools.lru_cache(maxsize=None)
def tensorflow_prints_at_import() -> bool:
  """Whether TensorFlow writes start-up lines to stderr at import on this machine (its
  oneDNN lines depend on the processor); console.py keeps them for the log where it does."""
  return bool(run([sys.executable, "-c", "import tensorflow"],
                  env={"TF_CPP_MIN_LOG_LEVEL": "2"}).stderr.strip())


def corrupt_part_way(source, path):
  """A copy of the video `source` at `path` with 20,000 bytes of noise half-way through
  the file: it opens and decodes until the frames that lie there."""
  data = bytearray(pathlib.Path(source).read_bytes())
  middle = len(data) // 2
  data[middle:middle + 20000] = np.random.default_rng(0).bytes(20000)
  pathlib.Path(path).write_bytes(bytes(data))
  return path


def run(cmd, *, env=None, check=True, timeout=600) -> subprocess.CompletedProcess:
  """Runs a command from the repository root, returning its output."""
  full_env = dict(os.environ, **(env or {}))
  proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True,
                        timeout=timeout, check=False)
  if check and proc.returncode != 0:
    raise AssertionError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                         f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
  return proc


def train_cli(config: str, workdir, data_dir, devices: int, steps: int, *flags):
  """`python -m stylehead_jax.train --config <config>` for `steps` steps on `devices` fake
  CPU devices, with --config.* `flags`."""
  cmd = [sys.executable, "-m", "stylehead_jax.train", "--config", config, "--workdir",
         str(workdir), f"--config.data.data_dir={data_dir}", f"--config.total_steps={steps}",
         *flags]
  return run(cmd, env={"XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"})


def apply_flags(config, flags):
  """`config` with "--config.a.b=value" flags applied as the command line would (tuples
  literally, the rest typed like the value replaced)."""
  import ast  # pylint: disable=g-import-not-at-top
  from stylehead_jax import overrides  # pylint: disable=g-import-not-at-top
  for flag in flags:
    key, value = flag[len("--config."):].split("=", 1)
    *parents, leaf = key.split(".")
    target = config
    for name in parents:
      target = target[name]
    target[leaf] = (ast.literal_eval(value) if value.startswith("(")
                    else overrides.convert(key, target[leaf], value))
  return config


def sharded_summary(workdir, out, steps: int) -> dict:
  """result.json of a run on a 2 data x 2 model mesh, checked: the state split over
  'model' (its train.log says), every step's loss finite, the console free of library
  INFO lines (TensorFlow's C++ start-up lines are in train.log instead)."""
  import json  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  log = (pathlib.Path(workdir) / "train.log").read_text()
  shardings = next(l for l in log.splitlines() if "state shardings" in l)
  assert "over 'model'" in shardings, shardings
  # absl's INFO lines start "IMMDD hh:mm:ss" (TensorFlow's C++ start-up lines "I0000").
  assert not re.search(r"^I\d{4} \d\d:\d\d:\d\d", out.stderr, re.M), out.stderr[-2000:]
  assert "absl::InitializeLog" not in out.stderr
  assert ("TensorFlow start-up" in log) == tensorflow_prints_at_import()
  summary = json.loads((pathlib.Path(workdir) / "result.json").read_text())
  assert summary["step"] == steps and len(summary["history"]) == steps
  assert all(np.isfinite(loss) for _, loss in summary["history"])
  return summary


def tensorboard_images(workdir) -> dict:
  """{tag: [width, height, encoded image, ...]} of the image summaries in WORKDIR/tensorboard."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  out = {}
  for path in sorted((pathlib.Path(workdir) / "tensorboard").glob("events.out.tfevents.*")):
    for event in tf.compat.v1.train.summary_iterator(str(path)):
      for value in event.summary.value:
        if value.metadata.plugin_data.plugin_name == "images":
          out[value.tag] = list(value.tensor.string_val)
  return out


def one_gan_step(task, config, batch, finite: tuple[str, ...]):
  """One jitted train step of an image stage from a fresh state (its pretrained parts
  loaded), checked: the state holds both players and the frozen VGG, the `finite`
  measurements are finite, both players moved and the VGG did not. Returns (state, the
  step function)."""
  import functools  # pylint: disable=g-import-not-at-top
  import flax.linen as nn  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  # Jitted: the image networks' init runs op by op otherwise (tens of seconds on 2 cores).
  state = nn.unbox(jax.jit(functools.partial(task.init, config))(jax.random.key(0), batch))
  state = task.load_pretrained(state, config)
  assert set(state) >= {"params", "critic_params", "critic_opt_state", "vgg"}
  step = lambda: jax.jit(functools.partial(task.train_step, config=config))(
      state, batch, jax.random.key(1))
  new, measured = step()
  for key in finite:
    assert np.isfinite(measured[key]), key
  for part in ("params", "critic_params"):
    moved = jax.tree.leaves(jax.tree.map(lambda a, b: float(np.abs(a - b).max()),
                                         state[part], new[part]))
    assert max(moved) > 0, part
  np.testing.assert_array_equal(new["vgg"]["conv_0"]["kernel"], state["vgg"]["conv_0"]["kernel"])
  return state, step


def resume_from_step_2(workdir, resumed_dir, train, parts):
  """Copies `workdir`'s checkpoints without the last (step 4), runs `train(resumed_dir)`
  and checks it trained steps 3 and 4 only and ends with `parts` of the state equal."""
  import json  # pylint: disable=g-import-not-at-top
  import shutil  # pylint: disable=g-import-not-at-top
  from stylehead_jax import checkpoint  # pylint: disable=g-import-not-at-top
  from tests.test_train import _assert_trees_equal  # pylint: disable=g-import-not-at-top
  workdir, resumed_dir = pathlib.Path(workdir), pathlib.Path(resumed_dir)
  shutil.copytree(workdir / "checkpoints", resumed_dir / "checkpoints")
  shutil.rmtree(resumed_dir / "checkpoints" / "4")
  train(resumed_dir)
  resumed = checkpoint.load_state(checkpoint.checkpoint_dir(resumed_dir))
  full = checkpoint.load_state(checkpoint.checkpoint_dir(workdir))
  assert int(resumed["step"]) == 4
  summary = json.loads((resumed_dir / "result.json").read_text())
  assert [s for s, _ in summary["history"]] == [3, 4]  # only the steps after the checkpoint
  for part in parts:
    _assert_trees_equal(resumed[part], full[part], atol=1e-6)
