"""GLAMOR-Net: the model's variants, the masked context, the builders (synthetic scenes,
CAER-S and the video-disjoint NCAER-S split), a sharded :runlocal train that writes and
restores its checkpoint, and the emotion evaluator behind eval/metrics.py."""

import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image
from PIL import ImageDraw
import pytest
import tensorflow_datasets as tfds

from data_prep.caer_s import caer_s
from data_prep.synthetic_context_emotion import scene
from stylehead_jax import datasets
from stylehead_jax import emotion_classifier
from stylehead_jax import emotions
from stylehead_jax import media
from stylehead_jax.metrics import emotion as emotion_metrics
from stylehead_jax.models import glamor
from stylehead_jax.tasks import glamor as task
from tests.conftest import run

SMALL_WORLD = ["context_size=64", "face_size=48", "num_train=256", "num_test=64"]


def _batch(n=3, context=64, face=48, seed=0):
  rng = np.random.default_rng(seed)
  return {"context": rng.integers(0, 256, (n, context, context, 3), dtype=np.uint8),
          "face": rng.integers(0, 256, (n, face, face, 3), dtype=np.uint8),
          "face_box": np.array([[0.1, 0.2, 0.5, 0.6]] * n, np.float32),
          "label": np.arange(n) % emotions.NUM_EMOTIONS}


def test_masked_face_really_is_masked():
  batch = _batch()
  other = dict(batch, context=batch["context"].copy())
  other["context"][:, 10:30, 15:35] = 255 - other["context"][:, 10:30, 15:35]  # another face
  box = glamor.face_mask(jnp.asarray(batch["face_box"]), 64)[..., 0]
  rows, cols = (np.arange(64) + 0.5) / 64, (np.arange(64) + 0.5) / 64
  expected = ((rows >= 0.1) & (rows <= 0.5))[:, None] & ((cols >= 0.2) & (cols <= 0.6))[None]
  np.testing.assert_array_equal(np.asarray(box[0]), expected)
  for variant in glamor.MASKED_VARIANTS:
    _, context = glamor.model_inputs(batch, variant)
    _, context_other = glamor.model_inputs(other, variant)
    inside = np.asarray(context)[:, expected]
    assert np.all(inside == 0.0), variant  # nothing of the face reaches the model
    np.testing.assert_array_equal(np.asarray(context), np.asarray(context_other))
    outside = np.asarray(context)[:, ~expected]
    np.testing.assert_allclose(outside, batch["context"][:, ~expected] / 127.5 - 1, atol=1e-6)
  _, visible = glamor.model_inputs(batch, "face_context")  # w/fC keeps the face
  np.testing.assert_allclose(np.asarray(visible), batch["context"] / 127.5 - 1, atol=1e-6)


def test_flip_mirrors_images_and_box():
  batch = {k: jnp.asarray(v) for k, v in _batch(n=64).items()}
  out = task.flip(batch, jax.random.key(0))
  flipped = np.asarray(out["face_box"][:, 1]) != 0.2
  assert 10 < flipped.sum() < 54
  np.testing.assert_allclose(np.asarray(out["face_box"])[flipped][0], [0.1, 0.4, 0.5, 0.8])
  np.testing.assert_array_equal(np.asarray(out["context"])[flipped],
                                np.asarray(batch["context"])[flipped][:, :, ::-1])
  np.testing.assert_array_equal(np.asarray(out["face"])[~flipped],
                                np.asarray(batch["face"])[~flipped])


@pytest.mark.parametrize("variant", glamor.VARIANTS)
def test_variants_give_logits_and_attention(variant):
  model = glamor.GlamorNet(variant=variant, widths=(4, 8, 8, 8, 8), context_pools=3,
                           attention_hidden=8, fusion_hidden=8, classifier_hidden=8)
  face, context = glamor.model_inputs(_batch(), variant)
  variables = model.init(jax.random.key(0), face, context)
  (logits, aux) = model.apply(variables, face, context)
  assert logits.shape == (3, emotions.NUM_EMOTIONS)
  if variant == "face":
    assert "attention" not in aux and "context_encoder" not in variables["params"]
    return
  assert aux["attention"].shape == (3, 8, 8)
  np.testing.assert_allclose(np.asarray(aux["attention"].sum(axis=(1, 2))), 1.0, atol=1e-5)
  np.testing.assert_allclose(np.asarray(aux["fusion"].sum(-1)), 1.0, atol=1e-6)
  if variant in ("context_attention", "gla"):
    assert float(aux["attention"].std()) > 0  # not uniform
    # GLA's scores read the face: another face changes the map; plain attention's do not.
    face_2, _ = glamor.model_inputs(_batch(seed=1), variant)
    _, aux_2 = model.apply(variables, face_2, context)
    moved = float(jnp.abs(aux_2["attention"] - aux["attention"]).max())
    assert (moved > 1e-6) == (variant == "gla"), moved


