"""Evaluation metrics: landmark distances (LMD, D-L, D-V, D-A), style (SLD, SLV, SMD) and
sharpness (CPBD), as pure numpy functions over tracks (T, 68, 2|3) and frames."""

from stylehead_jax.metrics.distances import area_difference
from stylehead_jax.metrics.distances import landmark_distance
from stylehead_jax.metrics.distances import lmd
from stylehead_jax.metrics.distances import mouth_area
from stylehead_jax.metrics.distances import trim
from stylehead_jax.metrics.distances import velocity_distance
from stylehead_jax.metrics.report import compare
from stylehead_jax.metrics.sharpness import cpbd
from stylehead_jax.metrics.sharpness import mean_cpbd
from stylehead_jax.metrics.style import StyleSettings
from stylehead_jax.metrics.style import style_metrics

__all__ = ["area_difference", "compare", "cpbd", "landmark_distance", "lmd", "mean_cpbd",
           "mouth_area", "StyleSettings", "style_metrics", "trim", "velocity_distance"]
