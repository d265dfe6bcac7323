"""Config section `export`: the glTF bundle (owned by export/)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ExportConfig:
    """What goes into the `.glb` and how it is compressed."""

    texture_format: str = "webp"
    """Image format of the textures inside the bundle (png or webp; webp uses EXT_texture_webp)."""
    texture_quality: int = 85
    """Lossy WebP quality (1-100) of the radiance and base-colour textures (position features stay lossless)."""
    lossless_radiance: bool = False
    """Store the radiance atlas losslessly even with webp (png is always lossless)."""
    quantize: bool = True
    """Quantise vertex attributes and morph targets where glTF allows (KHR_mesh_quantization)."""
    morph_epsilon: float = 1e-4
    """Morph-target vertex deltas smaller than this (model units) are stored as zero (sparse)."""
    base_colour_size: int = 256
    """Side of the fallback base-colour texture per layer (0 keeps the artifact's size)."""
    fps: float = 25.0
    """Frame rate of the tracked sequences turned into glTF animations."""

    def validate(self) -> None:
        if self.texture_format not in ("png", "webp"):
            raise ValueError(f"export.texture_format must be png or webp; got {self.texture_format!r}")
        if not 1 <= self.texture_quality <= 100:
            raise ValueError(f"export.texture_quality must be in [1, 100]; got {self.texture_quality}")
        if self.morph_epsilon < 0:
            raise ValueError(f"export.morph_epsilon must be >= 0; got {self.morph_epsilon}")
        if self.base_colour_size < 0:
            raise ValueError(f"export.base_colour_size must be >= 0; got {self.base_colour_size}")
        if self.fps <= 0:
            raise ValueError(f"export.fps must be positive; got {self.fps}")
