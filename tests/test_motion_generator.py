"""The motion_generator stage: representation, manifold projection, a :runlocal train +
evaluate against the baselines, sharding, and the generate_motion API on real speech."""

import dataclasses
import json
import shutil
import sys

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from configs import motion_generator as mg_config
from data_prep import real_clips
from data_prep.synthetic_talking_heads import world
from stylehead_jax import media
from stylehead_jax import motion
from stylehead_jax.errors import ConfigError
from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.landmarks import pose
from stylehead_jax.landmarks import tracking
from stylehead_jax.metrics import head_motion
from stylehead_jax.metrics import mouth
from stylehead_jax.style import amplitude
from stylehead_jax.style import manifold
from tests.conftest import REAL, run


# --- Representation ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def utterance():
  config = world.WorldConfig()
  speaker = world.make_speaker(config, "train", 0)
  return world.make_utterance(config, speaker, "rap", "train", 0)


def test_synthetic_landmarks_are_their_posed_canonical_faces(utterance):
  u = utterance
  face = pose.canonical_face(u.landmarks, u.rotation, u.translation)
  np.testing.assert_allclose(pose.posed_landmarks(face, u.rotation, u.translation),
                             u.landmarks, atol=1e-3)
  # Pose removed: the nose (rigid) stays put while the head sways and nods.
  assert face[:, 27:36].std(0).max() < 0.002
  assert np.ptp(pose.angles_from_rotation(u.rotation)[:, 1]) > 3  # degrees of nodding


def test_2d_tracks_round_trip_and_get_the_mean_face_depth(utterance):
  u = utterance
  flat = u.landmarks.copy()
  flat[..., 2] = 0
  face = pose.canonical_face(flat, u.rotation, u.translation)
  posed = pose.posed_landmarks(face, u.rotation, u.translation)
  np.testing.assert_allclose(posed[..., :2], flat[..., :2], atol=1e-3)
  # numpy and jax (as in the jitted train step) agree
  face_jax = pose.canonical_face(jnp.asarray(flat), jnp.asarray(u.rotation),
                                 jnp.asarray(u.translation))
  np.testing.assert_allclose(np.asarray(face_jax), face, atol=1e-4)


def test_pose_vectors_round_trip(utterance):
  u = utterance
  source = (u.rotation[0], u.translation[0], u.torso[0])
  vectors = motion.encode_pose(u.rotation, u.translation, u.torso, source)
  assert vectors.shape == (len(u.rotation), 12)
  np.testing.assert_allclose(vectors[0], 0, atol=1e-4)
  rotation, translation, torso = motion.decode_pose(vectors, source)
  np.testing.assert_allclose(rotation, u.rotation, atol=1e-5)
  np.testing.assert_allclose(translation, u.translation, atol=1e-3)
  np.testing.assert_allclose(torso, u.torso, atol=1e-3)


# --- Manifold projection ----------------------------------------------------------------
def test_pose_smoothing_is_zero_phase_and_removes_jitter():
  t = np.arange(240) / media.FPS
  sway = 2.0 * np.sin(2 * np.pi * 0.4 * t)
  vectors = np.stack([sway + 0.5 * np.sin(2 * np.pi * 10 * t)] * motion.mg.POSE_SIZE, -1)
  smooth = motion.smooth_pose(vectors, 0.1)
  assert motion.smooth_pose(vectors, 0.0) is vectors
  np.testing.assert_allclose(np.asarray(motion.smooth_pose(jnp.asarray(vectors), 0.1)),
                             smooth, atol=1e-5)
  batched = motion.smooth_pose(np.stack([vectors, vectors]), 0.1, axis=1)
  np.testing.assert_allclose(batched[1], smooth)
  inner = slice(30, -30)  # away from the padded ends
  # The 10 Hz ripple is gone, the 0.4 Hz sway kept in place (no lag) and nearly in size.
  np.testing.assert_allclose(smooth[inner, 0], sway[inner] * np.exp(
      -0.5 * (2 * np.pi * 0.4 * 0.1) ** 2), atol=0.01)
  assert head_motion.jitter_share(smooth[:, :5]).max() < 1e-3
  # The first frame (the source's pose) keeps its value however wide the Gaussian.
  for seconds in (0.1, 2.0):
    np.testing.assert_allclose(motion.smooth_pose(vectors, seconds)[0], vectors[0], atol=1e-6)


def test_head_motion_noise_starts_at_the_source_frame():
  """Zero up to the source step, then AR(1) growing to unit variance over its time
  constant; white after the start where the time constant is 0."""
  white = np.random.default_rng(0).standard_normal((600, 4000))
  noise = np.asarray(motion.correlated_noise(white, 0.5, start=6))
  np.testing.assert_array_equal(noise[:7], 0.0)
  rho = np.exp(-1 / 30)
  for t in (7, 36, 306):
    assert noise[t].var() == pytest.approx(1 - rho ** (2 * (t - 6)), rel=0.08)
  np.testing.assert_allclose(np.corrcoef(noise[400], noise[401])[0, 1], rho, atol=0.02)
  white_after = np.asarray(motion.correlated_noise(white, 0.0, start=6))
  np.testing.assert_array_equal(white_after[7:], white[7:].astype(white_after.dtype))


def test_noise_mixing_couples_the_head_axes_as_configured():
  correlation = np.eye(5)
  correlation[0, 3] = correlation[3, 0] = 0.8  # yaw with x
  correlation[1, 4] = correlation[4, 1] = -0.9  # pitch with y
  config = ml_collections.ConfigDict(dict(pose_axis_correlation=tuple(correlation.ravel())))
  mixing = motion.noise_mixing(config)
  np.testing.assert_array_equal(mixing[5:, 5:], np.eye(motion.mg.POSE_SIZE - 5))
  e = np.random.default_rng(0).standard_normal((200_000, motion.mg.POSE_SIZE)) @ mixing.T
  np.testing.assert_allclose(np.corrcoef(e.T)[:5, :5], correlation, atol=0.01)
  np.testing.assert_array_equal(motion.noise_mixing(ml_collections.ConfigDict()),
                                np.eye(motion.mg.POSE_SIZE))  # runs from before it
  impossible = np.eye(5)
  impossible[0, 3] = impossible[3, 0] = 1.5
  for bad, reason in ((impossible, "positive definite"), (np.triu(correlation), "symmetric")):
    config.pose_axis_correlation = tuple(bad.ravel())
    with pytest.raises(ConfigError, match=reason):
      motion.noise_mixing(config)


