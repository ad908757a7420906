"""animate: a portrait and an audio file (and a style video) -> a talking-head mp4 with sound.

  python -m stylehead_jax.animate --portrait face.jpg --audio speech.wav --out out.mp4 \\
      [--checkpoints pretrained | runs/demo] [--style ref.mp4 [--style_steps 200]] \\
      [--renderer generator|warp [--mouth painter|interior|none]] [--resolution 512]
      [--paste_back]
      [--seed 0] [--json S]

  path, summary = animate.animate("face.jpg", "speech.wav", pretrained.DIR, "out.mp4")

The pipeline (../shared/DESIGN.md), one timed stage per step:
  inputs    every file is read and checked before any model loads: the output's folder
            exists and is writable, the output is no input, the portrait has a face of
            MIN_FACE_PIXELS or more, the audio is readable, not silent and at least
            MIN_AUDIO_SECONDS long (any rate, channels or container: media.load_audio).
            A problem is a MediaError or ConfigError naming the file; the command prints
            it as one line and exits 2, and nothing is written.
  portrait  the largest face, tracked as training footage is (landmarks/tracking: square
            crop with margin at --resolution, 68 points, PnP head pose, torso).
  style     the --style video tracked once (style/references.track_video, cached by its
            content in CHECKPOINTS/.cache/styles) and its four template frames (None, M,
            R, O); a video without sound will do. Without --style the portrait is its
            own and only reference.
  motion    phi_mg of the audio (motion.generate_motion: streamed in chunks) by the
            Motion Generator, or, with --style_steps N, by that Motion Generator
            fine-tuned to the reference for N steps by the style_transfer stage (its
            workdir cached in CHECKPOINTS/.cache/style_transfer, keyed by the
            reference's content, N, the seed and the Motion Generator's checkpoint); the
            fine-tune learns from the reference's speech and motion together, or, for
            a silent --style, from its motion alone against the Motion Generator driven
            by --audio, which then also keys the cache (tasks/style_transfer.py: the
            critic on the expression alone, ANIMATE_HEAD_WEIGHT, and L_keep holding the
            mouth's timing). With --style (silent or not, any N) the head's spread per
            axis and the mouth's opening are then scaled to the style video's
            (style/amplitude.py: the head about its mean; the mouth's 95th
            percentile, or after a fine-tune its every percentile and its width held
            to the portrait's, and the head sampled faster or slowed per axis to the
            style's tempo; --no_style_amplitude leaves them the model's).
  isps      (generator renderer) the four ISPs: Style Mapping of the portrait with each
            template frame, the template's expression and pose moved onto the
            portrait's face (render/warp.retarget) as the landmarks I_o should have.
  frames    per chunk of CHUNK_FRAMES frames: the facial maps of phi_mg -> the
            Style-Aware Generator with the ISPs (or the warp renderer: the portrait
            warped piecewise-affinely to phi_mg, with its mouth --mouth: "painter"
            redrawn by the Mouth Painter at the crop's own resolution,
            render/mouth_painter.py, the default where the checkpoints hold one;
            "interior" teeth and the cavity drawn where the mouth opens, training-free,
            render/mouth_interior.py, the default otherwise; "none" the stretched
            lips) -> --resolution ->
            pasted back into the portrait with --paste_back -> appended to the mp4
            (media.VideoWriter: H.264 + AAC). No stage holds every frame, so memory
            does not grow with the audio's length.

Checkpoints: one folder holding a workdir per stage, named by CHECKPOINTS/checkpoints.json
({"motion_generator": "motion_generator/seed_0", ...}, relative to the folder;
`make demo-train` writes one) or else by the stage's name. The audio encoder's parameters
travel inside the Motion Generator's checkpoint; the warp renderer needs only the motion
stage, and uses a mouth_painter workdir where the folder has one. The default is the
shipped set, pretrained/ (stylehead_jax/pretrained.py: the Motion Generator for real
speech, so the warp renders); --renderer defaults to what the folder serves
(pick_renderer).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import os
import sys
import time

from absl import logging
import cv2
import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from stylehead_jax import console
from stylehead_jax import checkpoint
from stylehead_jax import frames as frames_lib
from stylehead_jax import isp
from stylehead_jax import media
from stylehead_jax import motion
from stylehead_jax import pretrained
from stylehead_jax.errors import ConfigError
from stylehead_jax.errors import MediaError
from stylehead_jax.errors import NoFaceError
from stylehead_jax.landmarks import detectors
from stylehead_jax.landmarks import facial_map
from stylehead_jax.landmarks import regions
from stylehead_jax.landmarks import tracking
from stylehead_jax.metrics import images as image_metrics
from stylehead_jax.models import layers
from stylehead_jax.render import mouth_interior
from stylehead_jax.render import mouth_painter
from stylehead_jax.render import sampling
from stylehead_jax.render import warp
from stylehead_jax.style import amplitude
from stylehead_jax.style import references
from stylehead_jax.style import templates
# pylint: enable=g-import-not-at-top,wrong-import-position

RENDERERS = ("generator", "warp")
STAGES = ("audio_encoder", "motion_generator", "style_mapping", "style_aware_generator",
          "mouth_painter")
MOUTHS = ("painter", "interior", "none")  # the warp renderer's mouth (module doc)
NEEDED = {"generator": ("motion_generator", "style_mapping", "style_aware_generator"),
          "warp": ("motion_generator",)}
MANIFEST = "checkpoints.json"
TRAIN_COMMANDS = {
    "audio_encoder": "python -m stylehead_jax.train --config configs/audio_encoder.py "
                     "--workdir {root}/audio_encoder",
    "motion_generator": "python -m stylehead_jax.train --config configs/motion_generator.py "
                        "--config.audio.encoder_workdir={root}/audio_encoder --workdir {dir}",
    "style_mapping": "python -m stylehead_jax.train --config configs/style_mapping.py "
                     "--workdir {dir}",
    "style_aware_generator": "python -m stylehead_jax.train --config "
                             "configs/style_aware_generator.py --config.isp_source=frames "
                             "--workdir {dir}",
    "mouth_painter": "python -m stylehead_jax.train --config configs/mouth_painter.py "
                     "--config.data.data_dir=DATA --workdir {dir}",
}
CHUNK_FRAMES = 16  # frames rendered per call (one compiled shape)
MIN_AUDIO_SECONDS = 0.5
MIN_FACE_PIXELS = 64  # the detector's box side in the portrait
MAX_PASTE_SIDE = 1920  # --paste_back output: the portrait scaled down to this long side
FEATHER = 0.04  # paste-back mask: Gaussian sigma, in crop sides
GROW = 0.06  # paste-back mask: the face region grown by this much of the crop side


# --- Checkpoints ------------------------------------------------------------------------
def write_manifest(root: str, workdirs: dict[str, str]) -> str:
  """Writes root/checkpoints.json naming each stage's workdir (relative to root)."""
  unknown = sorted(set(workdirs) - set(STAGES))
  if unknown:
    raise ValueError(f"unknown stages {unknown}; known: {STAGES}")
  path = os.path.join(root, MANIFEST)
  with open(path, "w") as f:
    json.dump({k: os.path.relpath(os.path.abspath(v), os.path.abspath(root))
               for k, v in workdirs.items()}, f, indent=1)
  return path