def test_synthetic_scenes_are_seeded_and_hold_their_cues():
  cfg = scene.SceneConfig(context_size=64, face_size=48)
  a, b = scene.make_scene(cfg, "train", 3), scene.make_scene(cfg, "train", 3)
  np.testing.assert_array_equal(a["context"], b["context"])
  assert not np.array_equal(a["context"], scene.make_scene(cfg, "test", 3)["context"])
  examples = [scene.make_scene(cfg, "train", i) for i in range(60)]
  assert {e["clarity"] for e in examples} == set(emotions.CLARITY)
  assert len({e["label"] for e in examples}) == emotions.NUM_EMOTIONS
  with_cues = [e for e in examples if e["cue_mask"].any()]
  assert len(with_cues) > 45  # the agreeing companion (90%) or the object (60%)
  for e in examples:
    y0, x0, y1, x1 = e["face_box"]
    assert 0 <= y0 < y1 <= 1 and 0 <= x0 < x1 <= 1
    # Cues never hide under the main face's mask.
    rows = (np.arange(64) + 0.5) / 64
    inside = ((rows >= y0) & (rows <= y1))[:, None] & ((rows >= x0) & (rows <= x1))[None]
    assert e["cue_mask"][..., 0][inside].sum() <= 0.05 * max(1, e["cue_mask"].sum())


def test_an_occluded_face_shows_no_expression():
  """Sunglasses and scarf hide every emotion alike: the face crop alone cannot tell."""
  for seed in range(5):
    drawn = []
    for emotion in scene.EXPRESSIONS:
      image = Image.new("RGB", (200, 200))
      person = scene.Person(100, 90, 50, (255, 220, 185), (25, 20, 20), (90, 90, 90), emotion,
                            occluded=True)
      scene.draw_person(ImageDraw.Draw(image), person, np.random.default_rng(seed))
      drawn.append(np.asarray(image))
    for image in drawn[1:]:
      np.testing.assert_array_equal(image, drawn[0])


def test_ncaer_split_is_video_disjoint_and_seeded():
  videos = [f"{split}/{emotion}/{i:04d}.avi" for split in ("train", "test")
            for emotion in emotions.EMOTIONS for i in range(10)]
  splits = caer_s.split_videos(videos, 0.2, seed=0)
  assert not set(splits["train"]) & set(splits["test"])
  assert sorted(splits["train"] + splits["test"]) == sorted(videos)
  assert len(splits["test"]) == 7 * 4  # 20% of each emotion's 20 videos
  assert caer_s.split_videos(list(reversed(videos)), 0.2, seed=0) == splits
  assert caer_s.split_videos(videos, 0.2, seed=1) != splits
  picks = caer_s.frame_indices(90, 3, "x/Happy/0001.avi", seed=0)
  assert [p // 30 for p in picks] == [0, 1, 2]
  assert picks == caer_s.frame_indices(90, 3, "x/Happy/0001.avi", seed=0)


@pytest.fixture(scope="module")
def caer_videos(tmp_path_factory):
  """Real talking clips in the CAER layout (Emotion/clip): labels are made up."""
  root = tmp_path_factory.mktemp("caer")
  sample = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                        "voxceleb2_sample")
  clips = sorted(f for f in os.listdir(sample) if f.endswith(".mp4"))[:6]
  for i, clip in enumerate(clips):
    folder = root / ("Happy", "Sad", "Angry")[i % 3]
    folder.mkdir(exist_ok=True)
    os.symlink(os.path.join(sample, clip), folder / clip)
  return root