def test_pose_smoothing_and_temperatures_per_value():
  t = np.arange(240) / media.FPS
  vectors = np.stack([np.sin(2 * np.pi * 10 * t + k) for k in range(motion.mg.POSE_SIZE)], -1)
  seconds = np.zeros(motion.mg.POSE_SIZE)
  seconds[[0, 3]] = 0.1
  seconds[1] = 0.3
  out = motion.smooth_pose(vectors, seconds)
  np.testing.assert_array_equal(out[:, 2:3], vectors[:, 2:3])  # 0: as it was
  np.testing.assert_allclose(out[:, [0, 3]], motion.smooth_pose(vectors, 0.1)[:, [0, 3]])
  np.testing.assert_allclose(out[:, 1], motion.smooth_pose(vectors, 0.3)[:, 1])
  np.testing.assert_allclose(np.asarray(motion.smooth_pose(jnp.asarray(vectors), seconds)),
                             out, atol=1e-5)

  config = ml_collections.ConfigDict(dict(pose_temperature=0.5, pose_smoothing_seconds=0.1))
  temperatures, smoothing = motion.sampling(config)  # a run from before the factors
  np.testing.assert_allclose(temperatures, 0.5)
  np.testing.assert_allclose(smoothing, 0.1)
  config.pose_axis_temperature = (1.0, 2.0, 3.0, 4.0, 5.0)
  config.pose_axis_smoothing = (0.0, 1.0, 2.0, 1.0, 1.0)
  temperatures, smoothing = motion.sampling(config, temperature=2.0)
  np.testing.assert_allclose(temperatures, [2, 4, 6, 8, 10] + [2] * 7)
  np.testing.assert_allclose(smoothing, [0, 0.1, 0.2, 0.1, 0.1] + [0.1] * 7)
  config.pose_axis_temperature = (1.0, 2.0)
  with pytest.raises(ConfigError, match="one factor per head axis"):
    motion.sampling(config)


def test_nearest_matches_brute_force_across_chunks():
  rng = np.random.default_rng(0)
  bank = rng.normal(size=(301, 8)).astype(np.float32)  # not a multiple of the chunks
  queries = rng.normal(size=(37, 8)).astype(np.float32)
  d2, idx = manifold.nearest(queries, bank, 10, query_chunk=16, bank_chunk=32)
  brute = ((queries[:, None] - bank[None]) ** 2).sum(-1)
  np.testing.assert_array_equal(np.asarray(idx), np.argsort(brute, 1)[:, :10])
  np.testing.assert_allclose(np.asarray(d2), np.sort(brute, 1)[:, :10], rtol=1e-4, atol=1e-4)


def test_projection_rebuilds_points_of_the_local_affine_hull():
  rng = np.random.default_rng(1)
  bank = rng.normal(size=(200, 16)).astype(np.float32)
  # A query that is an affine combination of bank rows (a tight cluster away from the
  # rest, so they are its 3 nearest) is rebuilt exactly from them.
  bank[:3] = 5.0 + 0.1 * rng.normal(size=(3, 16))
  near = bank[:3]
  query = (0.5 * near[0] + 0.3 * near[1] + 0.2 * near[2])[None]
  d2, idx = manifold.nearest(query, bank, 3)
  assert set(np.asarray(idx[0]).tolist()) == {0, 1, 2}
  w = manifold.reconstruction_weights(jnp.asarray(query), jnp.asarray(bank)[idx], reg=1e-9)
  np.testing.assert_allclose(float(w.sum()), 1.0, atol=1e-5)
  rebuilt = np.einsum("k,kd->d", np.asarray(w[0]), bank[np.asarray(idx[0])])
  np.testing.assert_allclose(rebuilt, query[0], atol=1e-3)
  # weight 0 leaves features as they are; weight 1 moves them into the bank's hull
  features = rng.normal(size=(5, 16)).astype(np.float32)
  np.testing.assert_allclose(np.asarray(manifold.project(features, bank, 0.0)), features)
  moved = np.asarray(manifold.project(features, bank, 1.0))
  assert np.all(np.linalg.norm(moved - features, axis=1) > 0.1)


def test_nearest_never_holds_the_distance_matrix():
  """Compiled for 20k queries x 200k bank rows (a 16 GB float32 matrix), its scratch
  memory stays at one chunk pair."""
  queries = jax.ShapeDtypeStruct((20_000, 64), jnp.float32)
  bank = jax.ShapeDtypeStruct((200_000, 64), jnp.float32)
  compiled = manifold.nearest.lower(queries, bank, 10).compile()
  temp = compiled.memory_analysis().temp_size_in_bytes
  assert temp < 256 * 2**20, temp  # the full matrix would be 16e9 bytes


