"""Records the `cpbd` package's CPBD on 20 frames of each real clip, for test_metrics.py.

  python tests/record_cpbd_reference.py    # needs the dev extra (cpbd 1.0.7)

Frames: evenly spaced over the clip, the centred square resized to 512 x 512 (INTER_AREA)
in grey (ITU-R 601 luma), rounded to integers.
"""

import json
import pathlib

import cv2
import numpy as np
import tqdm

from stylehead_jax import media
from stylehead_jax.metrics import sharpness

HERE = pathlib.Path(__file__).resolve().parent
REAL = HERE.parents[1] / "shared" / "data" / "real"
OUT = HERE / "data" / "cpbd_package_values.json"
FRAMES_PER_CLIP = 20


def sample_frames(path) -> tuple[np.ndarray, np.ndarray]:
  """Frame indices (20,) and grey 512 x 512 frames (20, 512, 512) of a clip."""
  video = media.read_video(path, fps=None)
  indices = np.linspace(0, len(video.frames) - 1, FRAMES_PER_CLIP).astype(int)
  out = []
  for i in indices:
    frame = sharpness.grey(video.frames[i])
    h, w = frame.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = frame[top:top + side, left:left + side].astype(np.uint8)
    out.append(cv2.resize(square, (512, 512), interpolation=cv2.INTER_AREA))
  return indices, np.stack(out).astype(np.float64)


def main():
  package = sharpness.load_cpbd_package()
  values = {"package": "cpbd 1.0.7", "frames": {}}
  for path in tqdm.tqdm(sorted(REAL.glob("*.mp4")), desc="clips"):
    indices, frames = sample_frames(path)
    values["frames"][path.name] = {
        "indices": indices.tolist(), "cpbd": [float(package.compute(f)) for f in frames]}
  OUT.write_text(json.dumps(values, indent=1))
  print(f"wrote {OUT}")


if __name__ == "__main__":
  main()
