"""Pixel metrics of generated frames against the truth, and the two conversions the image
evaluators make before measuring (numpy)."""

from __future__ import annotations

import cv2
import numpy as np


def to_uint8(images) -> np.ndarray:
  """Images in [0, 1] -> uint8 (rounded, clipped)."""
  return np.clip(np.round(np.asarray(images) * 255), 0, 255).astype(np.uint8)


def resize(images: np.ndarray, size: int, interpolation=cv2.INTER_AREA) -> np.ndarray:
  """(N, H, W[, C]) square images -> (N, size, size[, C]) by cv2 (area by default; nearest
  for labels); images already that size are kept."""
  return np.stack([i if i.shape[0] == size else
                   cv2.resize(i, (size, size), interpolation=interpolation) for i in images])


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
  """PSNR in dB of images in [0, 1] over the pixels where mask (H, W) is true (all
  pixels without one): 10 log10(1 / MSE); inf where they are equal."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  err = (a - b) ** 2
  if mask is not None:
    err = err[np.asarray(mask, bool)]
  mse = float(err.mean()) if err.size else float("nan")
  return float("inf") if mse == 0 else float(10 * np.log10(1.0 / mse))
