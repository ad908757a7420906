"""Mouth Painter: its crops and masks, that it changes the warp only inside the mouth's
region, one GAN step, and a sharded 64 px run that resumes, is evaluated against the
warp and draws the mouth in `animate`."""

import json
import sys

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import mouth_painter as mp_config
from stylehead_jax import animate
from stylehead_jax import pretrained
from stylehead_jax.errors import ConfigError
from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.models import mouth_painter as network
from stylehead_jax.render import mouth_painter as painter
from stylehead_jax.render import warp
from stylehead_jax.tasks import mouth_painter as task
from tests.conftest import MESH
from tests.conftest import one_gan_step
from tests.conftest import resume_from_step_2
from tests.conftest import run
from tests.conftest import sharded_summary
from tests.conftest import tensorboard_images
from tests.conftest import train_cli

SIZE = 64


def _face(size=SIZE, opening=0.0):
  """The mean face's landmarks (68, 2) filling a frame of `size`, the lower lip moved
  down by `opening` eye distances."""
  face = lmk.MEAN_FACE_3D[:, :2]
  face = (face - face.mean(0)) / np.abs(face - face.mean(0)).max() * 0.4 * size + size / 2
  face = face.astype(np.float32)
  lower = [55, 56, 57, 58, 59, 65, 66, 67]
  face[lower, 1] += opening * lmk.interocular(face[None])[0]
  return face


def _portrait(size=SIZE, seed=0):
  """A smooth random colour image (size, size, 3) uint8."""
  noise = np.random.default_rng(seed).uniform(0, 255, (8, 8, 3)).astype(np.float32)
  return cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(
      np.uint8)


def test_polygon_mask_fills_a_square_and_cut_paste_round_trip():
  square = jnp.asarray([[[2.0, 2.0], [10.0, 2.0], [10.0, 10.0], [2.0, 10.0]]])
  mask = np.asarray(painter.polygon_mask(square, 16))[0, ..., 0]
  assert mask.sum() == 64 and mask[2:10, 2:10].all()  # pixel centres 2..9 in x and y
  images = jnp.asarray(np.random.default_rng(0).uniform(size=(2, 16, 16, 3)), jnp.float32)
  origin = jnp.asarray([[3, 5], [0, 8]], jnp.int32)
  crops = painter.cut(images, origin, 8)
  np.testing.assert_array_equal(crops[0], images[0, 5:13, 3:11])
  np.testing.assert_array_equal(painter.paste(images, crops, origin), images)


def test_crop_origin_stays_inside_and_scales_with_the_eye_distance():
  landmarks = jnp.asarray(_face()[None])
  origin = np.asarray(painter.crop_origin(landmarks - 30, 32, SIZE))
  assert (origin >= 0).all() and (origin <= SIZE - 32).all()
  base = painter.inference_crop(painter.TRAIN_EYE_DISTANCE, 96, 256, 8)
  assert base == 96
  assert painter.inference_crop(2 * painter.TRAIN_EYE_DISTANCE, 96, 512, 8) == 192
  assert painter.inference_crop(10 * painter.TRAIN_EYE_DISTANCE, 96, 256, 8) == 256


def test_warped_crop_is_the_crop_of_the_template_warp():
  """Training's warp at the crop's pixels only is the whole frame's warp (over the same
  triangles) cut there."""
  portrait, source = _portrait(), _face()
  driving = np.stack([_face(opening=0.15), _face(opening=0.3) + 2])
  origin = painter.crop_origin(jnp.asarray(driving), 32, SIZE)
  unit = jnp.asarray(portrait[None] / 255, jnp.float32)
  crops = painter.warped_crop(jnp.repeat(unit, 2, 0), jnp.asarray(np.stack([source] * 2)),
                              jnp.asarray(driving), origin, 32)
  full = warp.warp(unit[0], jnp.asarray(warp.with_anchors(source, SIZE)),
                   jnp.asarray(warp.with_anchors(driving, SIZE)),
                   jnp.asarray(warp.template_triangles()))
  np.testing.assert_allclose(crops, painter.cut(full, origin, 32), atol=1e-4)


def test_painter_changes_the_warp_only_inside_the_mouth_region():
  config = mp_config.get_config("runlocal")
  portrait, source = _portrait(), _face()
  landmarks = np.stack([_face(opening=o) for o in (0.0, 0.2, 0.4)])
  frames = warp.render(portrait, source, landmarks)
  model = network.make(config)
  crop = painter.crop_for(config, portrait, source)
  x = jnp.zeros((1, crop, crop, 3))
  params = model.init(jax.random.key(0), x, x, jnp.zeros((1, crop, crop, painter.NUM_MASKS)))
  out = painter.paint(params["params"], model, frames, portrait, source, landmarks, crop)
  assert out.shape == frames.shape and out.dtype == np.uint8
  changed = np.abs(out.astype(int) - frames).max(-1) > 0
  assert changed.any(axis=(1, 2)).all()
  origin = np.asarray(painter.crop_origin(jnp.asarray(landmarks), crop, SIZE))
  region = np.asarray(painter.region(jnp.asarray(landmarks) - origin[:, None], crop))[..., 0]
  for t, (x0, y0) in enumerate(origin):
    inside = np.zeros((SIZE, SIZE), bool)
    inside[y0:y0 + crop, x0:x0 + crop] = region[t] > 0
    assert not (changed[t] & ~inside).any(), t