# --- Training and evaluation ------------------------------------------------------------
@pytest.mark.slow  # waits for the 1,000-step :runlocal run, which make test never trains
def test_runlocal_beats_the_baselines_on_unseen_speakers(trained):
  _, mg_dir, config, result = trained
  ev = result["eval"]["motion"]
  print(json.dumps(ev, indent=1))
  assert result["step"] == config.total_steps
  losses = [loss for _, loss in result["history"]]
  assert losses[-1] < 0.3 * losses[0], losses
  assert ev["num_clips"] == 16  # the test split: speakers never seen in training
  assert ev["lmd"] <= 0.5 * ev["no_motion_lmd"], ev
  assert ev["shuffled_audio_lmd"] > 1.5 * ev["lmd"], ev
  assert ev["d_a"] < 0.5 * ev["no_motion_d_a"], ev
  assert ev["mouth_opening_r"] > 0.8, ev
  assert 0 < ev["mouth_open_p95_ratio"] < 2 and 0 < ev["mouth_open_truth_p95"], ev
  # The head as a viewer sees it (metrics/head_motion.py): the smoothed samples keep
  # almost no velocity power above 4 Hz; the window distance has its reference points.
  for axis in head_motion.AXES:
    assert ev[f"pose_jitter_share_{axis}"] < 0.05, ev
    assert 0.2 < ev[f"pose_amplitude_ratio_{axis}"] < 5, ev
  assert ev["pose_window_distance_still"] > 0 and ev["pose_window_distance_other"] > 0, ev
  assert list((mg_dir / "tensorboard").glob("events.out.tfevents.*"))


@pytest.mark.slow
def test_evaluate_cli_restores_and_reports_the_same_figures(trained, tmp_path):
  apc_dir, mg_dir, config, result = trained
  out = tmp_path / "eval.json"
  proc = run([sys.executable, "-m", "stylehead_jax.evaluate", "--config",
              "configs/motion_generator.py:runlocal", "--workdir", str(mg_dir),
              f"--config.data.data_dir={config.data.data_dir}",
              f"--config.audio.encoder_workdir={apc_dir}", "--json", str(out)])
  assert "no_motion_lmd" in proc.stdout
  report = json.loads(out.read_text())
  assert report["step"] == config.total_steps
  for key in ("lmd", "no_motion_lmd", "shuffled_audio_lmd", "d_l", "d_v", "d_a"):
    assert report["evals"]["motion"][key] == pytest.approx(result["eval"]["motion"][key],
                                                   rel=1e-5), key


@pytest.mark.slow
def test_calibration_lowers_the_worst_axis_error_and_writes_the_factors(trained, tmp_path):
  """eval/calibrate_pose.py on three validation clips: the worst |log ratio| of any axis'
  amplitude or speed falls from the first round, --flags writes them as config flags,
  --write puts them where motion.load reads them and motion.sampling applies them; the
  evaluation split as validation: a clear error."""
  apc_dir, mg_dir, config, _ = trained
  workdir = tmp_path / "run"
  shutil.copytree(mg_dir, workdir)
  ids = "('validation-0000-talk-000','validation-0001-opera-000','validation-0002-rap-000')"
  out, flags_out = tmp_path / "calibration.json", tmp_path / "sampling.flags"
  common = [sys.executable, "eval/calibrate_pose.py", "--config",
            "configs/motion_generator.py:runlocal", "--workdir", str(workdir),
            f"--config.data.data_dir={config.data.data_dir}",
            f"--config.audio.encoder_workdir={apc_dir}"]
  proc = run(common + [f"--config.data.validation_clip_ids={ids}", "--iterations", "3",
                       "--draws", "2", "--json", str(out), "--flags", str(flags_out),
                       "--write"])
  assert "3 clips of 'validation'" in proc.stdout, proc.stdout
  fit = json.loads(out.read_text())
  history = fit["history"]
  assert history[0]["pose_axis_temperature"] == [1.0] * 5
  assert min(h["worst_log_ratio"] for h in history[1:]) < history[0]["worst_log_ratio"], history
  flag_lines = flags_out.read_text().split()
  assert flag_lines == [f"--config.{key}=({','.join(map(str, fit[key]))})"
                        for key in ("pose_axis_temperature", "pose_axis_smoothing",
                                    "pose_axis_correlation")]
  model = motion.load(str(workdir))
  assert tuple(model.config.pose_axis_temperature) == tuple(fit["pose_axis_temperature"])
  assert tuple(model.config.pose_axis_temperature) != (1.0,) * 5
  temperatures, _ = motion.sampling(model.config)
  np.testing.assert_allclose(temperatures[:5], np.asarray(fit["pose_axis_temperature"]) *
                             config.pose_temperature, rtol=1e-6)
  proc = run(common + ["--config.data.validation_split=test"], check=False)
  assert proc.returncode != 0 and "evaluation split" in proc.stderr
  assert "Traceback" not in proc.stderr


def test_missing_audio_encoder_is_a_clear_error(synthetic_data_dir, tmp_path):
  proc = run([sys.executable, "-m", "stylehead_jax.train", "--config",
              "configs/motion_generator.py:runlocal", "--workdir", str(tmp_path),
              f"--config.data.data_dir={synthetic_data_dir}"], check=False)
  assert proc.returncode != 0
  assert "encoder_workdir is empty" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_sharded_steps_match_one_device(trained, tmp_path):
  """The same 3 steps on 1 device and on a 2 (data) x 2 (model) mesh of CPU devices."""
  apc_dir, _, config, _ = trained
  losses = {}
  for devices, mesh in ((1, None), (4, "(('data', 2), ('model', 2))")):
    workdir = tmp_path / f"d{devices}"
    cmd = [sys.executable, "-m", "stylehead_jax.train", "--config",
           "configs/motion_generator.py:runlocal", "--workdir", str(workdir),
           f"--config.data.data_dir={config.data.data_dir}",
           f"--config.audio.encoder_workdir={apc_dir}", "--config.total_steps=3",
           "--config.log_every_steps=1", "--config.evals.motion.every_steps=-1",
           "--config.progress=False"]
    if mesh:
      cmd.append(f"--config.mesh={mesh}")
    run(cmd, env={"XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"})
    if mesh:
      log = (workdir / "train.log").read_text()
      shardings = next(l for l in log.splitlines() if "state shardings" in l)
      assert "over 'model'" in shardings, shardings
    summary = json.loads((workdir / "result.json").read_text())
    losses[devices] = [loss for _, loss in summary["history"]]
  assert len(losses[1]) == 3
  np.testing.assert_allclose(losses[4], losses[1], rtol=1e-4, atol=1e-5)


