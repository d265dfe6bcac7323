"""Config sections `model` and `train`: stage 1 (owned by the stage-1 trainer)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ModelConfig:
    """Stage-1 neural fields."""

    n_levels: int = 8
    """Number of level sets (= baked layers)."""
    level_range: tuple[float, float] = (-0.2, 0.0)
    """Innermost and outermost level value of the manifold field."""
    dim_pos_feature: int = 8
    """Position-feature channels per point (baked into textures)."""
    num_texture_basis: int = 16
    """K radiance bases mixed by the per-pixel MLP."""
    temperature: float = 10.0
    """Softmax temperature of the per-pixel MLP coefficients."""
    frame_mlp_hidden: list[int] = field(default_factory=lambda: [64, 64])
    """Hidden widths of the per-frame MLP (pose + expression -> per-pixel MLP weights)."""
    pixel_mlp_hidden: list[int] = field(default_factory=lambda: [16])
    """Hidden widths of the per-pixel MLP (pos features, normal, view dir -> K coefficients)."""


@dataclass
class TrainConfig:
    """Stage-1 optimisation."""

    iterations: int = 3000
    """Optimisation steps."""
    batch_images: int = 4
    """Images per step."""
    rays_per_image: int = 2048
    """Rays sampled per image."""
    lr: float = 3e-3
    """Learning rate of the fields."""
    checkpoint_every: int = 1000
    """Write an atomic checkpoint every N steps."""
    log_every: int = 50
    """Log scalars every N steps."""
    mixed_precision: str = "no"
    """Accelerate mixed precision: no, fp16 or bf16."""
