"""Evaluator "mouth_frames": the Mouth Painter's self-reenactment of held-out speakers,
against the warp renderer with and without its drawn interior, and the truth.

The clips, their frames and every measurement are the "frames" evaluator's
(evaluators/frames.py: per clip `max_frames` consecutive frames from its middle, driven
by their tracked landmarks from the clip's first frame; LPIPS of the face and of the
mouth, PSNR, SSIM, tracked landmark error, identity to the first frame, CPBD, flicker,
teeth and cavity ratios on open frames), at the frames' own resolution: nothing is
resized. Prefixes: "" the painter over the warp (render/mouth_painter.py), "warp_" the
plain warp (render/warp.py), "interior_" the warp with its drawn interior
(render/mouth_interior.py). Images: per clip its most open frame as warp | interior |
painter | truth, with the mouth's crop enlarged below; a strip of 8 frames of the first
clip (painter above truth), and that clip as a video (painter | truth | warp).
"""

from __future__ import annotations

import cv2
import numpy as np

from stylehead_jax.evaluators import frames as frames_evaluator
from stylehead_jax.metrics import mouth
from stylehead_jax.metrics import sharpness
from stylehead_jax.models import mouth_painter as network
from stylehead_jax.render import mouth_interior
from stylehead_jax.render import mouth_painter
from stylehead_jax.render import warp


class Evaluator(frames_evaluator.Evaluator):

  def _record(self, cut: dict) -> dict:
    """A cut clip with its true frames, region labels, the warp's frames and the warp's
    with the interior drawn, all at the clip's resolution."""
    warped = warp.render(cut["portrait"], cut["portrait_landmarks"], cut["landmarks"])
    interior = mouth_interior.Interior(cut["portrait"], cut["portrait_landmarks"]).draw(
        warped, cut["landmarks"])
    return dict(cut, truth=cut["frames"], labels=cut["region_maps"][..., 0], warp=warped,
                interior=interior, scale=1.0,
                crop=mouth_painter.crop_for(self.config, cut["portrait"],
                                            cut["portrait_landmarks"]))

  def generate(self, state, clip) -> dict:
    return {"image": mouth_painter.paint(state["params"], network.make(self.config),
                                         clip["warp"], clip["portrait"],
                                         clip["portrait_landmarks"], clip["landmarks"],
                                         clip["crop"])}

  def baselines(self, generated: list[dict]) -> dict:
    """The warp's and the warp-with-interior's measurements and the truth's floors,
    computed once."""
    del generated
    if self._baselines is None:
      clips = self.clips()
      self._baselines = {**self.measure([c["warp"] for c in clips], "warp_"),
                         **self.measure([c["interior"] for c in clips], "interior_")}
      truth = [self._faces.landmark_error(image, lm)
               for c in clips for image, lm in zip(c["truth"], c["landmarks"])]
      self._baselines.update(
          truth_landmark_error_px=float(np.mean(truth)),
          truth_cpbd=float(np.mean([sharpness.mean_cpbd(c["truth"])
                                    for c in clips])))
    return self._baselines

  def summaries(self, generated) -> dict:
    return {"warp_interior_painter_truth": self.image_grid(generated),
            "clip_painter_over_truth": self.strip(generated[0]),
            "clip_painter_truth_warp_video": self.video(generated[0])}

  def image_grid(self, generated) -> np.ndarray:
    """(n, 2 H, 4 W, 3) in [0, 1]: per clip its most open frame, warp | interior |
    painter | truth, each with its mouth's crop enlarged to the frame's size below."""
    rows = []
    for clip, g in zip(self.clips(), generated):
      t = int(np.argmax(mouth.opening(clip["landmarks"])))
      c, size = clip["crop"], clip["truth"].shape[1]
      x, y = np.asarray(mouth_painter.crop_origin(clip["landmarks"][t:t + 1], c, size))[0]
      cells = []
      for image in (clip["warp"][t], clip["interior"][t], g["image"][t], clip["truth"][t]):
        zoomed = cv2.resize(image[y:y + c, x:x + c], (size, size), interpolation=cv2.INTER_NEAREST)
        cells.append(np.concatenate([image, zoomed], 0))
      rows.append(np.concatenate(cells, 1))
    return np.stack(rows).astype(np.float32) / 255