# --- The API ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def portrait():
  return tracking.extract(REAL / "face_people_0.png")


def _speech(seconds: float) -> np.ndarray:
  """Real speech clips back to back, cut to `seconds`."""
  names = ("speech_jfk_en.wav", "speech_radio31.wav", "speech_radio34.wav",
           "speech_japanese.wav", "speech_chinese_news.wav")
  audio = np.concatenate([media.load_audio(REAL / n) for n in names] * 2)
  need = int(seconds * media.SAMPLE_RATE)
  assert len(audio) >= need
  return audio[:need]


@pytest.mark.slow
def test_generate_motion_on_61_s_of_real_speech(trained, portrait):
  _, mg_dir, _, _ = trained
  model = motion.load(str(mg_dir))
  source = dict(source_pose=(portrait.rotation[0], portrait.translation[0]),
                source_torso=portrait.torso[0], resolution=512)
  track = motion.generate_motion(_speech(61.0), portrait.landmarks[0], model,
                                 jax.random.key(0), **source)
  assert track.landmarks.shape == (3660, 68, 3)
  assert track.rotation.shape == (3660, 3, 3) and track.torso.shape == (3660, 3, 2)
  assert np.all(np.isfinite(track.landmarks))
  # the face stays on the crop and its mouth moves with the speech
  assert track.landmarks[..., :2].min() > 0 and track.landmarks[..., :2].max() < 512
  assert lmk.mouth_opening(track.landmarks).std() > 0.5  # pixels at 512


def test_chunking_does_not_change_the_motion(tiny_motion, portrait):
  _, mg_dir = tiny_motion
  model = motion.load(str(mg_dir))
  audio = _speech(7.3)
  tracks = [motion.generate_motion(audio, portrait.landmarks[0], model, jax.random.key(3),
                                   chunk_frames=c) for c in (50, 1000)]
  assert len(tracks[0].landmarks) == round(7.3 * media.FPS)
  np.testing.assert_allclose(tracks[0].landmarks, tracks[1].landmarks, atol=0.05)
  # seeded: the same key gives the same head motion, another key another
  again = motion.generate_motion(audio, portrait.landmarks[0], model, jax.random.key(3))
  other = motion.generate_motion(audio, portrait.landmarks[0], model, jax.random.key(4))
  np.testing.assert_allclose(again.translation, tracks[0].translation, atol=1e-3)
  assert np.abs(other.translation - again.translation).max() > 0.01


def test_another_head_sampling_setting_compiles_nothing_again(tiny_motion, portrait):
  """A head-sampling setting (as calibration tries them) moves the head otherwise with the
  compiled networks as they are."""
  _, mg_dir = tiny_motion
  model = motion.load(str(mg_dir))
  audio = _speech(2.0)
  first = motion.generate_motion(audio, portrait.landmarks[0], model, jax.random.key(3))
  compiled = motion._generate_chunk._cache_size(), motion._encode_audio._cache_size()
  wider = motion.generate_motion(audio, portrait.landmarks[0], model.with_settings(
      pose_axis_temperature=(2.0, 2.0, 2.0, 2.0, 2.0)), jax.random.key(3))
  assert np.abs(wider.translation - first.translation).max() > 0.01
  assert (motion._generate_chunk._cache_size(), motion._encode_audio._cache_size()) == compiled


def test_mouth_gain_opens_the_mouth_and_drops_the_jaw(tiny_motion, portrait):
  """config.mouth_gain g: the inner lips' gap g times as wide (in the canonical face; the
  posed landmarks are linear in it), the lower lip and chin moved with it, nothing else."""
  face = np.repeat(lmk.MEAN_FACE_3D[None], 3, 0).astype(np.float64)
  face[1, 66, 1] += 0.05  # frame 1 open, frame 2 lips crossed (not opened further)
  face[2, 66, 1] = face[2, 62, 1] - 0.01
  wide = motion.open_mouth(face, 3.0)
  gap = lambda f: f[:, 66, 1] - f[:, 62, 1]
  np.testing.assert_allclose(gap(wide)[:2], 3 * gap(face)[:2])
  np.testing.assert_array_equal(wide[2], face[2])
  still = motion.JAW_DROP == 0
  np.testing.assert_array_equal(wide[:, still], face[:, still])
  assert wide[1, 8, 1] > face[1, 8, 1]  # the chin drops
  _, mg_dir = tiny_motion
  model = motion.load(str(mg_dir))
  audio = _speech(2.0)
  a, b = (motion.generate_motion(audio, portrait.landmarks[0], model.with_settings(
      mouth_gain=g), jax.random.key(3)).landmarks for g in (1.0, 2.0))
  np.testing.assert_array_equal(b[:, still], a[:, still])


def test_feature_bank_holds_the_streamed_features(tiny_motion):
  """The manifold bank of a clip, encoded in chunks of 50 frames, holds the features the
  APC gives the clip in one piece, one row per mel frame."""
  _, mg_dir = tiny_motion
  model = motion.load(str(mg_dir))
  log_mel = media.log_mel(_speech(2.1))
  bank = motion.feature_bank(model, [log_mel], size=10_000, chunk_frames=50)
  whole, _ = motion.audio_features(model.config, model.audio_params, log_mel[None])
  rows = np.asarray(whole[0]).reshape(len(log_mel), -1)
  assert bank.shape == rows.shape
  np.testing.assert_allclose(bank, rows, atol=1e-4)