def pick_renderer(root: str) -> str:
  """The renderer a checkpoints folder serves: the generator where it holds the generator's
  stages, else the warp (the shipped set, pretrained/, has only the Motion Generator).

  Raises:
    ConfigError: it serves neither (the message says what to train).
  """
  try:
    stage_workdirs(root, "generator")
    return "generator"
  except ConfigError:
    stage_workdirs(root, "warp")
    return "warp"


def stage_workdirs(root: str, renderer: str) -> dict[str, str]:
  """{stage: workdir} of the stages `renderer` needs, from the checkpoints folder, and for
  the warp renderer the Mouth Painter's where the folder has one.

  Raises:
    ConfigError: the folder, its manifest or a stage's checkpoint is missing or broken;
      the message names the stage and the command that trains it.
  """
  if renderer not in RENDERERS:
    raise ConfigError(f"--renderer={renderer!r}: one of {RENDERERS}")
  root = os.path.abspath(root)
  if not os.path.isdir(root):
    raise ConfigError(f"--checkpoints {root}: no such folder")
  manifest = {}
  if os.path.exists(os.path.join(root, MANIFEST)):
    try:
      with open(os.path.join(root, MANIFEST)) as f:
        manifest = dict(json.load(f))
    except (ValueError, TypeError) as e:
      raise ConfigError(f"{os.path.join(root, MANIFEST)}: not a JSON object ({e})") from None
  out = {}
  for stage in NEEDED[renderer]:
    workdir = os.path.normpath(os.path.join(root, manifest.get(stage, stage)))
    if checkpoint.newest_step(workdir) is None:
      hint = TRAIN_COMMANDS[stage].format(root=root, dir=workdir)
      warp_hint = "; or use --renderer warp" if stage != "motion_generator" else ""
      raise ConfigError(f"--checkpoints {root}: no {stage} checkpoint in {workdir}; "
                        f"train it with: {hint}{warp_hint}")
    out[stage] = workdir
  painter = os.path.normpath(os.path.join(root, manifest.get("mouth_painter", "mouth_painter")))
  if renderer == "warp" and checkpoint.newest_step(painter) is not None:
    out["mouth_painter"] = painter
  return out


