"""Metrics of a generated talking head against a reference: prints a table, writes JSON.

  python eval/metrics.py --generated G --reference R [--style_reference S]
      [--protocol clean|aioz] [--window 60 --stride 30] [--json OUT] [--no_cpbd]
      [--aioz_frames released|jpeg|decoded] [--aioz_faces last|largest] [--aioz_nan]
      [--emotion_checkpoint GLAMOR_WORKDIR [--emotion_label Happy] [--emotion_frames 60]]

G, R, S are videos (landmarks by the project's extractor, stylehead_jax.landmarks.tracking)
or .npz files holding `landmarks` (T, 68, 2|3) in pixels and optionally `fps` (60 if
absent) and `frames` (T, H, W, 3, for CPBD).

clean (default): tracks of 512 x 512 face crops at 60 fps, smoothed as in training data;
  the metrics as defined in stylehead_jax/metrics (documented there).
aioz: the paper's released scripts (aioz-ai/AudioDrivenStyleTransfer, src/style_metrics):
  their landmarks to the pixel (stylehead_jax/landmarks/aioz.py: ffmpeg -r 29.97's frames
  and re-encode, a JPEG round trip, 512 x 512 grey, dlib with one upsampling; checked
  against the scripts' steps in tests/test_aioz.py), their SLD/SLV/SMD
  (stylehead_jax/metrics/style.py), averaged over window lengths 10..100 and strides
  1..19 unless --window/--stride fix one. --aioz_frames jpeg|decoded leave out the
  re-encode (and the JPEG round trip); --aioz_faces largest keeps the largest face where
  dlib finds several (the scripts keep the last, which can be a small box beside the
  face; the output lists such frames) and does about a quarter of the detection work.
  A window longer than the clips is an error naming the clip (the scripts' figure is
  then NaN: --aioz_nan gives that). Landmarks only: --landmarks does not apply.
Frame-aligned metrics compare the first min(len(G), len(R)) frames; the output says when
the lengths differed. CPBD is computed on the generated video's own frames (with aioz, as
they are decoded, a few at a time: memory does not grow with the video's length). R (and
S) are tracked in a second process while G is tracked here.

--emotion_checkpoint: a glamor training workdir (stylehead_jax.emotion_classifier)
classifies up to --emotion_frames evenly spaced frames of G and of R; emotion_consistency
is the fraction of G's frames showing R's dominant emotion (stylehead_jax.metrics.emotion).
--emotion_label: the true emotion of both; adds per-class accuracy over their frames.
"""

from __future__ import annotations

import _thread
import argparse
from concurrent import futures
import dataclasses
import json
import multiprocessing
import os
import sys
import threading

import numpy as np

from stylehead_jax import emotions
from stylehead_jax import media
from stylehead_jax import metrics
from stylehead_jax.landmarks import aioz
from stylehead_jax.errors import NoFaceError
from stylehead_jax.landmarks import detectors
from stylehead_jax.metrics import emotion as emotion_metrics
from stylehead_jax.metrics import report
from stylehead_jax.metrics import sharpness
from stylehead_jax.metrics import style

RESOLUTION = media.CROP_SIZE  # the clean protocol's crop side, pixels


@dataclasses.dataclass
class Input:
  path: str
  landmarks: np.ndarray  # (T, 68, 2|3) at `fps`
  fps: float
  cpbd: float | None = None  # mean over the input's own frames, where asked and possible
  detected_fraction: float | None = None
  notes: tuple[str, ...] = ()
  source_fps: float | None = None  # the frame rate the landmarks were made at (clean)

  def describe(self) -> dict:
    return {"path": self.path, "frames": len(self.landmarks), "fps": self.fps,
            "detected_fraction": self.detected_fraction}


def _resample(landmarks: np.ndarray, fps: float, protocol: str) -> np.ndarray:
  if protocol == "aioz":
    return landmarks[aioz.resample_indices(len(landmarks), fps)]
  if abs(fps - media.FPS) < 1e-6:
    return landmarks
  return landmarks[media.resample_indices(len(landmarks), fps, media.FPS)]


def _frame_list(frames: list[int]) -> str:
  shown = ", ".join(map(str, frames[:8]))
  return shown + (f" and {len(frames) - 8} more" if len(frames) > 8 else "")


