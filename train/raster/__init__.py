"""Rasterization with nvdiffrast's interface and semantics, two backends.

* `torch` (`train.raster.reference` + `train.raster.sampling`): pure torch, CPU or GPU,
  differentiable w.r.t. vertex attributes, clip-space positions (through the barycentrics) and
  textures. It is the specification: read `reference.py`'s docstring for the exact conventions.
* `cuda` (`train.raster.nvdiff`): nvdiffrast (`diffrp-nvdiffrast`), CUDA tensors only.

Both provide `rasterize`, `interpolate`, `texture` and `antialias` (`train.raster.antialiasing`).

`rasterize`, `interpolate` and `texture` below dispatch per call: `backend=None`/`'auto'` uses
nvdiffrast for CUDA tensors when it is available and the reference otherwise.

Differences from nvdiffrast's own functions: `rasterize` and `interpolate` return one tensor (no
`rast_db` / `attr_da` pixel differentials), `texture` has no mipmapping, and the reference drops
triangles with a vertex at w <= 0 instead of clipping them.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import Tensor

from train.raster import reference, sampling
from train.raster.antialiasing import antialias as _antialias_ref

BACKENDS = ("auto", "torch", "cuda")

_TORCH = SimpleNamespace(
    name="torch",
    rasterize=reference.rasterize,
    interpolate=reference.interpolate,
    texture=sampling.texture,
    antialias=_antialias_ref,
)


def _cuda_backend():
    from train.raster import nvdiff

    nvdiff.load_nvdiffrast()  # raises NvdiffrastUnavailable with the reason
    return SimpleNamespace(
        name="cuda",
        rasterize=nvdiff.rasterize,
        interpolate=nvdiff.interpolate,
        texture=nvdiff.texture,
        antialias=nvdiff.antialias,
    )


def nvdiffrast_available() -> bool:
    """True when the nvdiffrast backend can run on this machine."""
    if not torch.cuda.is_available():
        return False
    from train.raster import nvdiff

    return nvdiff.available()


def get_backend(name: str | None = "auto", device: torch.device | str | None = None) -> SimpleNamespace:
    """Backend by name: 'torch' (reference), 'cuda' (nvdiffrast) or 'auto'.

    'auto' picks nvdiffrast when `device` is a CUDA device (default: CUDA if present) and
    nvdiffrast loads, the reference otherwise. The result has `.name`, `.rasterize`,
    `.interpolate`, `.texture`, `.antialias`.
    """
    name = name or "auto"
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {name!r}")
    if name == "torch":
        return _TORCH
    if name == "cuda":
        return _cuda_backend()
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if dev.type == "cuda" and nvdiffrast_available():
        return _cuda_backend()
    return _TORCH


def rasterize(pos: Tensor, tri: Tensor, resolution, backend: str | None = None) -> Tensor:
    """pos (B,V,4)|(V,4) clip space, tri (F,3) int32 -> rast (B,H,W,4) = (u, v, z/w, tri_id+1)."""
    return get_backend(backend, pos.device).rasterize(pos, tri, resolution)


def interpolate(attr: Tensor, rast: Tensor, tri: Tensor, backend: str | None = None) -> Tensor:
    """attr (V,C)|(B,V,C) -> (B,H,W,C) = u*a0 + v*a1 + (1-u-v)*a2 (0 where empty)."""
    return get_backend(backend, attr.device).interpolate(attr, rast, tri)


def texture(
    tex: Tensor, uv: Tensor, filter_mode: str = "linear", boundary_mode: str = "clamp", backend: str | None = None
) -> Tensor:
    """tex (B|1,Ht,Wt,C) sampled at uv (B,H,W,2) -> (B,H,W,C); texel row 0 <-> v = 0."""
    return get_backend(backend, tex.device).texture(tex, uv, filter_mode, boundary_mode)


def antialias(color: Tensor, rast: Tensor, pos: Tensor, tri: Tensor, backend: str | None = None) -> Tensor:
    """Analytic silhouette antialiasing: color (B,H,W,C) -> (B,H,W,C) (see `antialiasing.py`)."""
    return get_backend(backend, color.device).antialias(color, rast, pos, tri)


__all__ = ["BACKENDS", "antialias", "get_backend", "interpolate", "nvdiffrast_available", "rasterize", "texture"]