def test_the_real_config_reads_the_real_clips_beside_the_synthetic_world():
  """configs/motion_generator.py:real: trained on the real clips' train split mixed with
  the synthetic world in the same data_dir, fitted on their validation split, scored on
  their test split against a truth smoothed as the samples are."""
  config = mg_config.get_config("real")
  config.data.data_dir = "/somewhere"
  assert config.data.name == "talking_head_videos"
  assert config.data.overrides == real_clips.OVERRIDES
  assert (config.data.train_split, config.data.validation_split,
          config.data.eval_split) == ("train", "validation", "test")
  assert config.data.mix.name == "synthetic_talking_heads" and config.data.mix.weight > 0
  assert config.data.mix.data_dir == "/somewhere"  # follows data_dir
  assert config.audio.source == "log_mel"
  assert config.evals.motion.max_clips == len(real_clips.of_split("test"))
  assert config.evals.motion.truth_smoothing == config.pose_smoothing_seconds


def test_the_shipped_config_sees_only_clips_whose_licence_lets_weights_ship():
  """configs/motion_generator.py:real,shipped (make pretrained): the train split less the
  clips that may not ship (real/ and voxceleb2_sample/ are for testing; NC or no licence),
  calibrated on the shippable validation clips; figures on the whole test split."""
  config = mg_config.get_config("real,shipped")
  excluded = set(config.data.exclude_clips)
  for clip in real_clips.of_split("train"):
    assert (real_clips.clip_id(clip) in excluded) != real_clips.shippable(clip), clip
  shippable = [c for c in real_clips.CLIPS if real_clips.shippable(c)]
  assert {c.person for c in shippable if c.split == "train"} == {"obama", "macron", "aragaki"}
  assert not any(c.path.startswith(("real/", "voxceleb2_sample/")) or "NC" in c.licence
                 or "none stated" in c.licence for c in shippable)
  assert set(config.data.validation_clip_ids) == {
      real_clips.clip_id(c) for c in shippable if c.split == "validation"} != set()
  assert config.evals.motion.max_clips == len(real_clips.of_split("test"))
  assert 0 < config.data.mix.weight < 1  # the synthetic world beside them
  with pytest.raises(ValueError, match="only with real"):
    mg_config.get_config("shipped")


def _clip_opened_by(opening: np.ndarray, log_mel: np.ndarray) -> dict:
  """A still, frontal mean face whose inner lower lip drops `opening` eye distances per
  frame, with `log_mel` as its audio."""
  face = np.repeat(lmk.MEAN_FACE_3D[None] * 200.0 + [128.0, 128.0, 0.0], len(opening), 0)
  face[:, [65, 66, 67], 1] += opening[:, None] * lmk.interocular(face)[:, None]
  return {"log_mel": log_mel, "landmarks": face,
          "head_pose": {"rotation": np.repeat(np.eye(3)[None], len(opening), 0),
                        "translation": np.tile([128.0, 128.0, 200.0], (len(opening), 1))}}


def test_the_opening_term_scores_when_the_mouth_opens_not_how_wide():
  """motion.opening_r (L_mg's opening term): 1 for a mouth that opens at the truth's
  moments half as wide and from another rest, -1 for one that opens when the truth's
  closes; a window whose true mouth does not move counts for nothing."""
  t = np.arange(120)
  truth = 0.05 * (1 + np.sin(t / 5.0))
  face = lambda opening: jnp.asarray(
      _clip_opened_by(opening, np.zeros((1, 1)))["landmarks"][None], jnp.float32)
  valid = jnp.ones((1, len(t)))
  assert float(motion.opening_r(face(0.5 * truth + 0.02), face(truth), valid)) > 0.999
  assert float(motion.opening_r(face(0.1 - truth), face(truth), valid)) < -0.999
  still = face(np.full(len(t), 0.05))
  both = jnp.concatenate([face(truth), still])
  predicted = jnp.concatenate([face(truth), face(truth)])
  assert float(motion.opening_r(predicted, both, jnp.ones((2, len(t))))) > 0.999


def test_the_mouth_ceiling_finds_a_mouth_its_audio_drives_and_none_in_noise():
  """eval/mouth_ceiling.py's person-specific map: a mouth that opens with a band of its
  audio is read back on the held-out half (r above 0.8, LMD half the still face's); a
  mouth that moves regardless of its audio is not."""
  from eval import mouth_ceiling  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  frames = 2400  # 40 s, as the longest test clips
  log_mel = rng.normal(-4.0, 2.0, (media.MELS_PER_FRAME * frames, media.N_MELS))
  band = log_mel.reshape(frames, -1, media.N_MELS)[:, :, 10:30].mean((1, 2))
  driven = 0.1 * (band - band.min()) / np.ptp(band)
  row = mouth_ceiling.within_clip(_clip_opened_by(driven, log_mel))
  assert row["mouth_opening_r"] > 0.8
  assert row["mouth_lmd"] < 0.5 * row["no_motion_mouth_lmd"]
  unrelated = rng.permutation(driven)
  row = mouth_ceiling.within_clip(_clip_opened_by(unrelated, log_mel))
  assert abs(row["mouth_opening_r"]) < 0.2
  assert row["mouth_lmd"] > 0.9 * row["no_motion_mouth_lmd"]


def _amplitude_of(track: motion.MotionTrack, config) -> amplitude.Amplitude:
  """Measured as a style video's track is (about its first frame)."""
  clip = {"landmarks": track.landmarks, "torso": track.torso,
          "head_pose": {"rotation": track.rotation, "translation": track.translation}}
  return motion.style_amplitude(clip, config)


def _sampled(tiny_motion, portrait, seconds: float):
  """(model at temperature 1, speech of `seconds`, the portrait's source pose and torso,
  the motion generated from them without a style, seed 1)."""
  _, mg_dir = tiny_motion
  model = motion.load(str(mg_dir)).with_settings(pose_temperature=1.0)
  audio = _speech(seconds)
  source = dict(source_pose=(portrait.rotation[0], portrait.translation[0]),
                source_torso=portrait.torso[0])
  plain = motion.generate_motion(audio, portrait.landmarks[0], model, jax.random.key(1),
                                 **source)
  return model, audio, source, plain