def load(path: str, args, backend, cpbd: bool = False, progress: bool = True) -> Input:
  """A track from a video or .npz at the protocol's frame rate, and the mean CPBD of its
  own frames if `cpbd` (progress: tqdm bars)."""
  name = os.path.basename(path)
  if path.endswith(".npz"):
    media.check_file(path)
    try:
      with np.load(path) as data:
        if "landmarks" not in data:
          raise media.MediaError(path, f"no 'landmarks' array (has {sorted(data.files)})")
        landmarks = np.asarray(data["landmarks"], np.float32)
        fps = float(data["fps"]) if "fps" in data else float(media.FPS)
        frames = data["frames"] if cpbd and "frames" in data else None
    except (OSError, ValueError, EOFError) as e:
      raise media.MediaError(path, f"not a readable .npz ({e})") from None
    if landmarks.ndim != 3 or landmarks.shape[1:2] != (68,) or landmarks.shape[2] not in (2, 3):
      raise media.MediaError(path, f"landmarks of shape {landmarks.shape}, expected "
                             "(T, 68, 2 or 3)")
    value = None if frames is None else sharpness.mean_cpbd(frames)
    target = aioz.FPS if args.protocol == "aioz" else media.FPS
    return Input(path, _resample(landmarks, fps, args.protocol), target, value,
                 source_fps=fps)
  if args.protocol == "aioz":
    track = aioz.track(path, args.aioz_frames, args.aioz_faces,
                       progress=name if progress else None)
    notes = []
    if track.not_largest:
      notes.append(f"{path}: on frames {_frame_list(track.not_largest)} (29.97 fps) dlib "
                   "found several faces and kept the last, which is not the largest, as "
                   "the released scripts do (--aioz_faces largest keeps the largest)")
    if track.missing:
      notes.append(f"{path}: no face on frames {_frame_list(track.missing)} (29.97 fps), "
                   "interpolated from their neighbours (the released scripts fail there)")
    value = None
    if cpbd:  # the source frames as decoded, one at a time
      _, expected, frames = media.stream_video(path)
      value = sharpness.mean_cpbd(frames, total=expected,
                                  progress="CPBD" if progress else None)
    return Input(path, track.landmarks, aioz.FPS, value, notes=tuple(notes))
  # tracking imports scipy.signal (0.6 s): not where only .npz tracks are read.
  from stylehead_jax.landmarks import tracking  # pylint: disable=g-import-not-at-top
  # Streamed (memory flat in the video's length): the crops are not kept; CPBD takes the
  # crops of the source frames the track shows as they are made.
  values = []
  with futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
    measure = (lambda crops: values.extend(pool.map(sharpness.cpbd, crops))) if cpbd else None
    track = tracking.extract(path, backend=backend, progress=progress,
                             config=tracking.TrackerConfig(resolution=RESOLUTION),
                             keep_frames=False, on_crops=measure)
  value = float(np.mean(values)) if cpbd else None
  return Input(path, track.landmarks, media.FPS, value, track.detected_fraction,
               source_fps=track.source_fps)


def emotion_frames(path: str, limit: int) -> np.ndarray:
  """Up to `limit` evenly spaced frames of a video (or of an .npz's `frames`)."""
  if path.endswith(".npz"):
    with np.load(path) as data:
      if "frames" not in data:
        raise media.MediaError(path, "no 'frames' array: the emotion metrics need pictures")
      frames = data["frames"]
  else:
    frames = media.read_video(path, fps=None).frames
  picks = np.unique(np.linspace(0, len(frames) - 1, min(limit, len(frames))).astype(int))
  return frames[picks]


def evaluate_emotion(args, backend) -> dict:
  """Emotion consistency of G against R (and per-class accuracy given a label)."""
  from stylehead_jax import emotion_classifier  # pylint: disable=g-import-not-at-top
  classifier = emotion_classifier.Classifier(args.emotion_checkpoint, backend=backend)
  predicted = {}
  for name in ("generated", "reference"):
    path = getattr(args, name)
    labels, _ = classifier.classify(emotion_frames(path, args.emotion_frames))
    if not (labels >= 0).any():
      raise media.MediaError(path, "no face found in any frame sampled for the emotion metrics")
    predicted[name] = labels[labels >= 0]
  value, target = emotion_metrics.consistency(predicted["generated"], predicted["reference"])
  out = {"emotion_consistency": value, "reference_emotion": emotions.EMOTIONS[target],
         "frames_classified": {k: int(len(v)) for k, v in predicted.items()}}
  if args.emotion_label:
    label = emotions.index(args.emotion_label)
    both = np.concatenate([predicted["generated"], predicted["reference"]])
    out["per_class_accuracy"] = emotion_metrics.per_class_accuracy(
        both, np.full(len(both), label))
    out["generated_accuracy"] = float(np.mean(predicted["generated"] == label))
  return out


