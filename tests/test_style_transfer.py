"""Style transfer: key motion templates on real footage, the gradient penalty against
finite differences, evaluation clips, and a sharded train + resume + evaluate from a video
reference."""

import json
import os
import sys

import jax
import flax.linen as nn
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from configs import style_transfer as style_config
from data_prep import style_references
from stylehead_jax import datasets
from stylehead_jax import media
from stylehead_jax import motion
from stylehead_jax.errors import ConfigError
from stylehead_jax.evaluators import style_transfer as style_eval
from stylehead_jax.models import style_transfer as style_net
from stylehead_jax.style import references
from stylehead_jax.style import templates
from stylehead_jax.tasks import style_transfer as task
from tests.conftest import REAL, SHARED_DATA, TRACKED_CLIPS, run


# --- Templates --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in TRACKED_CLIPS])
def test_templates_retrieve_four_frames_and_o_opens_wider_than_m(tracked, name):
  video, _, segments = tracked[name]
  track = max(segments, key=lambda s: len(s.frames))
  chosen = templates.retrieve(track.landmarks, track.frames)
  assert chosen.names == ("None", "M", "R", "O")
  assert len(set(chosen.indices.tolist())) == 4
  assert chosen.frames.shape == (4,) + track.frames.shape[1:]
  opening = dict(zip(chosen.names, chosen.shapes[:, 0]))
  assert opening["O"] > opening["M"], (name, opening)
  np.testing.assert_array_equal(chosen.landmarks, track.landmarks[chosen.indices])
  del video


def test_mouth_shapes_ignore_pose_and_scale():
  """The same faces turned, tilted, scaled and moved give the same (opening, width)."""
  rng = np.random.default_rng(0)
  from stylehead_jax.landmarks import conventions as lmk  # pylint: disable=g-import-not-at-top
  from stylehead_jax.landmarks import pose  # pylint: disable=g-import-not-at-top
  faces = np.repeat(lmk.MEAN_FACE_3D[None], 5, 0).copy()
  faces[:, [65, 66, 67], 1] += np.linspace(0, 0.1, 5)[:, None]  # lower lip drops
  flat = pose.posed_landmarks(faces, np.repeat(np.eye(3)[None], 5, 0),
                              np.tile([100.0, 100.0, 80.0], (5, 1)))
  rotation = pose.rotation_from_angles(np.zeros(5), np.zeros(5), rng.uniform(-20, 20, 5))
  moved = pose.posed_landmarks(faces, rotation, np.stack(
      [rng.uniform(50, 150, 5), rng.uniform(50, 150, 5), rng.uniform(40, 160, 5)], -1))
  np.testing.assert_allclose(templates.mouth_shapes(moved), templates.mouth_shapes(flat),
                             atol=1e-9)
  opening = templates.mouth_shapes(flat)[:, 0]
  assert np.all(np.diff(opening) > 0)


# --- Losses -----------------------------------------------------------------------------
def _tiny_config(gamma):
  config = ml_collections.ConfigDict()
  config.critic = ml_collections.ConfigDict({"features": (6, 4), "window": 2})
  config.loss = ml_collections.ConfigDict({"gamma": gamma})
  return config


def test_gradient_penalty_matches_finite_differences():
  """L_r from jax.grad equals the same penalty from central differences of u . f."""
  config = _tiny_config(gamma=0.3)
  with jax.enable_x64(True):
    rng = np.random.default_rng(1)
    phi_mg = jnp.asarray(rng.normal(size=(2, 4, 68, 3)) * 5)
    phi_s = jnp.asarray(rng.normal(size=(2, 4, 68, 3)) * 5 + 1)
    f = style_net.StyleNetwork((6, 4))
    x_mg = task._cut_windows(phi_mg, 2)
    x_s = task._cut_windows(phi_s, 2)
    params = f.init(jax.random.key(0), x_s)["params"]
    _, l_r, distance = task.style_losses(params, phi_mg, phi_s, jax.random.key(1), config)

    delta = f.apply({"params": params}, x_mg).mean(0) - f.apply({"params": params}, x_s).mean(0)
    u = delta / jnp.linalg.norm(delta)
    mixed = np.asarray(0.3 * x_s + 0.7 * x_mg)
    score = jax.jit(lambda x: f.apply({"params": params}, x) @ u)
    eps = 1e-6
    norms = []
    for i in range(len(mixed)):
      grad = np.zeros(mixed[i].size)
      for j in range(mixed[i].size):
        step = np.zeros(mixed[i].size)
        step[j] = eps
        up = mixed[i] + step.reshape(mixed[i].shape)
        down = mixed[i] - step.reshape(mixed[i].shape)
        grad[j] = (score(up[None])[0] - score(down[None])[0]) / (2 * eps)
      norms.append(np.linalg.norm(grad))
    expected = np.mean((np.array(norms) - 1.0) ** 2)
    np.testing.assert_allclose(float(l_r), expected, rtol=1e-6)
    np.testing.assert_allclose(float(distance), float(jnp.linalg.norm(delta)), rtol=1e-9)


