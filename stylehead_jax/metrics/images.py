"""Pixel metrics of generated frames against the truth (numpy)."""

from __future__ import annotations

import numpy as np


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
  """PSNR in dB of images in [0, 1] over the pixels where mask (H, W) is true (all
  pixels without one): 10 log10(1 / MSE); inf where they are equal."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  err = (a - b) ** 2
  if mask is not None:
    err = err[np.asarray(mask, bool)]
  mse = float(err.mean()) if err.size else float("nan")
  return float("inf") if mse == 0 else float(10 * np.log10(1.0 / mse))