def _load_in_worker(path: str, args) -> Input:
  """`load` in a worker process, without a bar (the generated video's bar, tracked
  meanwhile, shows the progress)."""
  backend = None if args.protocol == "aioz" else detectors.get_backend(args.landmarks)
  return load(path, args, backend, progress=False)


def load_all(args, backend) -> dict[str, Input]:
  """Every input by its real path, each file read once. Videos other than the generated
  one are tracked in a second process while this one tracks the generated video (whose
  frames CPBD needs), so two videos take about the time of one on two cores. A failure
  there (a corrupt reference, no face) interrupts the tracking here and is raised."""
  paths = {}
  for path in (args.generated, args.reference, args.style_reference):
    if path:
      paths.setdefault(os.path.realpath(path), path)
  generated = os.path.realpath(args.generated)
  others = [k for k, p in paths.items() if k != generated and not p.endswith(".npz")]
  loaded = {}
  if others and (os.cpu_count() or 1) > 1:
    # spawn: safe in processes that run JAX or TensorFlow threads.
    context = multiprocessing.get_context("spawn")
    with futures.ProcessPoolExecutor(1, mp_context=context) as pool:
      pending = {k: pool.submit(_load_in_worker, paths[k], args) for k in others}
      # A failure there stops the tracking here at once (only while it runs: the lock
      # keeps the interrupt from landing anywhere else).
      lock, tracking_here = threading.Lock(), [True]

      def stop_here(future):
        with lock:
          if tracking_here[0] and future.exception():
            _thread.interrupt_main()

      for future in pending.values():
        future.add_done_callback(stop_here)
      try:
        loaded[generated] = load(args.generated, args, backend, cpbd=not args.no_cpbd)
        with lock:
          tracking_here[0] = False
      except KeyboardInterrupt:
        failed = [f.exception() for f in pending.values() if f.done() and f.exception()]
        if failed:
          raise failed[0] from None
        raise
      loaded.update({k: f.result() for k, f in pending.items()})
  for key, path in paths.items():
    if key not in loaded:
      loaded[key] = load(path, args, backend, cpbd=key == generated and not args.no_cpbd)
  return loaded


def _too_short(error: style.TooShort, inputs: list[Input], protocol: str) -> media.MediaError:
  """The clip a window does not fit in, named, with what to do."""
  shortest = min(inputs, key=lambda i: len(i.landmarks))
  hint = "; --window sets a shorter one"
  if protocol == "aioz":
    hint += ", --aioz_nan gives NaN as the released scripts do"
  return media.MediaError(shortest.path, (
      f"too short for the style metrics: {len(shortest.landmarks)} frames at "
      f"{shortest.fps:g} fps, and their windows take up to {error.window}{hint}"))


def evaluate(args) -> dict:
  needs_backend = args.protocol == "clean" and any(
      p and not p.endswith(".npz") for p in (args.generated, args.reference, args.style_reference))
  # Loading dlib's models takes about a second: only when a video or emotions need it.
  backend = detectors.get_backend(args.landmarks) \
      if needs_backend or args.emotion_checkpoint else None
  loaded = load_all(args, backend)

  def get(path):
    return dataclasses.replace(loaded[os.path.realpath(path)], path=path)

  generated, reference = get(args.generated), get(args.reference)
  style_reference = get(args.style_reference) if args.style_reference else None
  settings = style.StyleSettings(args.protocol, args.window, args.stride, args.aioz_nan)
  target = style_reference or reference
  if target.source_fps and generated.source_fps:  # SLV at the style's own rate (clean)
    settings = dataclasses.replace(settings, source_fps=(target.source_fps,
                                                         generated.source_fps))
  try:
    values = metrics.compare(generated.landmarks, reference.landmarks,
                             None if style_reference is None else style_reference.landmarks,
                             settings=settings)
  except style.TooShort as e:
    style_inputs = [generated, style_reference or reference]
    raise _too_short(e, style_inputs, args.protocol) from None
  if generated.cpbd is not None:
    values["cpbd"] = generated.cpbd
  inputs = {"generated": generated.describe(), "reference": reference.describe()}
  if style_reference is not None:
    inputs["style_reference"] = style_reference.describe()
  notes = []
  if values["trimmed"]:
    notes.append(f"lengths differ ({len(generated.landmarks)} vs {len(reference.landmarks)} "
                 f"frames): frame-aligned metrics use the first {values['frames_compared']}")
  if generated.cpbd is None and not args.no_cpbd:
    notes.append(f"{generated.path}: no frames, so no CPBD")
  if args.protocol == "aioz" and style.AIOZ_RUNNING_MEAN:
    notes.append("aioz: SLD/SLV/SMD take the min over running means of generated windows, "
                 "as the released loop does")
  for item in (generated, reference, style_reference):
    notes += list(item.notes) if item is not None else []
  metrics_out = {k: values[k] for k in report.UNITS if k in values}
  emotion = None
  if args.emotion_checkpoint:
    emotion = evaluate_emotion(args, backend)
    metrics_out["emotion_consistency"] = emotion["emotion_consistency"]
  protocol = {"resolution": RESOLUTION, "landmarks": args.landmarks}
  if args.protocol == "aioz":
    protocol = {"resolution": aioz.RESOLUTION, "landmarks": "dlib",
                "aioz_frames": args.aioz_frames, "aioz_faces": args.aioz_faces,
                "aioz_nan": args.aioz_nan}
  return {
      "metrics": metrics_out,
      "emotion": emotion,
      "frames_compared": values["frames_compared"],
      "settings": {"protocol": args.protocol, **settings.describe(),
                   "window_stride_pairs_used": values["window_stride_pairs"],
                   "fps": generated.fps, **protocol},
      "inputs": inputs,
      "notes": notes,
  }