def test_a_style_amplitude_gives_the_motion_its_spread(tiny_motion, portrait):
  """generate_motion(style=...) scales each head axis and the mouth's opening so that the
  motion, measured as a style video is (motion.style_amplitude), has the style's."""
  model, audio, source, plain = _sampled(tiny_motion, portrait, 6.0)
  mine = _amplitude_of(plain, model.config)
  assert np.all(mine.head > amplitude.MIN_SPREAD) and mine.mouth > 0.01
  factors = np.array([2.0, 0.5, 1.5, 3.0, 0.7])
  style = amplitude.Amplitude(head=mine.head * factors, mouth=1.6 * mine.mouth,
                              window=mine.window, mouth_quantiles=1.6 * mine.mouth_quantiles)
  styled = motion.generate_motion(audio, portrait.landmarks[0], model, jax.random.key(1),
                                  style=style, **source)
  theirs = _amplitude_of(styled, model.config)
  # past the first EASE_SECONDS (the gains ease in there), the head's spread takes them
  eased = int(amplitude.EASE_SECONDS * media.FPS)
  after = lambda track: motion.MotionTrack(**{
      f.name: getattr(track, f.name)[eased:] for f in dataclasses.fields(track)})
  np.testing.assert_allclose(
      _amplitude_of(after(styled), model.config).head
      / _amplitude_of(after(plain), model.config).head, factors, rtol=0.03)
  np.testing.assert_allclose(theirs.mouth / mine.mouth, 1.6, rtol=0.03)
  # the first frame keeps the portrait's pose; a style beyond MAX_GAIN is held at it
  np.testing.assert_allclose(styled.rotation[0], plain.rotation[0], atol=1e-4)
  still = amplitude.Amplitude(100 * mine.head, 0.0, mine.window,
                              np.zeros(len(amplitude.PERCENTILES)))
  np.testing.assert_allclose(amplitude.head_gains(mine, still), amplitude.MAX_GAIN)
  opening = mouth.opening(motion.canonical(plain.landmarks, plain.rotation,
                                                   plain.translation))
  for match in amplitude.MOUTH_MATCHES:  # a style whose mouth never opens: no change
    gains = amplitude.mouth_gains(opening, dataclasses.replace(still, mouth_match=match))
    np.testing.assert_array_equal(gains, 1.0)


def test_a_style_mouth_is_matched_percentile_by_percentile():
  """Quantile mapping (a study's variant): a motion's open frames take the style's
  distribution of openings in their own order; closed frames stay closed; "p95" (the
  default) matches one percentile with one factor."""
  rng = np.random.default_rng(0)
  opening = np.abs(rng.normal(0.08, 0.04, 1200))
  opening[:200] = 0.0  # closed a sixth of the time
  theirs = rng.gamma(2.0, 0.06, 900)
  style = amplitude.Amplitude(head=None, mouth=float(np.percentile(theirs, 95)), window=900,
                              mouth_quantiles=np.percentile(theirs, amplitude.PERCENTILES),
                              mouth_match="quantiles")
  mapped = opening * amplitude.mouth_gains(opening, style)
  assert np.all(mapped[:200] == 0.0)
  order = np.argsort(opening[200:])
  assert np.all(np.diff(mapped[200:][order]) >= -1e-12)  # monotone: the same order
  np.testing.assert_allclose(np.percentile(mapped, [50, 75, 95]),
                             np.percentile(theirs, [50, 75, 95]), rtol=0.05)
  p95 = dataclasses.replace(style, mouth_match="p95")
  gains = amplitude.mouth_gains(opening, p95)
  assert np.ptp(gains) == 0  # one factor for every frame
  np.testing.assert_allclose(np.percentile(opening * gains, 95), style.mouth, rtol=1e-6)


def test_a_style_amplitude_is_measured_over_spans_of_the_outputs_length():
  """A head that drifts spreads further over a longer span: measured over 2 s windows, a
  steady 20 s drift spreads a tenth as far as over the whole clip."""
  poses = np.zeros((1200, 11))  # pose vectors: 5 head axes, log-scale, torso
  poses[:, 0] = np.arange(1200) / 100
  faces = np.repeat(lmk.MEAN_FACE_3D[None], 1200, 0)
  whole, spans = amplitude.measure(faces, poses), amplitude.measure(faces, poses, 120)
  np.testing.assert_allclose(whole.head[0] / spans.head[0], 10.0, rtol=1e-3)
  assert spans.window == 120 and whole.window == 1200
  longer = amplitude.measure(faces, poses, 5000)  # spans longer than the clip: all of it
  assert longer.head[0] == whole.head[0] and longer.window == 1200


def test_a_gain_above_one_widens_the_heads_motion_not_its_drift():
  """style/amplitude.scale_head, "local": a slow drift away from the source pose (what a
  fine-tuned model can learn) is not widened by a gain above 1, the sway about it is; a
  gain of at most 1 scales as "source" does; the first frame keeps the source's pose.
  "source" widens the drift too (the surprisegirl failure: a head pitched 24 degrees)."""
  t = np.arange(1200)
  sway = 0.5 * np.sin(2 * np.pi * t / 60)  # 1 s period
  drift = -2.0 * np.minimum(t / 300, 1.0)  # settles 2 units away within 5 s
  head = np.stack([sway + drift] + [sway] * 4, -1)
  head -= head[0]  # relative to the source pose
  gains = np.array([4.0, 4.0, 0.5, 1.0, 0.25])
  target = gains * amplitude.head_spread(head, 240)  # what head_gains' gains come from
  local = amplitude.scale_head(head, gains, "local", window=240, target=target)
  source = amplitude.scale_head(head, gains, "source", window=240)
  np.testing.assert_allclose(local[0], 0.0, atol=1e-12)
  late = slice(600, 1200)  # past the drift and the ease
  assert abs(local[late, 0].mean() - head[late, 0].mean()) < 0.05  # the drift as it was
  assert abs(source[late, 0].mean() - 4 * head[late, 0].mean()) < 0.05  # widened 4x
  # the sway takes the style's spread over the spans (the drift's share of it included)
  np.testing.assert_allclose(amplitude.head_spread(local[late], 240)[:2], target[:2],
                             rtol=0.1)
  np.testing.assert_allclose(local[:, 2:], source[:, 2:], atol=1e-12)  # gains <= 1
  with pytest.raises(ValueError, match="head_centre"):
    amplitude.scale_head(head, gains, "median", target=target)


