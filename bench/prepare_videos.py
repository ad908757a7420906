"""Frames per second of real-footage preparation, stage by stage; prints figures.

  python bench/prepare_videos.py                      # talk_hdtf_aoc.mp4 at 256 and 512
  python bench/prepare_videos.py --video CLIP.mp4 --resolutions 512

Stages, each timed over the whole clip and reported as source frames per second:
decode (ffmpeg -> RGB), detection (HOG around the last face, or the whole frame),
landmarks (68-point predictor), crop (smoothing, cut and resize), crop_landmarks
(detector and predictor again on the crop), pose (PnP), torso (Lucas-Kanade), encode
(PNG, as the TFDS Video feature stores frames).
"""

import argparse
import json
import os
import pathlib
import time

import cv2
import numpy as np

from stylehead_jax import media
from stylehead_jax.landmarks import detectors
from stylehead_jax.landmarks import pose
from stylehead_jax.landmarks import tracking

DEFAULT_VIDEO = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" / \
    "real" / "talk_hdtf_aoc.mp4"


class TimedBackend:
  """Wraps a backend, adding up the seconds spent in detect and landmarks."""

  def __init__(self, backend):
    self.backend, self.seconds = backend, {"detection": 0.0, "landmarks": 0.0}

  def detect(self, image, threshold=0.0, face_size=None):
    start = time.perf_counter()
    out = self.backend.detect(image, threshold=threshold, face_size=face_size)
    self.seconds["detection"] += time.perf_counter() - start
    return out

  def landmarks(self, image, box):
    start = time.perf_counter()
    out = self.backend.landmarks(image, box)
    self.seconds["landmarks"] += time.perf_counter() - start
    return out


def bench(path: str, resolution: int) -> dict:
  seconds = {}
  start = time.perf_counter()
  video = media.read_video(path, fps=None)
  seconds["decode"] = time.perf_counter() - start
  backend = TimedBackend(detectors.get_backend("dlib"))
  raw, detected = tracking.detect_track(video.frames, backend)
  seconds.update(backend.seconds)
  config = tracking.TrackerConfig(resolution=resolution)
  fps = video.source_fps

  start = time.perf_counter()
  smooth = tracking._smooth_landmarks(tracking.interpolate(raw, detected), fps,  # pylint: disable=protected-access
                                      config.smooth_seconds)
  boxes = tracking.crop_boxes(smooth, fps, config)
  crops = np.stack([tracking.crop(f, b, resolution) for f, b in zip(video.frames, boxes)])
  mapped = np.stack([tracking.to_crop(p, b, resolution) for p, b in zip(raw, boxes)])
  seconds["crop"] = time.perf_counter() - start
  start = time.perf_counter()
  landmarks = tracking.landmarks_on_crops(crops, mapped, detected, backend.backend)
  seconds["crop_landmarks"] = time.perf_counter() - start
  start = time.perf_counter()
  pose.solve_head_pose(landmarks, resolution)
  seconds["pose"] = time.perf_counter() - start
  start = time.perf_counter()
  tracking.track_torso(crops, landmarks)
  seconds["torso"] = time.perf_counter() - start
  start = time.perf_counter()
  for frame in crops:
    cv2.imencode(".png", frame)
  seconds["encode"] = time.perf_counter() - start

  n = len(video.frames)
  return {
      "video": os.path.basename(path), "resolution": resolution, "source_frames": n,
      "source_size": list(video.frames.shape[1:3]),
      "frames_per_second": {k: round(n / v, 1) for k, v in seconds.items()},
      "total_frames_per_second": round(n / sum(seconds.values()), 1),
  }


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--video", default=str(DEFAULT_VIDEO), help="clip to prepare")
  parser.add_argument("--resolutions", type=int, nargs="+", default=[256, 512],
                      help="crop sizes to time")
  args = parser.parse_args()
  for resolution in args.resolutions:
    print(json.dumps(bench(args.video, resolution)))


if __name__ == "__main__":
  main()