def test_ncaer_s_build_keeps_videos_out_of_both_splits(caer_videos, tmp_path):
  flags = ["--set", "source=videos", "--set", "test_fraction=0.5", "--set", "parts_per_video=2",
           "--set", "context_size=64", "--set", "face_size=48"]
  out = run([sys.executable, "-m", "data_prep.build", "caer_s", "--manual_dir",
             str(caer_videos), "--data_dir", str(tmp_path), *flags])
  # 3 videos per split, 2 frames each; a frame where dlib finds no face is left out, said.
  skipped = out.stderr.count("no face found")
  builder = datasets.make_builder("caer_s", str(tmp_path), dict(f.split("=") for f in flags[1::2]))
  ids, count = {}, 0
  for split in ("train", "test"):
    rows = list(tfds.as_numpy(builder.as_dataset(split=split)))
    count += len(rows)
    ids[split] = {r["video_id"].decode() for r in rows}
    frames_per_video = np.unique([r["video_id"] for r in rows], return_counts=True)[1]
    assert frames_per_video.max() <= 2
    for r in rows:
      assert r["context"].shape == (64, 64, 3) and r["face"].shape == (48, 48, 3)
      assert emotions.EMOTIONS[r["label"]] == (
          "Anger" if "Angry" in r["video_id"].decode() else r["video_id"].decode().split("/")[0])
  assert count + skipped == 12 and skipped <= 2, out.stderr[-2000:]
  assert len(ids["train"] | ids["test"]) == 6
  assert not ids["train"] & ids["test"]


def test_caer_s_images_skip_pictures_without_a_face(real_dir, bad_dir, tmp_path):
  root = tmp_path / "CAER-S"
  for split, emotion, source in [("train", "Happy", real_dir / "face_happy.png"),
                                 ("train", "Neutral", real_dir / "face_lp_s0.jpg"),
                                 ("train", "Neutral", bad_dir / "free-mountain-vector-01.jpg"),
                                 ("test", "Sad", real_dir / "face_lp_s5.jpg")]:
    (root / split / emotion).mkdir(parents=True, exist_ok=True)
    os.symlink(source, root / split / emotion / source.name)
  out = run([sys.executable, "-m", "data_prep.build", "caer_s", "--manual_dir", str(root),
             "--data_dir", str(tmp_path / "tfds")])
  assert "free-mountain-vector-01.jpg: no face found" in out.stderr
  assert "test: 1, train: 2" in out.stdout, out.stdout
  test = next(iter(tfds.as_numpy(datasets.make_builder("caer_s", str(tmp_path / "tfds"))
                                 .as_dataset(split="test"))))
  assert emotions.EMOTIONS[test["label"]] == "Sad"
  y0, x0, y1, x1 = test["face_box"]
  assert 0 <= y0 < y1 <= 1 and 0 <= x0 < x1 <= 1 and (y1 - y0) < 0.9