def test_scaled_about_its_mean_a_lasting_offset_keeps_its_size():
  """style/amplitude.scale_head, "mean": the head's motion about its own mean takes the
  gains (its spread over any span: what head_gains measured), the mean offset from the
  source pose stays as generated, and the first frame keeps the source's pose."""
  t = np.arange(1200)
  sway = 0.5 * np.sin(2 * np.pi * t / 60)
  head = np.stack([sway + 2.0] * 5, -1)  # a lasting offset of 2 units
  head[0] = 0.0  # the source pose
  gains = np.array([8.0, 1.0, 0.5, 2.0, 0.25])
  scaled = amplitude.scale_head(head, gains, "mean")
  np.testing.assert_allclose(scaled[0], 0.0, atol=1e-12)
  np.testing.assert_allclose(scaled.mean(0), head.mean(0), atol=0.05)
  late = slice(120, 1200)  # past the ease
  np.testing.assert_allclose(amplitude.head_spread(scaled[late], 240),
                             gains * amplitude.head_spread(head[late], 240), rtol=1e-3)
  source = amplitude.scale_head(head, gains, "source")
  assert abs(source[late, 0].mean() - 16.0) < 0.1  # "source" widened the offset 8x


def test_a_head_faster_than_the_style_is_slowed_to_its_tempo():
  """style/amplitude.slow_head ("style_tempo"): each axis that crosses its range faster than
  the style's head (speed over spread, `tempo`) is low-passed until it crosses it as fast;
  an axis already slower, or still in the style, is kept; the first frame keeps the
  source's pose; "model_tempo" (the default) keeps the model's speed."""
  t = np.arange(1200) / media.FPS
  sway = lambda hz, phase=0.0: np.sin(2 * np.pi * hz * t + phase)
  head = np.stack([2 * sway(0.3) + sway(2.5), 2 * sway(0.3) + sway(2.5, 1.0), sway(0.2),
                   sway(0.3) + sway(3.0), sway(0.5)], -1)
  head -= head[0]
  theirs = np.stack([3 * sway(0.4, 1.0)] * 4 + [np.zeros_like(t)], -1)  # y: still
  faces = np.repeat(lmk.MEAN_FACE_3D[None], len(t), 0)
  style = amplitude.measure(faces, theirs, 480)
  target = amplitude.tempo(style.head, style.head_speed)
  np.testing.assert_allclose(target[:4], 2 * np.pi * 0.4, rtol=0.05)
  smooth = lambda series, seconds: motion.smooth_pose(series, seconds)
  np.testing.assert_array_equal(amplitude.slow_head(head, style, smooth), head)
  slowed = amplitude.slow_head(head, amplitude.variant(style, "style_tempo"), smooth)
  tempo = lambda h: amplitude.tempo(amplitude.head_spread(h, 480),
                                    amplitude.head_speed(h, 480))
  np.testing.assert_allclose(tempo(slowed)[[0, 1, 3]], target[[0, 1, 3]], rtol=0.01)
  assert tempo(head)[0] > 1.5 * target[0]
  np.testing.assert_array_equal(slowed[:, [2, 4]], head[:, [2, 4]])  # slower; still style
  np.testing.assert_allclose(slowed[0], 0.0, atol=1e-9)
  with pytest.raises(ValueError, match="tempo"):
    amplitude.variant(style, "slow")


def test_a_head_slower_than_the_style_is_sampled_faster():
  """style/amplitude.tempo_speedup ("matched_tempo"): per axis, the style's tempo over the
  head's times how much faster it was sampled, within 1 to MAX_TEMPO_SPEEDUP; 1 on an axis
  already as fast, still on either side, or where the tempo is not matched."""
  t = np.arange(1200) / media.FPS
  sway = lambda hz: np.sin(2 * np.pi * hz * t)
  head = np.stack([sway(0.2), sway(0.2), sway(1.0), sway(0.01), np.zeros_like(t)], -1)
  theirs = np.stack([sway(0.6), sway(4.0), sway(0.5), sway(0.5), sway(0.5)], -1)
  faces = np.repeat(lmk.MEAN_FACE_3D[None], len(t), 0)
  style = amplitude.variant(amplitude.measure(faces, theirs, 480), "matched_tempo")
  speedup = amplitude.tempo_speedup(head, style)
  np.testing.assert_allclose(speedup[0], 3.0, rtol=0.05)  # 0.6 Hz over 0.2 Hz
  assert speedup[1] == amplitude.MAX_TEMPO_SPEEDUP  # 20x: held at the largest factor
  assert speedup[2] == 1.0 and speedup[4] == 1.0  # faster already; still
  # sampled 2x faster already: 2x the ratio; a faster axis back towards 1; a still one kept
  again = amplitude.tempo_speedup(head, style, sampled=np.full(5, 2.0))
  np.testing.assert_allclose(again[[0, 2, 4]], [2 * speedup[0], 1.0, 2.0], rtol=1e-3)
  for tempo in ("model_tempo", "style_tempo"):
    np.testing.assert_array_equal(
        amplitude.tempo_speedup(head, amplitude.variant(style, tempo)), 1.0)


