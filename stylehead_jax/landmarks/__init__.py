"""68-point landmarks: conventions, region maps, the facial map and detector backends."""

from stylehead_jax.landmarks import conventions
from stylehead_jax.landmarks.facial_map import render_facial_map, render_facial_maps
from stylehead_jax.landmarks.regions import region_map, region_maps, weight_mask

__all__ = ["conventions", "render_facial_map", "render_facial_maps", "region_map",
           "region_maps", "weight_mask"]