# --- Inputs -----------------------------------------------------------------------------
def check_writable(path: str) -> str:
  """The absolute `path`, once its folder is known to exist and take a new file.

  Raises:
    MediaError: the folder is missing or not writable.
  """
  path = os.path.abspath(path)
  folder = os.path.dirname(path)
  if not os.path.isdir(folder):
    raise MediaError(path, f"the output folder {folder} does not exist")
  probe = os.path.join(folder, f".{os.path.basename(path)}.probe")
  try:  # os.access says yes to root even where the file system is read-only
    with open(probe, "wb"):
      pass
    os.remove(probe)
  except OSError as e:
    raise MediaError(path, f"the output folder {folder} is not writable "
                     f"({e.strerror or type(e).__name__})") from None
  return path


def log_path(out: str) -> str:
  """Where the command's log goes: beside the video, named after it with ".log" added
  (OUT.mp4.log), so it can only replace an earlier log of the same video, never a file
  of the user's that happens to share the video's stem."""
  return os.path.abspath(out) + ".log"


def check_output(out: str, inputs) -> str:
  """The absolute output path, once it is known to be an .mp4, neither it nor its log
  (`log_path`) an input, and writable.

  Raises:
    MediaError: not .mp4, it or its log is an input, or its folder is missing or not
      writable.
  """
  path = os.path.abspath(out)
  if not path.lower().endswith(".mp4"):
    raise MediaError(path, "the output must be an .mp4 file")
  for written in (path, log_path(path)):
    for name in inputs:
      if name and (os.path.abspath(name) == written or (
          os.path.exists(written) and os.path.exists(name)
          and os.path.samefile(name, written))):
        raise MediaError(written, "the output is also an input; it would be overwritten")
  return check_writable(path)


def load_audio(path: str) -> np.ndarray:
  """24 kHz mono of any audio or video file, at least MIN_AUDIO_SECONDS and not silent."""
  audio = media.load_audio(path)
  seconds = len(audio) / media.SAMPLE_RATE
  if seconds < MIN_AUDIO_SECONDS:
    raise MediaError(path, f"{seconds:.2f} s of audio, too short to animate (at least "
                     f"{MIN_AUDIO_SECONDS} s)")
  return audio


@dataclasses.dataclass
class Portrait:
  """The portrait file and its face, tracked as footage is."""
  image: np.ndarray  # (H, W, 3) uint8, the file
  crop: np.ndarray  # (R, R, 3) uint8, the face's square crop
  landmarks: np.ndarray  # (68, 3) in crop pixels
  rotation: np.ndarray  # (3, 3)
  translation: np.ndarray  # (3,)
  torso: np.ndarray  # (3, 2)
  box: np.ndarray  # (3,) the crop in image pixels: centre x, centre y, side
  faces: int  # faces the detector found


def load_portrait(path: str, resolution: int, backend) -> tuple[Portrait, list[str]]:
  """The largest face of the image at `path`, and the warnings to show (several faces).

  Raises:
    MediaError: unreadable, no face, or a face smaller than MIN_FACE_PIXELS.
  """
  image = media.read_image(path)
  boxes = backend.detect(image)
  if not len(boxes):
    raise MediaError(path, "no face found")
  side = float(min(boxes[0, 2] - boxes[0, 0], boxes[0, 3] - boxes[0, 1]))
  if side < MIN_FACE_PIXELS:
    raise MediaError(path, f"the face is {side:.0f} px wide, too small to animate (at "
                     f"least {MIN_FACE_PIXELS} px; use a larger photo)")
  warnings = []
  if len(boxes) > 1:
    warnings.append(f"{path}: {len(boxes)} faces found; animating the largest")
  try:
    track = tracking.extract(image, backend=backend,
                             config=tracking.TrackerConfig(resolution=resolution))
  except NoFaceError:
    raise MediaError(path, "no face found in the face's crop (landmarks failed)") from None
  return Portrait(image=image, crop=track.frames[0], landmarks=track.landmarks[0],
                  rotation=track.rotation[0], translation=track.translation[0],
                  torso=track.torso[0], box=track.crop_boxes[0],
                  faces=len(boxes)), warnings