def test_matched_tempo_samples_a_slow_head_faster(tiny_motion, portrait):
  """generate_motion with a style whose head crosses its range faster than the sampled
  head ("matched_tempo", the default after a fine-tune): the head is sampled again with
  faster noise and lighter smoothing, so it comes nearer the style's tempo than the
  model's tempo leaves it, with the same face; against a slower style it is the motion of
  "style_tempo" (only slowed) but for its widest swings (bound_head)."""
  model, audio, source, plain = _sampled(tiny_motion, portrait, 8.0)
  mine = _amplitude_of(plain, model.config)
  mine_tempo = amplitude.tempo(mine.head, mine.head_speed)
  fast = dataclasses.replace(mine, head_speed=3.0 * mine.head_speed)  # 3x its tempo
  tempo_of = lambda style, how: amplitude.tempo(*[
      getattr(_amplitude_of(motion.generate_motion(
          audio, portrait.landmarks[0], model, jax.random.key(1),
          style=amplitude.variant(style, how), **source), model.config), k)
      for k in ("head", "head_speed")])
  matched, kept = tempo_of(fast, "matched_tempo"), tempo_of(fast, "model_tempo")
  target = 3.0 * mine_tempo
  assert np.all(np.abs(np.log(matched / target)) < np.abs(np.log(kept / target)))
  assert np.median(matched / target) > 0.6
  # the face (the mouth's timing) is the first sample's, as with the model's tempo
  faces = [motion.canonical(t.landmarks, t.rotation, t.translation) for t in (
      motion.generate_motion(audio, portrait.landmarks[0], model, jax.random.key(1),
                             style=amplitude.variant(fast, how), **source)
      for how in ("matched_tempo", "model_tempo"))]
  np.testing.assert_allclose(faces[0], faces[1], atol=1e-3)
  slow = dataclasses.replace(mine, head_speed=0.5 * mine.head_speed)
  tracks = [motion.generate_motion(audio, portrait.landmarks[0], model, jax.random.key(1),
                                   style=amplitude.variant(slow, how), **source)
            for how in ("matched_tempo", "style_tempo")]
  same = np.isclose(tracks[0].landmarks, tracks[1].landmarks, atol=1e-3).all((1, 2))
  assert same.mean() > 0.9  # all but the widest swings, bound_head's


def test_a_head_at_the_styles_tempo_keeps_within_its_reach():
  """style/amplitude.bound_head ("matched_tempo"): deviations from the mean up to
  REACH_KNEE x REACH_SIGMAS standard deviations stay as they are, a rare wider swing bends
  towards REACH_SIGMAS (never past it, in the same direction); otherwise the head is kept."""
  rng = np.random.default_rng(0)
  head = rng.normal(0.0, 1.0, (2000, 5))
  head[700, 3] = 8.0  # a swing of about 8 standard deviations
  head[900, 0] = -6.0
  style = amplitude.Amplitude(head=np.ones(5), mouth=None, window=480,
                              head_tempo="matched_tempo")
  bounded = amplitude.bound_head(head, style)
  mean, sigma = head.mean(0), (head - head.mean(0)).std(0)
  reach = amplitude.REACH_SIGMAS * sigma
  inside = np.abs(head - mean) <= amplitude.REACH_KNEE * reach
  np.testing.assert_allclose(bounded[inside], head[inside], atol=1e-12)
  assert np.all(np.abs(bounded - mean) < reach)
  assert 0.9 * reach[3] < bounded[700, 3] - mean[3] < reach[3]
  assert -reach[0] < bounded[900, 0] - mean[0] < -0.9 * reach[0]
  for tempo in ("model_tempo", "style_tempo"):
    np.testing.assert_array_equal(
        amplitude.bound_head(head, amplitude.variant(style, tempo)), head)


def test_a_fine_tuned_mouth_keeps_the_portraits_width():
  """style/amplitude.hold_mouth_width: a mouth drawn wider than the portrait's (a style's
  lasting smile) is narrowed sideways, one factor for the clip, to WIDTH_TOLERANCE above
  the portrait's width ("portrait_width"); how it opens and every other point stay; a
  mouth within the tolerance, a narrower one, or "generated_width" is kept."""
  rng = np.random.default_rng(0)
  portrait = lmk.MEAN_FACE_3D.astype(np.float64)
  faces = np.repeat(portrait[None], 600, 0)
  faces[:, 66, 1] += np.abs(rng.normal(0.0, 0.05, 600))  # the lower lip opens and closes
  width = float(mouth.width(portrait))
  centre = faces[:, [48, 54], 0].mean(1, keepdims=True)
  wide = faces.copy()
  wide[:, 48:68, 0] = centre + 1.1 * (faces[:, 48:68, 0] - centre)  # 10 % wider
  wide[:, 48:68, 0] += 0.02 * rng.normal(size=(600, 1))  # and it moves
  style = amplitude.Amplitude(head=None, mouth=None, window=600,
                              mouth_width_from="portrait_width")
  held = amplitude.hold_mouth_width(wide, style, portrait)
  np.testing.assert_allclose(np.median(mouth.width(held)),
                             width * (1 + amplitude.WIDTH_TOLERANCE), rtol=1e-6)
  np.testing.assert_allclose(mouth.opening(held), mouth.opening(wide), rtol=1e-6)
  np.testing.assert_array_equal(held[:, :48], wide[:, :48])
  np.testing.assert_array_equal(held[:, 48:, 1:], wide[:, 48:, 1:])
  generated = amplitude.variant(style, "generated_width")
  np.testing.assert_array_equal(amplitude.hold_mouth_width(wide, generated, portrait), wide)
  np.testing.assert_array_equal(amplitude.hold_mouth_width(faces, style, portrait), faces)
  narrow = faces.copy()
  narrow[:, 48:68, 0] = centre + 0.9 * (faces[:, 48:68, 0] - centre)
  np.testing.assert_array_equal(amplitude.hold_mouth_width(narrow, style, portrait), narrow)
  with pytest.raises(ValueError, match="mouth_width"):
    amplitude.hold_mouth_width(wide, dataclasses.replace(style, mouth_width_from="x"),
                               portrait)
