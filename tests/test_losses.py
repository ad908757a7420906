"""losses.py against closed forms and central finite differences; optim.py schedules and
update rules against optax's own; the two-player update."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from configs import audio_encoder
from configs import common
from stylehead_jax import adversarial
from stylehead_jax import losses
from stylehead_jax import optim
from stylehead_jax.errors import ConfigError


def test_weighted_l1_is_the_l_sp_form():
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(2, 4, 5, 3)), rng.normal(size=(2, 4, 5, 3))
  w = rng.choice([0.0, 1.0, 3.0, 5.0], size=(2, 4, 5, 1))
  expected = (w * np.abs(a - b)).sum() / (w.sum() * 3)  # each pixel's 3 channels
  np.testing.assert_allclose(losses.weighted_l1(jnp.asarray(a), jnp.asarray(b), w),
                             expected, rtol=1e-6)
  assert float(losses.weighted_l1(jnp.asarray(a), jnp.asarray(b), np.zeros_like(w))) == 0.0


def test_pearson_matches_numpy_with_and_without_frame_weights():
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(3, 50)), rng.normal(size=(3, 50))
  b = b + 0.5 * a
  expected = [np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)]
  np.testing.assert_allclose(losses.pearson(jnp.asarray(a), jnp.asarray(b)), expected,
                             rtol=1e-5)
  # Zero weights drop frames: the same as the r of the kept frames alone.
  w = np.ones_like(a)
  w[:, 30:] = 0.0
  kept = [np.corrcoef(x[:30], y[:30])[0, 1] for x, y in zip(a, b)]
  np.testing.assert_allclose(losses.pearson(jnp.asarray(a), jnp.asarray(b), jnp.asarray(w)),
                             kept, rtol=1e-5)
  assert float(losses.pearson(jnp.zeros(10), jnp.arange(10.0))) == 0.0  # flat: r 0


@pytest.mark.parametrize("kind", losses.GAN_LOSSES)
def test_gan_losses_match_closed_forms(kind):
  real, fake = jnp.array([2.0, 0.5, -1.0]), jnp.array([-2.0, 0.3, 1.5])
  softplus = lambda x: np.log1p(np.exp(x))
  r, f = np.asarray(real), np.asarray(fake)
  expected_d, expected_g = {
      "hinge": (np.maximum(0, 1 - r).mean() + np.maximum(0, 1 + f).mean(), -f.mean()),
      "least_squares": (((r - 1) ** 2).mean() + (f ** 2).mean(), ((f - 1) ** 2).mean()),
      # -log sigmoid(r) - log(1 - sigmoid(f)); G: -log sigmoid(f)
      "non_saturating": (softplus(-r).mean() + softplus(f).mean(), softplus(-f).mean()),
  }[kind]
  np.testing.assert_allclose(losses.discriminator_loss(real, fake, kind), expected_d, rtol=1e-6)
  np.testing.assert_allclose(losses.generator_loss(fake, kind), expected_g, rtol=1e-6)
  with pytest.raises(ValueError, match="GAN loss"):
    losses.generator_loss(fake, "wasserstein")


def test_feature_matching_is_mean_l1_over_layers_and_stops_real_gradients():
  real = [jnp.ones((2, 3)), jnp.zeros((2, 2, 2))]
  fake = [jnp.zeros((2, 3)), jnp.full((2, 2, 2), 2.0)]
  np.testing.assert_allclose(losses.feature_matching(real, fake), (1.0 + 2.0) / 2)
  grad_real = jax.grad(lambda r: losses.feature_matching([r], [jnp.zeros(3)]))(jnp.ones(3))
  np.testing.assert_array_equal(grad_real, 0.0)


def _finite_difference_norms(fn, x, eps=1e-6):
  """|d fn(x_i) / d x_i| per example by central differences (float64)."""
  norms = []
  for i in range(len(x)):
    flat = x[i].ravel()
    grad = np.zeros(flat.size)
    for j in range(flat.size):
      step = np.zeros(flat.size)
      step[j] = eps
      up = (flat + step).reshape(x[i].shape)[None]
      down = (flat - step).reshape(x[i].shape)[None]
      grad[j] = (float(fn(up)[0]) - float(fn(down)[0])) / (2 * eps)
    norms.append(np.linalg.norm(grad))
  return np.array(norms)


def test_gradient_penalties_match_finite_differences():
  with jax.enable_x64(True):
    rng = np.random.default_rng(1)
    w1, w2 = jnp.asarray(rng.normal(size=(6, 5))), jnp.asarray(rng.normal(size=(5,)))
    fn = lambda x: jnp.tanh(x.reshape(len(x), -1) @ w1) @ w2  # (B, 2, 3) -> (B,)
    real = jnp.asarray(rng.normal(size=(3, 2, 3)))
    fake = jnp.asarray(rng.normal(size=(3, 2, 3)))
    gamma = jnp.asarray([0.2, 0.5, 0.9])
    mixed = losses.interpolates(real, fake, gamma)
    np.testing.assert_allclose(mixed[0], 0.2 * real[0] + 0.8 * fake[0])
    norms = _finite_difference_norms(fn, np.asarray(mixed))
    np.testing.assert_allclose(losses.gradient_penalty(fn, mixed), np.mean((norms - 1) ** 2),
                               rtol=1e-6)
    norms = _finite_difference_norms(fn, np.asarray(real))
    np.testing.assert_allclose(losses.r1_penalty(fn, real), np.mean(norms ** 2), rtol=1e-6)


# --- optim ------------------------------------------------------------------------------
def test_schedules():
  block = common.optimizer("adamw", 1.0, schedule="warmup_constant", warmup_steps=4)
  lr = optim.make(block, 100).learning_rate
  np.testing.assert_allclose([lr(s) for s in (0, 2, 4, 50)], [0.0, 0.5, 1.0, 1.0])
  block = common.optimizer("sgd", 1.0, schedule="piecewise", decay_steps=(10, 20))
  lr = optim.make(block, 100).learning_rate
  np.testing.assert_allclose([lr(s) for s in (9, 10, 19, 20)], [1.0, 0.1, 0.1, 0.01],
                             rtol=1e-6)
  block = common.optimizer("adamw", 2.0, schedule="warmup_cosine", warmup_steps=10,
                           end_lr_fraction=0.1)
  lr = optim.make(block, 110).learning_rate
  np.testing.assert_allclose([lr(0), lr(10), lr(60), lr(110)], [0.0, 2.0, 1.1, 0.2], rtol=1e-5)
  assert optim.make(common.optimizer("adam", 0.3), 10).learning_rate(5) == 0.3
  with pytest.raises(ConfigError, match="optimizer.schedule"):
    optim.make(common.optimizer(schedule="linear"), 10)
  with pytest.raises(ConfigError, match="adamw"):
    optim.make(common.optimizer("adam", weight_decay=0.1), 10)


def test_update_rules_match_optax():
  params = {"w": jnp.array([1.0, -2.0, 3.0])}
  grads = {"w": jnp.array([30.0, 40.0, 0.0])}  # global norm 50
  cases = [
      (common.optimizer("adamw", 0.1, grad_clip_norm=5.0, weight_decay=0.01),
       optax.chain(optax.clip_by_global_norm(5.0), optax.adamw(0.1, weight_decay=0.01))),
      (common.optimizer("sgd", 0.1, momentum=0.9, weight_decay=0.01),
       optax.chain(optax.add_decayed_weights(0.01), optax.sgd(0.1, momentum=0.9))),
      (common.optimizer("adam", 0.1, b1=0.5, b2=0.9), optax.adam(0.1, b1=0.5, b2=0.9)),
  ]
  for block, tx in cases:
    opt = optim.make(block, 10)
    mine, state = params, opt.init(params)
    theirs, their_state = params, tx.init(params)
    for step in range(3):
      mine, state, measured = opt.apply(mine, state, grads, step)
      updates, their_state = tx.update(grads, their_state, theirs)
      theirs = optax.apply_updates(theirs, updates)
    np.testing.assert_allclose(mine["w"], theirs["w"], rtol=1e-6, err_msg=block.name)
    np.testing.assert_allclose(measured["grad_norm"], 50.0)
    np.testing.assert_allclose(measured["param_norm"], optax.global_norm(mine), rtol=1e-6)


# --- adversarial ------------------------------------------------------------------------
def test_two_player_updates():
  """The critic ascends the gap between real and fake scores, the generator closes it;
  joint mode moves both on one loss; step counts generator steps."""
  opt = optim.make(common.optimizer("sgd", 0.1, momentum=0.0), 10)
  state = adversarial.init_state(jnp.array(0.0), jnp.array(1.0), opt, opt)
  real = 2.0
  critic_loss = lambda c, rng: (-(c * real - c * state["params"]), None)
  state, _, measured = adversarial.critic_update(state, critic_loss, opt, jax.random.key(0),
                                                 steps=2)
  # d/dc = -(real - g) = -2 per step: c = 1 + 2 * 0.1 * 2.
  np.testing.assert_allclose(state["critic_params"], 1.4, rtol=1e-6)
  np.testing.assert_allclose(measured["critic_grad_norm"], 2.0)
  gen_loss = lambda g, c: (-(c * g), {"gap": real - g})
  new, aux, measured = adversarial.generator_update(state, gen_loss, opt)
  np.testing.assert_allclose(new["params"], 0.14, rtol=1e-6)  # g + 0.1 * c
  np.testing.assert_allclose(new["critic_params"], 1.4)  # untouched
  assert int(new["step"]) == 1 and float(aux["gap"]) == real
  joint, _, measured = adversarial.generator_update(state, gen_loss, opt, critic_optimizer=opt)
  np.testing.assert_allclose(joint["critic_params"], 1.4, rtol=1e-6)  # d/dc = -g = 0
  assert "critic_grad_norm" in measured and int(joint["step"]) == 1


def test_strict_config_values():
  with pytest.raises(ValueError, match="expected true or false"):
    audio_encoder.get_config("runlocal=ture")
  assert common.parse_arg("runlocal=no", runlocal=True).runlocal is False
  config = ml_collections.ConfigDict({"a": {"flag": False, "n": 3}})
  common.set_values(config, ["a.flag=yes", "a.n=7"])
  assert config.a.flag is True and config.a.n == 7
  with pytest.raises(ValueError, match="a.n='x'"):
    common.set_values(config, ["a.n=x"])
