"""Motion Generator: audio features -> intermediate audio-driven motion phi_mg.

Inputs per video frame t: the audio features of its two mel frames, merged (as in Live
Speech Portraits), and, per clip, the identity's neutral face: the source frame's
landmarks with head pose removed (`pose.canonical_face`, hundredths of a face width).

Two heads share a stack of unidirectional LSTMs over the audio:
- face: the canonical face at t, as the neutral face plus a predicted displacement of all
  68 points (mouth, jaw, eyes, brows). Deterministic given the audio.
- pose: head pose and torso relative to the source frame (`POSE_SIZE` values, see
  tasks/motion_generator.py), autoregressive as in LSP: an LSTM cell reads the audio
  context and the previous frame's pose and predicts a Gaussian over the next (its mean
  bounded by POSE_LIMIT). Training feeds the true previous pose (teacher forcing, with
  noise added so the model does not lean on it alone); generation feeds back its own
  samples, mean + sigma x noise (the caller scales the noise: temperatures per pose value,
  stylehead_jax.motion.sampling).

Everything is causal, so audio of any length streams through in chunks (`carries`).
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from stylehead_jax.landmarks import conventions as lmk
from stylehead_jax.models import partitioning

POSE_SIZE = 12  # yaw, pitch, roll, x, y, log-scale, torso 3 x 2
POSE_LIMIT = 60.0  # |pose value| bound: degrees, or hundredths of a face width
LOG_STD_RANGE = (-6.0, 3.0)


class PoseStep(nn.Module):
  """One frame of the pose head: (carry, (context, target, noise, force)) -> (carry,
  (mean, log_std, sample)). Where `force` is 1 the next step sees `target` as the previous
  pose (teacher forcing), elsewhere its own sample."""
  hidden: int

  @nn.compact
  def __call__(self, carry, inputs):
    lstm_carry, previous = carry
    context, target, noise, force = inputs
    lstm_carry, h = nn.OptimizedLSTMCell(
        self.hidden, kernel_init=partitioning.kernel(("embed", "hidden")),
        recurrent_kernel_init=partitioning.kernel(("embed", "hidden"),
                                                  nn.initializers.orthogonal()),
        name="lstm")(lstm_carry, jnp.concatenate([context, previous], -1))
    out = nn.Dense(2 * POSE_SIZE, name="out", kernel_init=partitioning.kernel(
        ("hidden", "embed"), nn.initializers.zeros))(h)
    raw, log_std = jnp.split(out, 2, -1)
    # The mean is the pose itself, not a change from the previous one, and bounded: a
    # bias in its estimate cannot accumulate into a drift over a long generation.
    mean = POSE_LIMIT * jnp.tanh(raw / POSE_LIMIT)
    log_std = jnp.clip(log_std, *LOG_STD_RANGE)
    sample = mean + jnp.exp(log_std) * noise
    following = jnp.where(force[:, None] > 0, target, sample)
    return (lstm_carry, following), (mean, log_std, sample)


class MotionGenerator(nn.Module):
  """Motion Generator: (audio (B, T, 2 D), neutral (B, 68, 3)) -> outputs, carries.

  The pose head is teacher-forced with `pose_targets` (B, T, POSE_SIZE) where `force`
  (B, T) is 1 (training: everywhere) and samples mean + sigma x `noise` (B, T, POSE_SIZE)
  elsewhere (generation: standard normal times the temperatures); missing arrays are zeros. `carries` continues a stream.

  Returns:
    {"face": (B, T, 68, 3) canonical faces, "pose_mean", "pose_log_std", "pose_sample":
     (B, T, POSE_SIZE)}, carries.
  """
  hidden: int = 256
  num_layers: int = 3
  identity_features: int = 128
  pose_hidden: int = 128

  @nn.compact
  def __call__(self, audio, neutral, *, pose_targets=None, noise=None, force=None,
               carries=None):
    batch, frames = audio.shape[:2]
    carries = carries or {}
    # The face's shape, not its size or offset, identifies it: normalise the flat vector.
    shape = nn.LayerNorm(name="identity_norm")(neutral.reshape(batch, -1))
    identity = nn.Dense(self.identity_features, name="identity",
                        kernel_init=partitioning.kernel(("embed", "hidden")))(shape)
    x = nn.Dense(self.hidden, name="audio_in",
                 kernel_init=partitioning.kernel(("embed", "hidden")))(audio)
    x = nn.relu(x + nn.Dense(self.hidden, kernel_init=partitioning.kernel(("hidden", "embed")),
                             name="identity_to_audio")(identity)[:, None])
    out_carries = {}
    for i in range(self.num_layers):
      cell = nn.OptimizedLSTMCell(
          self.hidden, kernel_init=partitioning.kernel(("embed", "hidden")),
          recurrent_kernel_init=partitioning.kernel(("embed", "hidden"),
                                                    nn.initializers.orthogonal()),
          name=f"lstm_{i}")
      carry, y = nn.RNN(cell, return_carry=True, name=f"rnn_{i}")(
          x, initial_carry=carries.get(f"lstm_{i}"))
      out_carries[f"lstm_{i}"] = carry
      x = x + y if i > 0 else y
    # Zero-initialised displacements: training starts from the no-motion baseline.
    displacement = nn.Dense(lmk.NUM_LANDMARKS * 3, kernel_init=partitioning.kernel(
        ("hidden", "embed"), nn.initializers.zeros), name="face_out")(x)
    face = neutral[:, None] + displacement.reshape(batch, frames, lmk.NUM_LANDMARKS, 3)

    zeros = jnp.zeros((batch, frames, POSE_SIZE), audio.dtype)
    pose_targets = zeros if pose_targets is None else pose_targets
    noise = zeros if noise is None else noise
    if force is None:
      force = jnp.ones((batch, frames), audio.dtype)
    scan = nn.scan(PoseStep, variable_broadcast="params", split_rngs={"params": False},
                   in_axes=1, out_axes=1)
    step = scan(self.pose_hidden, name="pose")
    pose_carry = carries.get("pose")
    if pose_carry is None:
      zeros = jnp.zeros((batch, self.pose_hidden), audio.dtype)
      pose_carry = ((zeros, zeros), jnp.zeros((batch, POSE_SIZE), audio.dtype))
    pose_carry, (mean, log_std, sample) = step(pose_carry, (x, pose_targets, noise, force))
    out_carries["pose"] = pose_carry
    return {"face": face, "pose_mean": mean, "pose_log_std": log_std,
            "pose_sample": sample}, out_carries