def load_style(path: str, resolution: int, cache_root: str) -> dict:
  """The style video's track and template frames (references.track_video)."""
  if os.path.splitext(path)[1].lower() not in media.VIDEO_SUFFIXES:
    raise MediaError(path, f"a style reference is a video ({', '.join(media.VIDEO_SUFFIXES)})")
  return references.track_video(path, resolution, os.path.join(cache_root, "styles"))


# --- Motion -----------------------------------------------------------------------------
# What the style critic sees of the head when animate fine-tunes: nothing. The head's style
# is the amplitude's (style/amplitude.py), applied after; docs/style_transfer.md has the study.
ANIMATE_HEAD_WEIGHT = 0.0


def styled_motion_model(mg_dir: str, style: str, style_frames: int, steps: int,
                        cache_root: str, seed: int, resolution: int,
                        progress: bool = True, *, drive_audio: str | None = None,
                        settings=()) -> motion.MotionModel:
  """The Motion Generator of `mg_dir` fine-tuned to the style video (its face tracked in
  `style_frames` frames, `load_style`) for `steps` steps by the style_transfer stage
  (:runlocal sizes on CPU), trained once per (reference content, steps, seed, Motion
  Generator checkpoint, the stage's settings, drive audio's content) and then read from
  the cache. A silent style needs `drive_audio`: the speech the Motion Generator is driven
  by while it learns the style's motion (no L_mg: that needs the reference's own speech).
  `settings`: "a.b=value" items changing the stage's config (a study's variants)."""
  from configs import style_transfer as style_transfer_config  # pylint: disable=g-import-not-at-top
  from configs import common  # pylint: disable=g-import-not-at-top
  from stylehead_jax import train  # pylint: disable=g-import-not-at-top
  config = style_transfer_config.get_config(
      "runlocal,video" if jax.default_backend() == "cpu" else "video")
  config.critic.head_weight = ANIMATE_HEAD_WEIGHT
  common.set_values(config, settings)
  if drive_audio is not None:
    config.style.drive_audio = drive_audio
    config.loss.mg_weight = 0.0
  drive = (references.content_key(config.style.drive_audio),) if config.style.drive_audio else ()
  key = references.content_key(style, steps, seed, mg_dir, checkpoint.newest_step(mg_dir),
                               resolution, config.data.window_frames, config.batch_size,
                               *[config[k].to_json() for k in ("critic", "loss", "optimizer")],
                               *drive)
  workdir = os.path.join(cache_root, "style_transfer",
                         f"{os.path.splitext(os.path.basename(style))[0]}-{key}")
  if style_frames < config.data.window_frames:
    raise MediaError(style, f"the face is tracked in {style_frames} frames, fewer than the "
                     f"{config.data.window_frames} a style transfer window needs")
  config.style.motion_generator_workdir = mg_dir
  config.style.reference = style
  config.style.span = (0.0, 1.0)  # all of it trains: nothing is evaluated here
  config.style.video_resolution = resolution
  config.style.cache_dir = os.path.join(cache_root, "styles")
  config.total_steps = steps
  config.checkpoint_every_steps = steps
  config.seed = seed
  config.progress = progress
  config.evals = type(config.evals)()
  if (checkpoint.newest_step(workdir) or 0) < steps:
    train.train_and_evaluate(config, workdir)
  state = checkpoint.load_state(checkpoint.checkpoint_dir(workdir))
  base = motion.load(mg_dir)
  return motion.MotionModel(base.config, state["params"], state.get("audio_params"))


# --- Rendering --------------------------------------------------------------------------
def _retargeted_templates(portrait: Portrait, style: dict | None):
  """The four reference frames (4, R, R, 3) and the landmarks each ISP should have (4,
  68, 3): the style's template frames, their expression and pose moved onto the
  portrait's face; without a style, the portrait four times."""
  if style is None:
    return (np.repeat(portrait.crop[None], len(templates.TEMPLATES), 0),
            np.repeat(portrait.landmarks[None], len(templates.TEMPLATES), 0))
  idx = style["template_indices"]
  pose = lambda i: (style["landmarks"][i], style["head_pose"]["rotation"][i],
                    style["head_pose"]["translation"][i])
  # The reference's neutral frame: its "None" template (the first), as the isp evaluator.
  target = warp.retarget((portrait.landmarks, portrait.rotation, portrait.translation),
                         pose(idx), pose(idx[0]))
  return style["template_frames"], target.astype(np.float32)


