"""Config section `bake`: stages 2 and 3 (owned by bake/)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BakeConfig:
    """Mesh extraction, texture baking and the differentiable-raster fine-tune."""

    mc_resolution: int = 256
    """Final marching-cubes grid resolution per axis (reached coarse-to-fine)."""
    faces_per_layer: int = 10000
    """Triangle budget per layer after decimation."""
    texture_size: int = 512
    """Texture side in texels."""
    supersample: int = 2
    """Samples per texel side when baking textures."""
    finetune_iterations: int = 1000
    """Stage-3 steps."""