def test_one_gan_step_moves_both_players():
  config = mp_config.get_config("runlocal")
  portrait = _portrait()
  pair = lambda lm: {"frames": np.repeat(portrait[None], 4, 0),
                     "landmarks": np.repeat(lm[None], 4, 0)}
  batch = {"source": pair(_face()), "driving": pair(_face(opening=0.3))}
  one_gan_step(task, config, batch, ("loss", "warp_l1", "critic_loss",
                                     "decoded_share_inner_mouth"))


# --- A sharded run --------------------------------------------------------------------------
MP_FLAGS = ["--config.progress=False", "--config.log_every_steps=1",
            "--config.checkpoint_every_steps=2", "--config.evals.mouth_frames.max_frames=4",
            "--config.evals.mouth_frames.every_steps=0"]  # at the end


@pytest.fixture(scope="module")
def mouth_painter_run(synthetic_data_dir, tmp_path_factory):
  """A :runlocal Mouth Painter, 4 steps on 4 devices (2 data x 2 model), evaluated at the
  end: (workdir, the command's output)."""
  workdir = tmp_path_factory.mktemp("mouth_painter")
  return workdir, train_cli("configs/mouth_painter.py:runlocal", workdir, synthetic_data_dir,
                            4, 4, *MP_FLAGS, MESH)


@pytest.mark.slow
def test_sharded_run_is_evaluated_against_the_warp(mouth_painter_run):
  workdir, out = mouth_painter_run
  measured = sharded_summary(workdir, out, 4)["eval"]["mouth_frames"]
  for prefix in ("", "warp_", "interior_"):
    for key in ("lpips_face", "lpips_mouth", "psnr_face", "ssim", "landmark_error_px",
                "identity_distance", "cpbd", "flicker"):
      assert np.isfinite(measured[prefix + key]), prefix + key
    assert {prefix + "mouth_teeth_ratio", prefix + "mouth_cavity_ratio"} <= set(measured)
  assert measured["num_clips"] == 2 and measured["num_frames"] == 8
  assert measured["lpips_mouth"] != measured["warp_lpips_mouth"]
  images = tensorboard_images(workdir)
  assert {"eval/mouth_frames/warp_interior_painter_truth",
          "eval/mouth_frames/clip_painter_over_truth"} <= set(images), sorted(images)
  width, height, *per_clip = images["eval/mouth_frames/warp_interior_painter_truth"]
  assert len(per_clip) == 2  # 4 columns, the mouth's crop enlarged below each
  assert (int(width), int(height)) == (4 * SIZE, 2 * SIZE)


@pytest.mark.slow
def test_sharded_run_resumes_to_the_same_parameters(mouth_painter_run, synthetic_data_dir,
                                                    tmp_path):
  resume_from_step_2(
      mouth_painter_run[0], tmp_path,
      lambda d: train_cli("configs/mouth_painter.py:runlocal", d, synthetic_data_dir, 4, 4,
                          *MP_FLAGS, MESH, "--config.evals.mouth_frames.every_steps=-1"),
      ("params", "opt_state", "critic_params", "critic_opt_state"))


@pytest.mark.slow
def test_animate_draws_the_mouth_with_the_painter_of_the_checkpoints(
    mouth_painter_run, tiny_motion, real_dir, tmp_path):
  root = tmp_path / "checkpoints"
  root.mkdir()
  animate.write_manifest(str(root), {"motion_generator": str(tiny_motion[1]),
                                     "mouth_painter": str(mouth_painter_run[0])})
  out = tmp_path / "painted.mp4"
  run([sys.executable, "-m", "stylehead_jax.animate", "--portrait",
       str(real_dir / "face_happy.png"), "--audio", str(real_dir / "speech_radio31.wav"),
       "--checkpoints", str(root), "--out", str(out), "--resolution", "128", "--quiet",
       "--json", str(tmp_path / "summary.json")])
  summary = json.loads((tmp_path / "summary.json").read_text())
  assert summary["renderer"] == "warp" and summary["mouth"] == "painter"
  assert summary["checkpoints"]["mouth_painter"] == str(mouth_painter_run[0])
  assert out.exists()


def test_animate_asks_for_a_painter_the_checkpoints_lack(real_dir, tmp_path):
  with pytest.raises(ConfigError, match="no mouth_painter checkpoint.*configs/mouth_painter.py"):
    animate.animate(str(real_dir / "face_happy.png"), str(real_dir / "speech_radio31.wav"),
                    pretrained.DIR, str(tmp_path / "out.mp4"), renderer="warp",
                    mouth="painter", progress=False)
  with pytest.raises(ConfigError, match="--mouth='teeth'"):
    animate.animate(str(real_dir / "face_happy.png"), str(real_dir / "speech_radio31.wav"),
                    pretrained.DIR, str(tmp_path / "out.mp4"), mouth="teeth", progress=False)
  assert not list(tmp_path.iterdir())