def test_windows_are_centred_and_scaled():
  phi = jnp.asarray(np.random.default_rng(2).normal(size=(3, 10, 68, 3)) + 40.0)
  x = task._cut_windows(phi, 4)
  assert x.shape == (3 * 2, 4, 68, 3)
  np.testing.assert_allclose(x.mean((1, 2)), 0, atol=1e-6)
  np.testing.assert_allclose(x[0] * np.sqrt(4 * 68 * 3),
                             phi[0, :4] - phi[0, :4].mean((0, 1)), atol=1e-4)


def test_style_motion_of_the_source_pose_is_the_face():
  face = jnp.asarray(np.random.default_rng(3).normal(size=(2, 68, 3)))
  pose = jnp.zeros((2, 12))
  np.testing.assert_allclose(motion.style_motion(face, pose), face, atol=1e-6)
  turned = motion.style_motion(face, pose.at[:, 2].set(90.0).at[:, 3].set(5.0))
  expected = jnp.stack([-face[..., 1] + 5.0, face[..., 0], face[..., 2]], -1)
  np.testing.assert_allclose(turned, expected, atol=1e-5)


# --- Stage ------------------------------------------------------------------------------
def _config(mg_dir, data_dir, reference):
  config = style_config.get_config("runlocal")
  config.data.data_dir = data_dir
  config.style.motion_generator_workdir = str(mg_dir)
  config.style.reference = reference
  return config


def test_eval_clips_are_other_speakers_in_the_reference_style(tiny_motion, synthetic_data_dir):
  config = _config(tiny_motion[1], synthetic_data_dir, "test/test-0000-opera-000")
  builder = datasets.get_builder(config.data)
  reference = style_eval.reference(builder, config)
  clips = style_eval.eval_clips(builder, config, config.evals.style, reference)
  assert clips and all(c["style"] == reference["style"] for c in clips)
  assert all(c["speaker_id"] != reference["speaker_id"] for c in clips)
  batch = next(task.train_batches(builder, config, start_step=7))
  again = next(task.train_batches(builder, config, start_step=7))
  np.testing.assert_array_equal(batch["landmarks"], again["landmarks"])
  assert batch["log_mel"].shape == (config.batch_size, 2 * config.data.window_frames, 80)
  config.style.reference = "test/no-such-clip"
  with pytest.raises(ConfigError, match="no clip 'no-such-clip'"):
    references.reference_clip(config.style.reference, builder)


def test_keep_loss_holds_the_timing_of_the_mouth_not_its_amplitude():
  """L_keep is 0 for the anchor's opening at any scale and offset, 2 for its opposite."""
  anchor = jnp.asarray(np.random.default_rng(0).random((3, 50)), jnp.float32)
  assert float(task.keep_loss((anchor, anchor))) == pytest.approx(0.0, abs=1e-5)
  assert float(task.keep_loss((3.0 * anchor + 1.0, anchor))) == pytest.approx(0.0, abs=1e-5)
  assert float(task.keep_loss((-anchor, anchor))) == pytest.approx(2.0, abs=1e-5)


