"""Style-Aware Generator: the L_sp weights, the nearest ISP, the generator and the
multi-scale discriminator, the frame sampler, Style Mapping's ISPs, one GAN step, and a
sharded 32 px run that resumes and is evaluated with every frames key."""


import io

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image
import pytest

from configs import style_aware_generator as sag_config
from configs import style_mapping as sm_config
from stylehead_jax import datasets
from stylehead_jax import frames
from stylehead_jax import input_pipeline
from stylehead_jax.landmarks import facial_map
from stylehead_jax.landmarks import regions
from stylehead_jax.models import discriminator
from stylehead_jax.models import style_aware_generator
from stylehead_jax.models import style_mapping
from stylehead_jax.style import templates
from stylehead_jax.tasks import style_aware_generator as task
from tests.conftest import apply_flags
from tests.conftest import resume_from_step_2
from tests.conftest import sharded_summary
from tests.conftest import MESH
from tests.conftest import one_gan_step
from tests.conftest import tensorboard_images
from tests.conftest import SAG_TINY
from tests.conftest import train_cli




def _tiny_config(arg="runlocal"):
  return apply_flags(sag_config.get_config(arg), SAG_TINY)


# --- L_sp ----------------------------------------------------------------------------------
def _labels_and_patches():
  """A label map with a skin, a mouth and a background block of 4 x 4 pixels each."""
  labels = np.zeros((1, 16, 16, 1), np.int32)
  labels[:, 0:8, 0:8] = regions.SKIN
  labels[:, 8:12, 8:12] = regions.MOUTH
  patch = {"skin": (slice(0, 4), slice(0, 4)), "mouth": (slice(8, 12), slice(8, 12)),
           "background": (slice(12, 16), slice(0, 4))}
  return jnp.asarray(labels), patch


@pytest.mark.parametrize("variant", ["paper", "uniform_w"])
def test_sp_loss_weights_mouth_five_times_skin_and_ignores_background(variant):
  labels, patch = _labels_and_patches()
  isps = jnp.zeros((1, 4, 16, 16, 3))
  index = jnp.array([2])
  cost = {}
  for region, (rows, cols) in patch.items():
    image = jnp.zeros((1, 16, 16, 3)).at[:, rows, cols].set(0.5)
    cost[region] = float(frames.style_preserving_loss(image, isps, index, labels, variant))
  assert cost["background"] == 0.0
  assert cost["skin"] > 0
  ratio = 5.0 if variant == "paper" else 1.0
  assert cost["mouth"] == pytest.approx(ratio * cost["skin"], rel=1e-6)
  # Against the ISP chosen: an image equal to ISP 2 costs nothing, whatever the others.
  isps = isps.at[:, 2].set(0.5)
  assert float(frames.style_preserving_loss(jnp.full((1, 16, 16, 3), 0.5), isps, index,
                                            labels, variant)) == 0.0
  with pytest.raises(ValueError, match="variant"):
    frames.sp_weights(labels, "uniform")


@pytest.mark.parametrize("with_vgg", [False, True])
def test_nearest_isp_picks_the_matching_one(with_vgg):
  from stylehead_jax import perceptual  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  isps = jnp.asarray(rng.uniform(size=(2, 4, 32, 32, 3)), jnp.float32)
  target = jnp.stack([isps[0, 3], isps[1, 1]]) + 0.01
  vgg = perceptual.vgg_params(2) if with_vgg else None
  np.testing.assert_array_equal(frames.nearest_isp(isps, target, vgg, 2), [3, 1])