def _train_cli(workdir, data_dir, steps, devices=4):
  cmd = [sys.executable, "-m", "stylehead_jax.train", "--config", "configs/glamor.py:runlocal",
         "--workdir", str(workdir), f"--config.data.data_dir={data_dir}",
         f"--config.data.overrides={','.join(SMALL_WORLD)}", f"--config.total_steps={steps}",
         "--config.batch_size=16", "--config.eval_batch_size=32",
         "--config.checkpoint_every_steps=10", "--config.log_every_steps=5",
         "--config.evals.emotion.every_steps=1000", "--config.progress=False"]
  return run(cmd, env={"XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """A :runlocal GLA model on 4 devices, 20 steps, then resumed to 30."""
  root = tmp_path_factory.mktemp("glamor")
  data_dir, workdir = root / "tfds", root / "gla"
  first = _train_cli(workdir, data_dir, 20)
  second = _train_cli(workdir, data_dir, 30)
  return workdir, data_dir, first, second


@pytest.mark.slow  # two 4-device runs: 2 minutes
def test_runlocal_train_writes_and_restores_a_checkpoint(trained):
  workdir, data_dir, first, second = trained
  log = (workdir / "train.log").read_text()  # both runs append to it
  assert "over 4 devices" in log
  assert "resumed from" in log and "step 20" in log
  assert sorted(os.listdir(workdir / "checkpoints")) == ["10", "20", "30"]
  result = json.loads((workdir / "result.json").read_text())
  assert result["step"] == 30 and result["history"][0][0] == 25
  measured = result["eval"]["emotion"]
  assert measured["num_examples"] == 64 and 0 <= measured["accuracy"] <= 1
  assert measured["attention_mass_ratio"] > 0
  for name in ("accuracy_clear", "accuracy_ambiguous", "accuracy_happy"):
    assert name in measured
  # The restored checkpoint gives the evaluation the run ended with.
  out = run([sys.executable, "-m", "stylehead_jax.evaluate", "--config",
             "configs/glamor.py:runlocal", "--workdir", str(workdir),
             f"--config.data.data_dir={data_dir}",
             f"--config.data.overrides={','.join(SMALL_WORLD)}", "--config.eval_batch_size=32",
             "--json", str(workdir / "eval.json")])
  restored = json.loads((workdir / "eval.json").read_text())
  assert restored["step"] == 30
  for name, value in measured.items():
    if name != "step":
      assert restored["evals"]["emotion"][name] == pytest.approx(value, abs=1e-6), name
  del out


def test_emotion_metrics():
  assert emotion_metrics.dominant([3, 3, 1, 3, 2]) == 3
  value, target = emotion_metrics.consistency([3, 3, 0, 1], [3, 3, 5])
  assert (value, target) == (0.5, 3)
  acc = emotion_metrics.per_class_accuracy([3, 3, 0, 5], [3, 0, 0, 5])
  assert acc == {"Anger": 0.5, "Happy": 1.0, "Sad": 1.0}
  with pytest.raises(ValueError):
    emotion_metrics.dominant([])


@pytest.mark.slow
def test_eval_metrics_reports_emotion_consistency(trained, real_dir, tmp_path):
  workdir = trained[0]
  frames = media.read_video(real_dir / "talk_vr_5.mp4", fps=None).frames[:40:4]
  classifier = emotion_classifier.Classifier(str(workdir))
  labels, probabilities = classifier.classify(frames)
  assert (labels >= 0).all()  # dlib finds the face in every frame
  np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
  tracks = np.random.default_rng(0).uniform(100, 400, (120, 68, 2)).astype(np.float32)
  path = tmp_path / "clip.npz"
  np.savez(path, landmarks=tracks, frames=frames)
  out = run([sys.executable, "eval/metrics.py", "-g", str(path), "-r", str(path), "--no_cpbd",
             "--emotion_checkpoint", str(workdir), "--emotion_label", "happy",
             "--json", str(tmp_path / "m.json")])
  result = json.loads((tmp_path / "m.json").read_text())
  expected = float(np.mean(labels == emotion_metrics.dominant(labels)))
  assert result["metrics"]["emotion_consistency"] == pytest.approx(expected)
  assert result["emotion"]["frames_classified"] == {"generated": 10, "reference": 10}
  assert result["emotion"]["per_class_accuracy"] == {
      "Happy": pytest.approx(float(np.mean(labels == emotions.index("Happy"))))}
  assert "EMOTION_CONSISTENCY" in out.stdout
  bad = run([sys.executable, "eval/metrics.py", "-g", str(path), "-r", str(path),
             "--no_cpbd", "--emotion_checkpoint", str(tmp_path)], check=False)
  assert bad.returncode != 0 and "no config.json" in bad.stderr


@pytest.mark.slow
def test_ablation_script_reports_a_finished_run(trained, tmp_path):
  """eval/glamor_ablation.py resumes the finished gla run (evaluation only) and tables it."""
  workdir, data_dir, _, _ = trained
  out = run([sys.executable, "eval/glamor_ablation.py", "--workdir", str(workdir.parent),
             "--variants", "gla", "--quiet", "--set", f"data.data_dir={data_dir}",
             "--set", f"data.overrides={','.join(SMALL_WORLD)}", "--set", "total_steps=30",
             "--set", "batch_size=16", "--set", "eval_batch_size=32",
             "--json", str(tmp_path / "rows.json")])
  rows = json.loads((tmp_path / "rows.json").read_text())
  measured = json.loads((workdir / "result.json").read_text())["eval"]["emotion"]
  assert [r["variant"] for r in rows] == ["gla"] and rows[0]["steps"] == 30
  assert rows[0]["accuracy_ambiguous"] == pytest.approx(measured["accuracy_ambiguous"])
  assert "| w/GLA (gla) | 30 |" in out.stdout
