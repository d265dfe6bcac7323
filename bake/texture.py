"""Texture baking in UV space: rasterise the mesh into its atlas, query the radiance field at
the interpolated canonical points, box-filter the supersamples, dilate past chart borders.

Layout (docs/formats.md): pos_texture (H, W, D), radiance (K, H, W, 4) = basis RGB + alpha
(alpha is one field, copied into every basis, since the per-pixel coefficients sum to 1).
Row 0 <-> v = 0: the rasterizer's framebuffer row r covers NDC y in [-1 + 2r/S, -1 + 2(r+1)/S],
and pos_clip = (2u - 1, 2v - 1, 0, 1), so texel row r holds v in [r/S, (r+1)/S).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from train import raster


@dataclass
class BakedTextures:
    pos: np.ndarray  # (H, W, D) float32 in [0, 1]
    radiance: np.ndarray  # (K, H, W, 4) float32 in [0, 1]
    sampled: np.ndarray  # (H, W) bool: texels holding at least one surface sample
    filled: np.ndarray  # (H, W) bool: sampled or filled by dilation


def uv_clip(uvs: Tensor) -> Tensor:
    """UVs (V, 2) -> clip positions (V, 4) of the UV-space rasterisation."""
    return torch.cat([uvs * 2.0 - 1.0, torch.zeros_like(uvs[:, :1]), torch.ones_like(uvs[:, :1])], dim=-1)


@torch.no_grad()
def rasterize_uv(uvs: Tensor, faces: Tensor, size: int, backend: str = "auto") -> Tensor:
    """rast (size, size, 4) of the mesh drawn in its UV atlas (nvdiffrast layout)."""
    return raster.rasterize(uv_clip(uvs.float())[None].contiguous(), faces.int().contiguous(), (size, size), backend=backend)[0]


@torch.no_grad()
def bake_textures(
    source,
    verts_c: Tensor,
    faces: Tensor,
    uvs: Tensor,
    size: int,
    supersample: int = 2,
    opaque: bool = False,
    dilation: int = 8,
    chunk: int = 65536,
    backend: str = "auto",
) -> BakedTextures:
    """Bake one layer. verts_c (V, 3) canonical, faces (F, 3), uvs (V, 2) -> BakedTextures.

    Each texel averages the field over the supersample x supersample sub-texel centres that fall
    on the surface; `dilation` rings of empty texels around charts are then filled from their
    filled neighbours (so bilinear taps across a chart border read surface-like values, never
    background); texels still empty get the mean of the filled ones. `opaque` forces alpha 1.
    """
    S = int(size) * int(supersample)
    dev = verts_c.device
    rast = rasterize_uv(uvs.to(dev), faces.to(dev), S, backend)
    cov = rast[..., 3] > 0
    pts = raster.interpolate(verts_c.float()[None], rast[None], faces.int(), backend=backend)[0][cov]
    parts = []
    for i in range(0, pts.shape[0], chunk):
        f_pos, bases, alpha = source.radiance(pts[i : i + chunk])
        parts.append(torch.cat([f_pos, bases.reshape(bases.shape[0], -1), alpha.reshape(-1, 1)], dim=-1).float())
    D = source.shading_spec.dim_pos_feature
    K = source.shading_spec.num_texture_basis
    C = D + 3 * K + 1
    vals = torch.zeros(S, S, C, device=dev)
    if parts:
        vals[cov] = torch.cat(parts).clamp(0.0, 1.0)
    # box filter: texel (r, c) averages its covered sub-texels
    n = int(size)
    ss = int(supersample)
    tot = vals.reshape(n, ss, n, ss, C).sum(dim=(1, 3))
    cnt = cov.float().reshape(n, ss, n, ss).sum(dim=(1, 3))
    sampled = cnt > 0
    tex = torch.where(sampled[..., None], tot / cnt.clamp_min(1)[..., None], torch.zeros_like(tot))
    tex, filled = dilate(tex, sampled, dilation)
    if opaque:
        tex[..., -1] = 1.0
    tex = tex.cpu().numpy()
    pos = tex[..., :D]
    rgb = tex[..., D : D + 3 * K].reshape(n, n, K, 3).transpose(2, 0, 1, 3)
    alpha = np.broadcast_to(tex[None, ..., -1:], (K, n, n, 1))
    return BakedTextures(pos.astype(np.float32), np.concatenate([rgb, alpha], -1).astype(np.float32), sampled.cpu().numpy(), filled.cpu().numpy())


def dilate(tex: Tensor, mask: Tensor, iterations: int) -> tuple[Tensor, Tensor]:
    """Grow `tex` (H, W, C) outward from `mask` (H, W): each pass fills empty texels that touch
    filled ones (8-neighbourhood) with their filled neighbours' mean. Empty texels left after
    `iterations` passes get the mean of all filled texels (never sampled by a renderer).
    Returns (texture, filled mask after the passes)."""
    x = (tex * mask[..., None]).permute(2, 0, 1)[None]  # (1, C, H, W)
    m = mask.float()[None, None]
    k = torch.ones(1, 1, 3, 3, device=tex.device)
    for _ in range(int(iterations)):
        cnt = F.conv2d(m, k, padding=1)
        grow = (cnt > 0) & (m == 0)
        if not bool(grow.any()):
            break
        s = F.conv2d(x, k.expand(x.shape[1], 1, 3, 3), padding=1, groups=x.shape[1])
        x = torch.where(grow, s / cnt.clamp_min(1), x)
        m = torch.where(grow, torch.ones_like(m), m)
    filled = m[0, 0] > 0
    out = x[0].permute(1, 2, 0)
    if bool(filled.any()) and not bool(filled.all()):
        out = torch.where(filled[..., None], out, out[filled].mean(0))
    return out, filled
