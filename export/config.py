"""Config section `export`: the glTF bundle (owned by export/)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ExportConfig:
    """What goes into the `.glb` and how it is compressed."""

    texture_format: str = "png"
    """Image format of the textures inside the bundle (png or webp)."""
    quantize: bool = True
    """Quantise vertex attributes and morph targets where glTF allows."""