# --- Networks --------------------------------------------------------------------------------
def test_generator_sizes_and_a_strong_prior_gives_the_candidate():
  rng = jax.random.key(0)
  face = jnp.zeros((2, 16, 16, 3))
  isps = jnp.zeros((2, 4, 16, 16, 3))
  candidate = jax.random.uniform(rng, (2, 32, 32, 3))
  model = style_aware_generator.StyleAwareGenerator(
      widths=(8, 16, 16), num_blocks=1, extra_up=1, extra_width=8, candidates=1,
      prior_logits=(0.0, 30.0))
  params = model.init(rng, face, isps, [candidate])
  out = model.apply(params, face, isps, [candidate])
  assert out["image"].shape == (2, 32, 32, 3) and out["weights"].shape == (2, 32, 32, 2)
  np.testing.assert_allclose(out["image"], candidate, atol=1e-5)
  with pytest.raises(ValueError, match="candidates"):
    model.apply(params, face, isps, [])


def test_discriminator_multi_scale_outputs_with_a_condition():
  d = discriminator.MultiScaleDiscriminator(scales=2, widths=(8, 16, 32))
  image, condition = jnp.zeros((2, 32, 32, 3)), jnp.zeros((2, 32, 32, 3))
  params = d.init(jax.random.key(0), image, condition)
  out = d.apply(params, image, condition)
  assert len(out) == 2
  (logits_0, features_0), (logits_1, features_1) = out
  assert len(features_0) == len(features_1) == 3
  assert logits_0.shape == (2, 8, 8, 1) and logits_1.shape == (2, 4, 4, 1)
  assert [f.shape[-1] for f in features_0] == [8, 16, 32]
  # The condition is an input: changing it changes the logits.
  other = d.apply(params, image, jnp.ones_like(condition))
  assert float(jnp.abs(other[0][0] - logits_0).max()) > 0


# --- The frame sampler ---------------------------------------------------------------------
def test_frame_sampler_is_a_function_of_seed_and_step_with_the_clips_templates(
    synthetic_data_dir):
  config = _tiny_config()
  config.data.data_dir = synthetic_data_dir
  builder = datasets.get_builder(config.data)
  first = [next(input_pipeline.train_frames(builder, config, start_step=s)) for s in (0, 3)]
  stream = input_pipeline.train_frames(builder, config)
  batches = [next(stream) for _ in range(4)]
  for got, want in ((first[0], batches[0]), (first[1], batches[3])):
    jax.tree.map(np.testing.assert_array_equal, got, want)
  config.seed = 1
  other = next(input_pipeline.train_frames(builder, config))
  assert not np.array_equal(other["target"]["frames"], batches[0]["target"]["frames"])
  batch = batches[0]
  assert batch["templates"]["frames"].shape[:2] == (config.batch_size, 4)
  resolution = batch["target"]["frames"].shape[1]
  for i in range(config.batch_size):
    np.testing.assert_array_equal(
        batch["facial_map"][i],
        facial_map.render_facial_map(batch["target"]["landmarks"][i], 32, resolution))
  # The templates are the clip's own: the clip holding the target frame holds them too.
  clip = next(c for c in input_pipeline.clips(builder, "train", ("frames", "landmarks"))
              if any(np.array_equal(f, batch["templates"]["frames"][0, 0])
                     for f in c["frames"]))
  picked = templates.retrieve(clip["landmarks"]).indices
  np.testing.assert_array_equal(clip["frames"][picked], batch["templates"]["frames"][0])