def test_a_silent_reference_trains_on_the_drive_audio(tiny_motion, styles_silent_dir,
                                                      tmp_path):
  """A reference without sound needs config.style.drive_audio and no L_mg (each refused in
  one message otherwise); with both, batches carry windows of the drive audio, training
  starts at L_keep 0 (the model is its anchor) and moves the Motion Generator while the
  anchor stays the pre-trained one."""
  from stylehead_jax import checkpoint  # pylint: disable=g-import-not-at-top
  from stylehead_jax import train  # pylint: disable=g-import-not-at-top
  config = style_config.get_config("runlocal,video")
  config.style.motion_generator_workdir = str(tiny_motion[1])
  config.style.reference = str(styles_silent_dir / "style_furious_talk2_clip1.mp4")
  config.style.cache_dir = str(tmp_path / "cache")
  config.style.video_resolution = 64
  config.style.span = (0.0, 1.0)
  config.evals = type(config.evals)()
  config.update(total_steps=3, log_every_steps=1, checkpoint_every_steps=3, progress=False)
  with pytest.raises(ConfigError, match="no sound.*drive_audio"):
    next(task.train_batches(None, config))
  config.style.drive_audio = str(REAL / "speech_radio31.wav")
  with pytest.raises(ConfigError, match="no sound.*mg_weight=0"):
    next(task.train_batches(None, config))
  config.loss.mg_weight = 0.0
  batch = next(task.train_batches(None, config))
  window = config.data.window_frames
  assert batch["drive_log_mel"].shape == (config.batch_size, 2 * window, media.N_MELS)
  assert (batch["drive_log_mel"].mean((1, 2)) > media.SILENCE_LOG_MEL + 2).all()  # speech
  state = task.load_pretrained(nn.unbox(task.init(config, jax.random.key(0), batch)), config)
  _, parts = task.transfer_loss(state["params"], state["critic_params"],
                                state.get("audio_params"), batch, jax.random.key(1), config,
                                state["anchor_params"])
  assert float(parts["l_keep"]) == pytest.approx(0.0, abs=1e-4) and "l_mg" not in parts
  # phi_mg is generated on the drive audio: silence in its place moves it, phi_s not.
  key = jax.random.key(2)
  on_drive = task.motions(state["params"], state.get("audio_params"), batch, key, config)
  on_silence = task.motions(state["params"], state.get("audio_params"),
                            dict(batch, drive_log_mel=batch["log_mel"]), key, config)
  assert np.abs(np.asarray(on_drive[0]) - np.asarray(on_silence[0])).max() > 1e-4
  np.testing.assert_array_equal(on_drive[1], on_silence[1])
  result = train.train_and_evaluate(config, str(tmp_path / "st"))
  assert result["step"] == 3 and all(np.isfinite(loss) for _, loss in result["history"])
  pretrained = motion.load(str(tiny_motion[1])).params
  state = result["state"]
  same = lambda a, b: all(np.array_equal(x, y) for x, y in
                          zip(jax.tree.leaves(a), jax.tree.leaves(b)))
  assert same(state["anchor_params"], pretrained)
  assert not same(state["params"], pretrained)
  assert checkpoint.read_run_config(str(tmp_path / "st")).style.drive_audio


@pytest.mark.slow
def test_video_reference_trains_sharded_resumes_and_evaluates(trained, tmp_path):
  """A real video as the reference, its first half training on 2 CPU devices for 6 + 4
  steps (a re-run resumes), its second half evaluated before and after."""
  _, mg_dir, _, _ = trained
  workdir = tmp_path / "st"
  common = ["--config", "configs/style_transfer.py:runlocal,video", "--workdir", str(workdir),
            f"--config.style.motion_generator_workdir={mg_dir}",
            f"--config.style.reference={REAL / 'talk_vr_5.mp4'}",
            f"--config.style.cache_dir={tmp_path / 'cache'}",
            "--config.style.video_resolution=64", "--config.style.span=(0.0,0.5)",
            "--config.log_every_steps=2", "--config.checkpoint_every_steps=2",
            "--config.progress=False"]
  env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
  run([sys.executable, "-m", "stylehead_jax.train", *common,
       "--config.total_steps=6", "--config.evals.style.every_steps=-1"], env=env)
  assert "'data': 2" in (workdir / "train.log").read_text()
  run([sys.executable, "-m", "stylehead_jax.train", *common, "--config.total_steps=10"],
      env=env)
  summary = json.loads((workdir / "result.json").read_text())
  assert [s for s, _ in summary["history"]] == [8, 10]  # resumed at step 6
  out = tmp_path / "eval.json"
  run([sys.executable, "-m", "stylehead_jax.evaluate", *common, "--config.total_steps=10",
       "--json", str(out)], env=env)
  report = json.loads(out.read_text())
  m = report["evals"]["style"]
  assert report["step"] == 10 and m["num_clips"] == 1
  for key in style_eval.METRICS:
    assert np.isfinite(m[f"before_{key}"]) and np.isfinite(m[f"after_{key}"])
    assert m[f"{key}_change"] == pytest.approx(m[f"after_{key}"] / m[f"before_{key}"] - 1)
  # The same figures as training's own last evaluation: one evaluator.
  assert m["after_smd"] == pytest.approx(summary["eval"]["style"]["after_smd"], rel=1e-5)
  # A perfect mouth held still beats the untransferred model's mouth.
  assert m["still_head_smd"] < m["before_smd"]
  # The model moved: before and after differ.
  assert m["after_sld"] != m["before_sld"]


def test_the_style_references_split_by_person():
  """data_prep/style_references.py: every video exists, no person in both splits, and the
  test styles are at least six, four of them silent (media.load_soundtrack agrees with
  each row's `speech`)."""
  people = {}
  for style in style_references.STYLES:
    path = style_references.path_of(style, str(SHARED_DATA))
    assert os.path.exists(path), path
    assert (media.load_soundtrack(path) is not None) == style.speech, path
    people.setdefault(style.person, set()).add(style.split)
  assert all(len(splits) == 1 for splits in people.values()), people
  test = style_references.of_split("test")
  assert len(test) >= 6 and sum(not s.speech for s in test) >= 4
  assert style_references.of_split("validation")
