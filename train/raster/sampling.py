"""Pure-torch texture sampling with nvdiffrast's `texture` semantics (reference backend).

Conventions (nvdiffrast's, and ours: `train.conventions`): `uv = (u, v)` in [0, 1]; `u` runs
along texture columns, `v` along texture rows with **row 0 <-> v = 0**; texel (i, j) has its
centre at `((i + 0.5) / W, (j + 0.5) / H)`.

* `filter_mode='linear'`: bilinear between the four nearest texel centres.
* `filter_mode='nearest'`: the texel containing the point (`floor(u * W)`).
* `boundary_mode='clamp'`: the continuous texel coordinate is clamped to the centres of the edge
  texels (so uv gradients vanish there, as in nvdiffrast); `'wrap'`: uv is taken modulo 1.
  nvdiffrast's `'zero'` mode is not offered: its texture gradients differed from ours by 8.6 %
  (relative) in the H100 parity run (docs/results/gpu_raster_parity.txt) and nothing here needs it.

Differentiable w.r.t. `tex` and (linear mode) `uv`.
"""

from __future__ import annotations

import torch
from torch import Tensor

FILTER_MODES = ("linear", "nearest")
BOUNDARY_MODES = ("clamp", "wrap")


def check_texture_args(tex: Tensor, uv: Tensor, filter_mode: str, boundary_mode: str) -> None:
    """Validate shapes/modes at the public boundary (shared by both backends)."""
    if tex.dim() != 4:
        raise ValueError(f"tex must be (B,Ht,Wt,C); got {tuple(tex.shape)}")
    if uv.dim() != 4 or uv.shape[-1] != 2:
        raise ValueError(f"uv must be (B,H,W,2); got {tuple(uv.shape)}")
    if tex.shape[0] not in (1, uv.shape[0]):
        raise ValueError(f"tex batch must be 1 or uv's batch {uv.shape[0]}; got {tex.shape[0]}")
    if filter_mode not in FILTER_MODES:
        raise ValueError(f"filter_mode must be one of {FILTER_MODES}; got {filter_mode!r}")
    if boundary_mode not in BOUNDARY_MODES:
        raise ValueError(f"boundary_mode must be one of {BOUNDARY_MODES}; got {boundary_mode!r}")


def texture(tex: Tensor, uv: Tensor, filter_mode: str = "linear", boundary_mode: str = "clamp") -> Tensor:
    """Sample tex (B|1,Ht,Wt,C) at uv (B,H,W,2) -> (B,H,W,C)."""
    check_texture_args(tex, uv, filter_mode, boundary_mode)
    Bt, Ht, Wt, C = tex.shape
    B, H, W, _ = uv.shape
    dtype = torch.promote_types(tex.dtype, uv.dtype)
    flat = tex.reshape(Bt * Ht * Wt, C).to(dtype)
    u, v = uv[..., 0].to(dtype), uv[..., 1].to(dtype)
    if boundary_mode == "wrap":
        u, v = u - torch.floor(u.detach()), v - torch.floor(v.detach())
    base = (torch.arange(B, device=uv.device) % Bt).view(B, 1, 1) * (Ht * Wt) if Bt > 1 else 0

    def fetch(ix: Tensor, iy: Tensor) -> Tensor:
        if boundary_mode == "wrap":
            ix, iy = ix % Wt, iy % Ht
        else:
            ix, iy = ix.clamp(0, Wt - 1), iy.clamp(0, Ht - 1)
        return flat.index_select(0, (base + iy * Wt + ix).reshape(-1)).reshape(B, H, W, C)

    if filter_mode == "nearest":
        ix = torch.floor(u.detach() * Wt).long()
        iy = torch.floor(v.detach() * Ht).long()
        return fetch(ix, iy)

    x = u * Wt - 0.5
    y = v * Ht - 0.5
    if boundary_mode == "clamp":
        x = x.clamp(0.0, Wt - 1.0)
        y = y.clamp(0.0, Ht - 1.0)
    x0f, y0f = torch.floor(x.detach()), torch.floor(y.detach())
    fx, fy = (x - x0f)[..., None], (y - y0f)[..., None]
    x0, y0 = x0f.long(), y0f.long()
    t00, t10 = fetch(x0, y0), fetch(x0 + 1, y0)
    t01, t11 = fetch(x0, y0 + 1), fetch(x0 + 1, y0 + 1)
    top = t00 + fx * (t10 - t00)
    bot = t01 + fx * (t11 - t01)
    return top + fy * (bot - top)
