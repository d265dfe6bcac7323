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
    on the surface. The `dilation` rings of empty texels around every chart get the field at
    3-D points extrapolated outward from the chart (the texels' mean positions, dilated), so
    bilinear taps across a chart border read the surface's own continuation, never background
    or another chart; texels still empty get the mean of the filled ones. `opaque` forces alpha 1.
    """
    S = int(size) * int(supersample)
    dev = verts_c.device
    rast = rasterize_uv(uvs.to(dev), faces.to(dev), S, backend)
    cov = rast[..., 3] > 0
    pts = raster.interpolate(verts_c.float()[None], rast[None], faces.int(), backend=backend)[0]
    n, ss = int(size), int(supersample)
    # per texel: mean canonical point of its covered sub-texels
    cnt = cov.float().reshape(n, ss, n, ss).sum(dim=(1, 3))
    psum = (pts * cov[..., None]).reshape(n, ss, n, ss, 3).sum(dim=(1, 3))
    sampled = cnt > 0
    # the ring around each chart gets points extrapolated from the chart (position dilation):
    # the field is smooth in 3-D, so its values there continue the chart across the border
    pos3, ring_mask = dilate(torch.where(sampled[..., None], psum / cnt.clamp_min(1)[..., None], torch.zeros_like(psum)), sampled, dilation)
    ring = ring_mask & ~sampled
    D = source.shading_spec.dim_pos_feature
    K = source.shading_spec.num_texture_basis
    C = D + 3 * K + 1

    def query(x: Tensor) -> Tensor:
        out = []
        for i in range(0, x.shape[0], chunk):
            f_pos, bases, alpha = source.radiance(x[i : i + chunk])
            out.append(torch.cat([f_pos, bases.reshape(bases.shape[0], -1), alpha.reshape(-1, 1)], dim=-1).float())
        return torch.cat(out).clamp(0.0, 1.0) if out else x.new_zeros(0, C)

    vals = torch.zeros(S, S, C, device=dev)
    vals[cov] = query(pts[cov])
    # box filter: texel (r, c) averages its covered sub-texels
    tot = vals.reshape(n, ss, n, ss, C).sum(dim=(1, 3))
    tex = torch.where(sampled[..., None], tot / cnt.clamp_min(1)[..., None], torch.zeros_like(tot))
    tex[ring] = query(pos3[ring])
    filled = sampled | ring
    if bool(filled.any()) and not bool(filled.all()):
        tex[~filled] = tex[filled].mean(0)  # never sampled by a renderer; a neutral value compresses well
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