def make_isps(sm_dir: str, portrait: Portrait, style: dict | None) -> np.ndarray:
  """The four ISPs (4, S', S', 3) float in [0, 1] at Style Mapping's output size."""
  config = checkpoint.read_run_config(sm_dir)
  params = checkpoint.load_state(checkpoint.checkpoint_dir(sm_dir))["params"]
  references_, target = _retargeted_templates(portrait, style)
  r = portrait.crop.shape[0]
  fn = jax.jit(functools.partial(isp.make_isps, config))
  return np.asarray(fn(params, layers.to_unit(jnp.asarray(portrait.crop)),
                       layers.to_unit(jnp.asarray(references_)),
                       sampling.normalised(jnp.asarray(portrait.landmarks), r),
                       sampling.normalised(jnp.asarray(target), r)))


def _resize(images: np.ndarray, size: int) -> np.ndarray:
  enlarging = images.shape[1] < size
  return image_metrics.resize(images, size, cv2.INTER_CUBIC if enlarging else cv2.INTER_AREA)


def _padded(x: np.ndarray, n: int) -> np.ndarray:
  """x (m, ...) with its last row repeated to n rows (one compiled shape per renderer)."""
  return np.concatenate([x, np.repeat(x[-1:], n - len(x), 0)]) if len(x) < n else x


class GeneratorRenderer:
  """phi_mg chunks -> frames by the Style-Aware Generator with the portrait's ISPs."""

  def __init__(self, sag_dir: str, portrait: Portrait, isps: np.ndarray):
    self.config = checkpoint.read_run_config(sag_dir)
    self.params = checkpoint.load_state(checkpoint.checkpoint_dir(sag_dir))["params"]
    self.portrait = portrait
    size = self.config.image_size
    self.isps = sampling.resize(jnp.asarray(isps), size)
    self._render = jax.jit(self._render_chunk)

  def _render_chunk(self, params, isps, source, source_landmarks, target_landmarks, maps):
    n = target_landmarks.shape[0]
    inputs = frames_lib.render_inputs(
        jnp.broadcast_to(source, (n,) + source.shape), jnp.broadcast_to(
            source_landmarks, (n,) + source_landmarks.shape), target_landmarks, maps,
        self.config)
    out = frames_lib.generate(params, inputs, jnp.broadcast_to(isps, (n,) + isps.shape),
                              self.config)
    return out["image"]

  def __call__(self, landmarks: np.ndarray) -> np.ndarray:
    r = self.portrait.crop.shape[0]
    m = len(landmarks)
    landmarks = _padded(landmarks, CHUNK_FRAMES)
    maps = facial_map.render_facial_maps(landmarks, self.config.image_size, r)
    images = self._render(self.params, self.isps, self.portrait.crop,
                          self.portrait.landmarks, landmarks, maps)
    return _resize(image_metrics.to_uint8(images[:m]), r)


class WarpRenderer:
  """phi_mg chunks -> the portrait warped piecewise-affinely to each frame's landmarks,
  the mouth redrawn by a Mouth Painter (`painter`: its workdir; render/mouth_painter.py),
  or else with an interior drawn where the mouth opens beyond the portrait's
  (interior=True, render/mouth_interior.py), or else the plain warp."""

  def __init__(self, portrait: Portrait, interior: bool = True, painter: str | None = None):
    self.portrait = portrait
    if painter:
      self.mouth = mouth_painter.Painter(painter, portrait.crop, portrait.landmarks)
    elif interior:
      self.mouth = mouth_interior.Interior(portrait.crop, portrait.landmarks)
    else:
      self.mouth = None

  def __call__(self, landmarks: np.ndarray) -> np.ndarray:
    m = len(landmarks)
    padded = _padded(landmarks, CHUNK_FRAMES)  # one compiled shape for the painter too
    out = warp.render(self.portrait.crop, self.portrait.landmarks, padded)
    return (self.mouth.draw(out, padded) if self.mouth else out)[:m]


