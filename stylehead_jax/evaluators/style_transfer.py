"""Evaluator "style_transfer": a style-transferred Motion Generator before and after.

Generates with the untransferred Motion Generator (its checkpoint, "before_*") and the
transferred one (the state's params, "after_*") from the same source frames and seeds,
and scores both against the tracked motion of the evaluation clips (eval_config.clips):
"style": the eval split's clips in the reference's style by other speakers (the synthetic
world's `style` label), "rest": the reference clip's frames after config.style.span. SLD,
SLV, SMD (stylehead_jax.metrics.style_metrics, clean protocol) against those clips' own
motion, which is in the target style, and LMD for lip sync; `*_change` = after / before
- 1. `sld_true_head` and `slv_true_head` score the generated face re-posed on the clip's
own head motion: the expression part of the style, apart from head sway, whose phase no
audio-driven model can know (in the synthetic world it is random per utterance, and it
dominates SLD). `still_head_sld` / `_slv` / `_smd` score the clip's own face on its head
held at the first frame's pose: a perfect expression without head motion, the reference
line for how far SLD can fall without knowing the sway.

eval_config: clips, max_clips, min_frames (shorter clips are left out), chunk_frames,
seed, num_image_frames.
"""

from __future__ import annotations

import jax

from stylehead_jax import input_pipeline
from stylehead_jax import metrics
from stylehead_jax import motion
from stylehead_jax.errors import ConfigError
from stylehead_jax.evaluators import base
from stylehead_jax.evaluators import motion as motion_eval
from stylehead_jax.landmarks import pose as pose_lib
from stylehead_jax.style import references
from stylehead_jax.style import templates

METRICS = ("sld", "slv", "smd", "lmd", "sld_true_head", "slv_true_head")


def reference(builder, config) -> dict:
  """The whole style reference clip of config.style."""
  return references.reference_clip(config.style.reference, builder,
                                   resolution=config.style.video_resolution,
                                   cache_dir=config.style.cache_dir)


def eval_clips(builder, config, eval_config, reference_clip: dict) -> list[dict]:
  """The clips the evaluator scores (eval_config.clips, see the module docstring)."""
  if eval_config.clips == "rest":
    frames = input_pipeline.num_frames(reference_clip)
    _, stop = references.span(frames, config.style.span, config.data.window_frames)
    if frames - stop < eval_config.min_frames:
      raise ConfigError(f"eval clips 'rest': {frames - stop} frames after config.style.span, "
                        f"fewer than min_frames ({eval_config.min_frames})")
    return [input_pipeline.cut_clip(reference_clip, stop, frames)]
  if eval_config.clips != "style":
    raise ConfigError(f"eval clips={eval_config.clips!r}: 'style' or 'rest'")
  if builder is None:
    raise ConfigError("eval clips 'style' needs config.data (a dataset to draw from)")
  styled = "style" in reference_clip and "style" in builder.info.features
  features = references.CLIP_FEATURES + (("style",) if styled else ())
  out = []
  for clip in input_pipeline.clips(builder, config.data.eval_split, features):
    if clip["speaker_id"] == reference_clip["speaker_id"]:
      continue
    if styled and clip["style"] != reference_clip["style"]:
      continue
    if input_pipeline.num_frames(clip) >= eval_config.min_frames:
      out.append(clip)
    if len(out) == eval_config.max_clips:
      break
  if not out:
    raise ConfigError(f"no clip of split {config.data.eval_split!r} to evaluate on (other "
                      "speakers, the reference's style)")
  return out


def on_head(landmarks, rotation, translation, head_rotation, head_translation):
  """A track's face (its pose removed) posed by other head motion (or one pose)."""
  face = pose_lib.canonical_face(landmarks, rotation, translation)
  return pose_lib.posed_landmarks(face, head_rotation, head_translation)


def _scores(generated: motion.MotionTrack, clip) -> dict[str, float]:
  truth, head = clip["landmarks"], clip["head_pose"]
  style = metrics.style_metrics(truth, generated.landmarks)
  # The generated face on the clip's own head motion: the expression part of the style.
  face_style = metrics.style_metrics(truth, on_head(
      generated.landmarks, generated.rotation, generated.translation,
      head["rotation"], head["translation"]))
  return {"sld": style["sld"], "slv": style["slv"], "smd": style["smd"],
          "lmd": metrics.lmd(generated.landmarks, truth),
          "sld_true_head": face_style["sld"], "slv_true_head": face_style["slv"]}


def crop_size(builder, config) -> int:
  """The crop size the reference and evaluation tracks are in."""
  if builder is None or references.is_video(config.style.reference):
    return config.style.video_resolution
  return motion_eval.crop_size(builder)


class Evaluator(base.Evaluator):

  def run(self, state) -> tuple[dict, dict]:
    config, ev, builder = self.config, self.eval_config, self.builder
    before = motion.load(config.style.motion_generator_workdir)
    after = motion.MotionModel(before.config, jax.device_get(state["params"]),
                               jax.device_get(state.get("audio_params")))
    ref = reference(builder, config)
    clips = eval_clips(builder, config, ev, ref)
    resolution = crop_size(builder, config)
    images = {}

    def score(i, clip, key):
      truth, head, row, tracks = clip["landmarks"], clip["head_pose"], {}, {}
      for name, model in (("before", before), ("after", after)):
        generated = motion_eval.generate(model, clip, key, resolution=resolution,
                                         chunk_frames=ev.chunk_frames)
        tracks[name] = generated.landmarks
        row.update({f"{name}_{k}": v for k, v in _scores(generated, clip).items()})
      still = on_head(truth, head["rotation"], head["translation"], head["rotation"][:1],
                      head["translation"][:1])
      row.update({f"still_head_{k}": v for k, v in metrics.style_metrics(truth, still).items()
                  if k in ("sld", "slv", "smd")})
      if i == 0:
        images["facial_map_truth_before_after"] = motion_eval.facial_maps(
            (truth, tracks["before"], tracks["after"]), resolution, ev.num_image_frames)
      return row

    measurements = motion_eval.mean_over_clips(clips, score, ev.seed)
    counts = {k: measurements.pop(k) for k in ("num_clips", "num_frames")}
    for k in METRICS:
      measurements[f"{k}_change"] = measurements[f"after_{k}"] / measurements[f"before_{k}"] - 1
    measurements.update(counts)
    start, stop = references.span(input_pipeline.num_frames(ref), config.style.span,
                                  config.data.window_frames)
    chosen = templates.retrieve(ref["landmarks"][start:stop])
    images["style_reference_none_m_r_o"] = motion_eval.facial_maps(
        (chosen.landmarks,), resolution, len(chosen.names))
    return measurements, images
