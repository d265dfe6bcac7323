"""Config section `export`: the glTF bundle (owned by export/)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ExportConfig:
    """What goes into the `.glb` and how it is compressed."""

    texture_format: str = "webp"
    """Image format of the textures inside the bundle (png or webp; webp uses EXT_texture_webp)."""
    texture_quality: int = 20
    """Lossy WebP quality (1-100) of the radiance and base-colour textures."""
    position_quality: int = 30
    """Lossy WebP quality (1-100) of the position-feature atlas; 0 = lossless (webp only)."""
    lossless_radiance: bool = False
    """Store the radiance atlas losslessly even with webp (png is always lossless)."""
    alpha_quality: int = 50
    """WebP alpha-plane quality (1-100, 100 = lossless) of the lossy radiance and position atlases."""
    shared_alpha: bool = True
    """Store the radiance alpha once per layer (tile 0) when every basis has the same alpha."""
    quantize: bool = True
    """Quantise vertex attributes and morph targets where glTF allows (KHR_mesh_quantization)."""
    morph_bits: int = 8
    """Morph-target deltas as 8 (BYTE) or 16 (SHORT) bit normalised integers with a per-target
    scale folded into the morph weights (needs `quantize`)."""
    morph_epsilon: float = 1e-4
    """Morph-target vertex deltas smaller than this (model units) are stored as zero."""
    morph_drop: float = 2e-3
    """Pose-corrective targets whose largest delta over all layers is below this (model units)
    are left out with their animation weights (0 keeps all)."""
    normal_epsilon: float = 1e-3
    """With normal blendshapes (stage 1's `model.normal_blendshapes`): normal deltas of a vertex
    smaller than this (unit-normal units, ~0.06 deg) are stored as zero."""
    normal_drop: float = 2e-2
    """With normal blendshapes, a pose-corrective target is kept when its largest normal delta
    reaches this even if its position deltas are below `morph_drop` (0 keeps all)."""
    morph_tolerance: float = 1e-4
    """Largest vertex error (model units) each int8 morph target may add in the bundle's
    animations: a target whose animation weights stay small gets a coarser step (a larger
    scale), which costs nothing visible and compresses far better; 0 = every target spans its
    own full int8 range."""
    budget_morph_tolerance: float = 2.5e-4
    """Over `max_mb`, the exporter first widens `morph_tolerance` to this (if larger) before it
    lowers texture quality: on the default avatar 1e-4 -> 2.5e-4 saves ~1.9 MB for ~0.5 dB
    (bundle vs artifact), less than lowering the WebP quality costs."""
    meshopt: bool = True
    """Compress vertex attributes, indices and morph targets with EXT_meshopt_compression."""
    base_colour_size: int = 256
    """Side of the fallback base-colour texture per layer (0 keeps the artifact's size)."""
    max_mb: float = 10.0
    """Size budget of the bundle in MB (1e6 bytes): while it is exceeded, the morph tolerance
    is widened to `budget_morph_tolerance`, then the lossy WebP radiance/base-colour quality is
    lowered in steps of 5 (not below 5), writing the bundle again each time; 0 = no budget.
    The exporter says what it changed, or that it could not fit."""
    fps: float = 25.0
    """Frame rate of the tracked sequences turned into glTF animations."""

    def validate(self) -> None:
        if self.texture_format not in ("png", "webp"):
            raise ValueError(f"export.texture_format must be png or webp; got {self.texture_format!r}")
        if not 1 <= self.texture_quality <= 100:
            raise ValueError(f"export.texture_quality must be in [1, 100]; got {self.texture_quality}")
        if not 0 <= self.position_quality <= 100:
            raise ValueError(f"export.position_quality must be 0 (lossless) or in [1, 100]; got {self.position_quality}")
        if not 1 <= self.alpha_quality <= 100:
            raise ValueError(f"export.alpha_quality must be in [1, 100]; got {self.alpha_quality}")
        if self.morph_bits not in (8, 16):
            raise ValueError(f"export.morph_bits must be 8 or 16; got {self.morph_bits}")
        if self.morph_drop < 0:
            raise ValueError(f"export.morph_drop must be >= 0; got {self.morph_drop}")
        if self.budget_morph_tolerance < 0:
            raise ValueError(f"export.budget_morph_tolerance must be >= 0; got {self.budget_morph_tolerance}")
        if self.morph_tolerance < 0:
            raise ValueError(f"export.morph_tolerance must be >= 0; got {self.morph_tolerance}")
        if self.normal_epsilon < 0:
            raise ValueError(f"export.normal_epsilon must be >= 0; got {self.normal_epsilon}")
        if self.normal_drop < 0:
            raise ValueError(f"export.normal_drop must be >= 0; got {self.normal_drop}")
        if self.morph_epsilon < 0:
            raise ValueError(f"export.morph_epsilon must be >= 0; got {self.morph_epsilon}")
        if self.base_colour_size < 0:
            raise ValueError(f"export.base_colour_size must be >= 0; got {self.base_colour_size}")
        if self.max_mb < 0:
            raise ValueError(f"export.max_mb must be >= 0; got {self.max_mb}")
        if self.fps <= 0:
            raise ValueError(f"export.fps must be positive; got {self.fps}")