def table(result: dict) -> str:
  lines = [f"{'metric':8s} {'value':>12s}  better  unit"]
  for name, value in result["metrics"].items():
    better, unit = report.UNITS[name]
    lines.append(f"{name.upper():8s} {value:12.4f}  {better:6s}  {unit}")
  lines.append(f"frames compared: {result['frames_compared']} at {result['settings']['fps']} "
               f"fps, protocol {result['settings']['protocol']}")
  if result.get("emotion"):
    e = result["emotion"]
    lines.append(f"emotion: reference shows {e['reference_emotion']}; frames classified "
                 f"{e['frames_classified']}")
    for name, value in e.get("per_class_accuracy", {}).items():
      lines.append(f"emotion accuracy ({name}): {value:.4f}")
  lines += [f"note: {n}" for n in result["notes"]]
  return "\n".join(lines)


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--generated", "-g", required=True, help="video or .npz")
  parser.add_argument("--reference", "-r", required=True, help="video or .npz")
  parser.add_argument("--style_reference", "-s", help="video or .npz (default: reference)")
  parser.add_argument("--protocol", choices=style.PROTOCOLS, default="clean")
  parser.add_argument("--window", type=int, help="F frames (clean default 60)")
  parser.add_argument("--stride", type=int, help="v frames (clean default 30)")
  parser.add_argument("--landmarks", default="dlib",
                      help="dlib or face_alignment (clean protocol; aioz is dlib's)")
  parser.add_argument("--aioz_frames", choices=aioz.FRAME_MODES, default="released",
                      help="aioz: the frames dlib sees; released: ffmpeg -r 29.97's re-encode "
                      "and a JPEG round trip, as the scripts; jpeg: without the re-encode; "
                      "decoded: neither")
  parser.add_argument("--aioz_faces", choices=aioz.FACE_CHOICES, default="last",
                      help="aioz: of several faces, the last dlib finds (as the scripts) or "
                      "the largest (about 4x less detection work)")
  parser.add_argument("--aioz_nan", action="store_true",
                      help="aioz: a window longer than the clips gives NaN, as the released "
                      "scripts (default: an error naming the clip)")
  parser.add_argument("--no_cpbd", action="store_true", help="skip CPBD")
  parser.add_argument("--emotion_checkpoint", help="glamor workdir: adds emotion consistency")
  parser.add_argument("--emotion_label", help="true emotion of G and R (adds accuracy)")
  parser.add_argument("--emotion_frames", type=int, default=60,
                      help="frames per video the emotion classifier reads")
  parser.add_argument("--json", help="write the result here")
  args = parser.parse_args(argv)
  if args.emotion_label:
    try:
      emotions.index(args.emotion_label)
    except ValueError as e:
      parser.error(f"--emotion_label: {e}")
  if args.protocol == "aioz" and args.landmarks != "dlib":
    parser.error("--protocol aioz measures landmarks with dlib, as the released scripts")
  for flag in ("window", "stride", "emotion_frames"):
    if getattr(args, flag) is not None and getattr(args, flag) < 1:
      parser.error(f"--{flag} must be >= 1")
  return args


def main(argv=None) -> dict:
  args = parse_args(argv)
  try:
    result = evaluate(args)
  except (media.MediaError, NoFaceError, detectors.BackendUnavailable,
          FileNotFoundError, ValueError) as e:
    sys.exit(f"error: {e}")
  print(table(result))
  if args.json:
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
      json.dump(result, f, indent=2)
  return result


if __name__ == "__main__":
  main()