# --- Style Mapping's ISPs --------------------------------------------------------------------
@pytest.mark.slow
def test_style_mapping_isps_come_from_the_frozen_map(tmp_path):
  sm = sm_config.get_config("runlocal")
  sm.image_size = 32
  sm.model.update(dict(num_keypoints=4, keypoint_widths=(8, 16), keypoint_depth=4,
                       pose_widths=(8, 16), encoder_widths=(8, 16), volume_depth=4,
                       volume_channels=4, encoder_blocks=1, motion_widths=(8, 16),
                       motion_compressed=2, generator_features=8, generator_blocks=1))
  (tmp_path / "config.json").write_text(sm.to_json())
  config = _tiny_config("runlocal,isp=style_mapping")
  config.style_mapping_workdir = str(tmp_path)
  batch = frames.random_batch(2, 32)
  inputs = frames.prepare(batch, config)
  model = style_mapping.make_model(sm)
  n = 2 * frames.NUM_ISPS
  sm_params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((n, 32, 32, 3)),
                                  jnp.zeros((n, 32, 32, 3)), jnp.zeros((n, 68, 2)),
                                  jnp.zeros((n, 68, 2)))["params"]
  isps = frames.make_isps(inputs, config, sm_params)
  assert isps.shape == (2, 4, 32, 32, 3)
  direct = jax.jit(model.apply)({"params": sm_params}, inputs["source_out"],
                                inputs["templates"][:, 1], inputs["source_points"],
                                inputs["template_points"][:, 1])["image"]
  np.testing.assert_allclose(isps[:, 1], direct, atol=1e-5)
  config.isp_source = "frames"
  np.testing.assert_array_equal(frames.make_isps(inputs, config), inputs["templates"])


# --- One GAN step ----------------------------------------------------------------------------
@pytest.mark.slow
def test_gan_step_updates_both_players_and_keeps_the_frozen_vgg():
  config = _tiny_config()
  _, step = one_gan_step(task, config, frames.random_batch(config.batch_size, 32), (
      "loss", "loss_gan", "loss_feature_matching", "loss_sp", "loss_perceptual",
      "loss_reconstruction", "critic_loss", "warped_weight_face"))
  config.variant = "no_sp"
  assert "loss_sp" not in step()[1]


# --- A sharded run: train, resume, evaluate -----------------------------------------------
def _train(workdir, data_dir, devices, steps, *flags):
  return train_cli("configs/style_aware_generator.py:runlocal", workdir, data_dir, devices,
                   steps, *SAG_TINY, *flags)


# The 4-device run takes 2 minutes beside another worker; make test has Style Mapping's.
@pytest.mark.slow
def test_sharded_run_trains_and_the_evaluator_writes_every_key(style_aware_generator_run):
  workdir, out = style_aware_generator_run
  summary = sharded_summary(workdir, out, 4)
  measured = summary["eval"]["frames"]
  for prefix in ("", "warp_", "isp_"):
    for key in ("lpips_face", "lpips_mouth", "psnr_face", "ssim", "landmark_error_px",
                "identity_distance", "detection_rate", "cpbd", "flicker"):
      assert np.isfinite(measured[prefix + key]), prefix + key
  for prefix in ("", "warp_", "isp_"):  # NaN where no judged frame's truth is open
    assert {prefix + "mouth_teeth_ratio", prefix + "mouth_cavity_ratio"} <= set(measured)
  assert measured["num_clips"] == 2 and measured["num_frames"] == 8
  assert measured["lpips_mouth"] > 0 and measured["warp_lpips_face"] > 0
  assert np.isfinite(measured["truth_landmark_error_px"])
  images = tensorboard_images(workdir)
  assert {"eval/frames/map_isps_generated_truth_warp", "eval/frames/clip_generated_over_truth",
          "eval/frames/clip_generated_truth_warp_video"} <= set(images), sorted(images)
  width, height, gif = images["eval/frames/clip_generated_truth_warp_video"]
  video = Image.open(io.BytesIO(gif))
  # The first clip's 4 judged frames, I' | truth | warp, each enlarged from 64 to 256 px.
  assert video.format == "GIF" and video.n_frames == 4
  assert video.size == (int(width), int(height)) == (3 * 256, 256)


@pytest.mark.slow
def test_sharded_run_resumes_to_the_same_parameters(style_aware_generator_run, synthetic_data_dir, tmp_path):
  """The run's step-2 checkpoint alone, resumed to step 4 on the same mesh, ends where the
  uninterrupted run ended (both players)."""
  resume_from_step_2(
      style_aware_generator_run[0], tmp_path,
      lambda d: _train(d, synthetic_data_dir, 4, 4, MESH, "--config.evals.frames.every_steps=-1"),
      ("params", "opt_state", "critic_params", "critic_opt_state"))