class PasteBack:
  """Crops (R, R, 3) -> the portrait's framing: each generated crop blended into the
  portrait (scaled to at most MAX_PASTE_SIDE, even sides) where its face is, by a mask
  of the face regions (landmarks/regions, label > 0) of the frame and of the portrait,
  grown by GROW and feathered by a Gaussian of FEATHER crop sides."""

  def __init__(self, portrait: Portrait):
    image = portrait.image
    scale = min(1.0, MAX_PASTE_SIDE / max(image.shape[:2]))
    h, w = (int(round(s * scale)) // 2 * 2 for s in image.shape[:2])
    self.scale = (w / image.shape[1], h / image.shape[0])
    self.background = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA) \
        if (h, w) != image.shape[:2] else image[:h, :w]
    self.box = portrait.box
    self.portrait_face = regions.region_map(portrait.landmarks,
                                            portrait.crop.shape[0]) > 0
    self.size = (h, w)

  def _to_image(self, r: int) -> np.ndarray:
    """The 2 x 3 affine from crop pixels to (scaled) image pixels (tracking.crop's inverse)."""
    cx, cy, side = self.box
    s = side / r
    sx, sy = self.scale
    return np.array([[s * sx, 0, (cx - side / 2) * sx], [0, s * sy, (cy - side / 2) * sy]],
                    np.float32)

  def __call__(self, crops: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    r = crops.shape[1]
    h, w = self.size
    affine = self._to_image(r)
    grow = max(1, int(round(GROW * r)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    out = np.empty((len(crops), h, w, 3), np.uint8)
    for i, (crop, points) in enumerate(zip(crops, landmarks)):
      mask = ((regions.region_map(points, r) > 0) | self.portrait_face).astype(np.float32)
      mask = cv2.GaussianBlur(cv2.dilate(mask, kernel), (0, 0), FEATHER * r)
      border = dict(flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
      face = cv2.warpAffine(crop, affine, (w, h), **border)
      alpha = cv2.warpAffine(mask, affine, (w, h), **border)[..., None]
      out[i] = np.clip(alpha * face + (1 - alpha) * self.background + 0.5, 0, 255)
    return out


# --- The pipeline -----------------------------------------------------------------------
class _Stages:
  """Times named stages and shows one line per stage (progress=True)."""

  def __init__(self, progress: bool):
    self.progress = progress
    self.seconds = {}

  @contextlib.contextmanager
  def __call__(self, name: str):
    start = time.perf_counter()
    yield
    self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
    if self.progress and name != "frames":
      tqdm.tqdm.write(f"{name:>8}: {self.seconds[name]:.1f} s", file=sys.stderr)


def animate(portrait: str, audio: str, checkpoints: str, out: str, *,
            style: str | None = None, renderer: str | None = None,
            resolution: int = media.CROP_SIZE, style_steps: int = 0,
            style_amplitude: bool | str = True, style_settings=(), mouth: str | None = None,
            paste_back: bool = False, seed: int = 0,
            backend: str = "dlib", progress: bool = True,
            keep_motion: bool = False) -> tuple[str, dict]:
  """Animates `portrait` speaking (or singing) `audio` into the mp4 `out`; see the module
  docstring for the stages.

  renderer None: the one `checkpoints` serves (pick_renderer). mouth (the warp renderer's,
  MOUTHS) None: "painter" where `checkpoints` holds a mouth_painter run, else "interior".

  Returns:
    (the output path, a summary: frames, seconds, each stage's seconds and frames/s,
     the real-time factor, the checkpoints used and any warnings; with keep_motion,
     also "motion": the generated motion.MotionTrack).

  Raises:
    MediaError: an input file cannot be used, or the output cannot be written (the
      message names the file); nothing was written.
    ConfigError: a checkpoint is missing (the message says which stage and how to
      train it) or an argument is out of range.
  """
  if style_steps < 0 or (style_steps and not style):
    raise ConfigError("--style_steps needs --style and is >= 0")
  if mouth not in (None,) + MOUTHS:
    raise ConfigError(f"--mouth={mouth!r}: one of {MOUTHS}")
  if resolution < 64 or resolution % 2:
    raise ConfigError(f"--resolution={resolution}: an even number of pixels, at least 64")
  stages = _Stages(progress)
  with stages("inputs"):
    out = check_output(out, [portrait, audio, style])
    renderer = renderer or pick_renderer(checkpoints)
    workdirs = stage_workdirs(checkpoints, renderer)
    if renderer == "warp":
      mouth = mouth or ("painter" if "mouth_painter" in workdirs else "interior")
      if mouth == "painter" and "mouth_painter" not in workdirs:
        raise ConfigError(f"--checkpoints {os.path.abspath(checkpoints)}: no mouth_painter "
                          "checkpoint for --mouth painter; train it with: "
                          + TRAIN_COMMANDS["mouth_painter"].format(
                              dir=os.path.join(os.path.abspath(checkpoints), "mouth_painter")))
    else:
      mouth = None
    samples = load_audio(audio)
    detector = detectors.get_backend(backend)
    face, warnings = load_portrait(portrait, resolution, detector)
    for line in warnings:
      print(f"warning: {line}", file=sys.stderr)
  cache_root = os.path.join(os.path.abspath(checkpoints), ".cache")
  reference = None
  if style:
    with stages("style"):
      reference = load_style(style, resolution, cache_root)
  with stages("motion"):
    if style and style_steps:
      silent = not reference.get("has_audio", True)
      model = styled_motion_model(workdirs["motion_generator"], style,
                                  len(reference["landmarks"]), style_steps,
                                  cache_root, seed, resolution, progress,
                                  drive_audio=audio if silent else None,
                                  settings=style_settings)
    else:
      model = motion.load(workdirs["motion_generator"])
    target = None
    if reference is not None and style_amplitude:  # over spans as long as the output
      target = motion.style_amplitude(reference, model.config,
                                      media.num_video_frames(len(samples)))
      if style_steps:
        target = dataclasses.replace(target, mouth_match=amplitude.FINE_TUNED_MOUTH_MATCH,
                                     mouth_width_from=amplitude.FINE_TUNED_MOUTH_WIDTH,
                                     head_tempo=amplitude.FINE_TUNED_HEAD_TEMPO)
      if isinstance(style_amplitude, str):  # a study's variant (amplitude.variant)
        target = amplitude.variant(target, style_amplitude)
    phi = motion.generate_motion(samples, face.landmarks, model, jax.random.key(seed),
                                 source_pose=(face.rotation, face.translation),
                                 source_torso=face.torso, resolution=resolution,
                                 style=target)
  if renderer == "generator":
    with stages("isps"):
      isps = make_isps(workdirs["style_mapping"], face, reference)
      render = GeneratorRenderer(workdirs["style_aware_generator"], face, isps)
  else:
    render = WarpRenderer(face, interior=mouth == "interior",
                          painter=workdirs["mouth_painter"] if mouth == "painter" else None)
  paster = PasteBack(face) if paste_back else None
  height, width = paster.size if paster else (resolution, resolution)
  total = len(phi.landmarks)
  partial = os.path.join(os.path.dirname(out), f".{os.path.basename(out)}.partial.mp4")
  try:
    with stages("frames"), media.VideoWriter(partial, width, height,
                                             audio=media.pad_to_frames(samples)) as writer:
      bar = tqdm.tqdm(total=total, desc="frames", unit="frame", disable=not progress,
                      dynamic_ncols=True, file=sys.stderr)
      for start in range(0, total, CHUNK_FRAMES):
        chunk = phi.landmarks[start:start + CHUNK_FRAMES]
        images = render(chunk)
        if paster:
          images = paster(images, chunk)
        writer.write(images)
        bar.update(len(chunk))
      bar.close()
    os.replace(partial, out)
  finally:
    if os.path.exists(partial):
      os.remove(partial)
  seconds = total / media.FPS
  elapsed = sum(stages.seconds.values())
  summary = {
      "out": out, "frames": total, "seconds": seconds, "size": [height, width],
      "renderer": renderer, "style": style and os.path.abspath(style),
      "style_steps": style_steps,
      "style_amplitude": None if target is None else {
          "head_centre": target.head_centre, "mouth_match": target.mouth_match,
          "mouth_width": target.mouth_width_from, "head_tempo": target.head_tempo},
      "mouth": mouth,
      "seed": seed, "paste_back": paste_back,
      "faces_in_portrait": face.faces, "warnings": warnings,
      "checkpoints": workdirs,
      "stages": {name: {"seconds": s, "frames_per_second": total / s if s else None}
                 for name, s in stages.seconds.items()},
      "total_seconds": elapsed, "frames_per_second": total / elapsed,
      "real_time_factor": elapsed / seconds,
  }
  if keep_motion:
    summary["motion"] = phi
  return out, summary


# --- The command ------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(
      prog="python -m stylehead_jax.animate",
      description="Animate a portrait with an audio file (optionally in the talking or "
                  "singing style of a reference video) into a 60 fps mp4 with sound.")
  p.add_argument("--portrait", required=True, help="image with a face (png, jpg, ...)")
  p.add_argument("--audio", required=True, help="speech or singing: any audio file, or "
                 "a video's soundtrack")
  p.add_argument("--checkpoints", default=pretrained.DIR,
                 help="folder of the stages' workdirs (default: the shipped set, "
                      "%(default)s)")
  p.add_argument("--out", required=True, help="the mp4 to write")
  p.add_argument("--style", default=None, help="a video whose talking/singing style to take")
  p.add_argument("--renderer", choices=RENDERERS, default=None,
                 help="default: the generator where --checkpoints holds its stages, "
                      "else the warp")
  p.add_argument("--resolution", type=int, default=media.CROP_SIZE,
                 help="side of the face crop in pixels (default %(default)s)")
  p.add_argument("--style_steps", type=int, default=0,
                 help="fine-tune the Motion Generator to --style for this many steps")
  p.add_argument("--no_style_amplitude", dest="style_amplitude", action="store_false",
                 help="leave the head's spread and the mouth's opening the Motion "
                      "Generator's instead of the --style video's")
  p.add_argument("--mouth", choices=MOUTHS, default=None,
                 help="(--renderer warp) redrawn by the Mouth Painter, an interior drawn "
                      "where it opens, or the stretched lips (default: painter where "
                      "--checkpoints holds one, else interior)")
  p.add_argument("--no_mouth_interior", dest="mouth", action="store_const", const="none",
                 help="the same as --mouth none")
  p.add_argument("--paste_back", action="store_true",
                 help="blend the face back into the whole portrait")
  p.add_argument("--seed", type=int, default=0, help="seeds the head motion")
  p.add_argument("--json", default=None, help="write the summary here")
  p.add_argument("--backend", default="dlib", help="landmark backend (dlib or "
                 "face_alignment)")
  p.add_argument("--quiet", action="store_true", help="no progress")
  return p


@contextlib.contextmanager
def log_to_file(path: str):
  """Every log record (absl, orbax, TensorFlow's Python side) and Python warning goes to
  `path`, not between the bars; the log is kept only where the command succeeded (a
  failed one writes nothing)."""
  import logging as std_logging  # pylint: disable=g-import-not-at-top
  partial = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.partial")
  root = std_logging.getLogger()
  # TensorFlow, where loaded, gave its logger a console handler of its own.
  tf_logger = std_logging.getLogger("tensorflow")
  saved = root.handlers[:], root.level, tf_logger.handlers[:], tf_logger.propagate
  handler = std_logging.FileHandler(partial, mode="w")
  handler.setFormatter(std_logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
  root.handlers = [handler]
  root.setLevel(std_logging.INFO)
  tf_logger.handlers, tf_logger.propagate = [], True
  logging.use_python_logging(quiet=True)
  std_logging.captureWarnings(True)
  console.log_startup_lines()
  try:
    yield
  except BaseException:
    handler.close()
    os.remove(partial)
    raise
  finally:
    root.handlers, _, tf_logger.handlers, tf_logger.propagate = saved
    root.setLevel(saved[1])
    std_logging.captureWarnings(False)
  handler.close()
  os.replace(partial, path)


def main(argv=None) -> int:
  args = _parser().parse_args(argv)
  try:
    if args.json:
      check_writable(args.json)
    check_output(args.out, [args.portrait, args.audio, args.style])
    with log_to_file(log_path(args.out)):
      path, summary = animate(
          args.portrait, args.audio, args.checkpoints, args.out, style=args.style,
          renderer=args.renderer, resolution=args.resolution,
          style_steps=args.style_steps, style_amplitude=args.style_amplitude,
          mouth=args.mouth,
          paste_back=args.paste_back, seed=args.seed,
          backend=args.backend, progress=not args.quiet)
  except (MediaError, ConfigError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  except detectors.BackendUnavailable as e:
    print(f"error: --backend {args.backend}: {e}", file=sys.stderr)
    return 2
  if args.json:
    with open(args.json, "w") as f:
      json.dump(summary, f, indent=1)
  stages = "  ".join(f"{k} {v['seconds']:.1f} s" for k, v in summary["stages"].items())
  print(f"{path}: {summary['frames']} frames ({summary['seconds']:.1f} s) at "
        f"{summary['size'][1]}x{summary['size'][0]} by the {summary['renderer']} renderer, "
        f"{summary['frames_per_second']:.1f} "
        f"frames/s end to end ({stages})")
  return 0


if __name__ == "__main__":
  sys.exit(main())
