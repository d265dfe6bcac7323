"""Multi-resolution dense 3-D feature grids sampled with `grid_sample` (the fast encoding).

A cube `[lo, hi]^3` in canonical space is covered by one grid per resolution; a point's feature
is the trilinear interpolation of every grid, concatenated. Grid tensors are laid out
(1, C, D, H, W) with D <-> z, H <-> y, W <-> x, because `grid_sample` reads the last coordinate
axis of its sampling grid as (x, y, z). `align_corners=True`: voxel corners sit on the cube's
faces, so a grid of resolution R has R samples per axis spanning the cube exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def to_grid_coords(x: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    """Canonical points (..., 3) -> grid_sample coordinates in [-1, 1] (..., 3)."""
    scale = 2.0 / (hi - lo)
    return torch.addcmul(-1.0 - lo * scale, x, scale)


def canonical_cube(verts: Tensor, margin: float) -> tuple[Tensor, Tensor]:
    """The fields' cube around vertices (V, 3): their bbox made cubic about its centre, grown by
    `margin` on every side -> (lo (3,), hi (3,))."""
    vmin, vmax = verts.min(0).values, verts.max(0).values
    centre, half = (vmin + vmax) / 2, (vmax - vmin).max() / 2 + margin
    return centre - half, centre + half


def sample_volume(volume: Tensor, u: Tensor) -> Tensor:
    """Trilinear lookup. volume (B, C, D, H, W), u (B, M, 3) in [-1, 1] -> (B, M, C).

    Points outside the cube take the border value.
    """
    b, m = u.shape[0], u.shape[1]
    out = F.grid_sample(volume, u.reshape(b, m, 1, 1, 3).to(volume.dtype), mode="bilinear",
                        padding_mode="border", align_corners=True)
    return out.reshape(b, volume.shape[1], m).transpose(1, 2)


def lattice_points(lo: Tensor, hi: Tensor, res: int) -> Tensor:
    """The grid's sample positions, (res, res, res, 3) indexed [z, y, x] like the volume."""
    return box_lattice(lo, hi, (res, res, res))


def box_lattice(lo: Tensor, hi: Tensor, dims: tuple[int, ...] | torch.Size) -> Tensor:
    """Sample positions (D, H, W, 3) of a volume of `dims` (D, H, W) = (z, y, x) counts spanning
    the box [lo, hi] corner to corner (align_corners), indexed [z, y, x] like the volume."""
    z, y, x = torch.meshgrid(*(torch.linspace(0.0, 1.0, int(n), device=lo.device, dtype=lo.dtype) for n in dims),
                             indexing="ij")
    return lo + torch.stack([x, y, z], dim=-1) * (hi - lo)


def box_dims(lo: Tensor, hi: Tensor, spacing: float) -> tuple[int, int, int]:
    """(D, H, W) lattice counts of the box [lo, hi] at about `spacing` (at least 2 per axis)."""
    n = [max(2, int(math.ceil(float(e) / spacing)) + 1) for e in (hi - lo).tolist()]
    return n[2], n[1], n[0]


class _CubeEncoding(nn.Module):
    """Shared set-up of the encodings over the cube [lo, hi]^3: bounds, resolutions, channels."""

    def __init__(self, lo: Tensor, hi: Tensor, resolutions: list[int], channels: int):
        super().__init__()
        self.register_buffer("lo", lo.detach().clone().float(), persistent=False)
        self.register_buffer("hi", hi.detach().clone().float(), persistent=False)
        self.resolutions = list(resolutions)
        self.channels = channels


class MultiResGrid(_CubeEncoding):
    """Learnable feature grids at several resolutions. forward: x (N, 3) -> features (N, C * levels)."""

    def __init__(self, lo: Tensor, hi: Tensor, resolutions: list[int], channels: int, init_std: float = 1e-2):
        super().__init__(lo, hi, resolutions, channels)
        self.grids = nn.ParameterList(
            nn.Parameter(torch.randn(1, channels, r, r, r) * init_std) for r in self.resolutions
        )

    @property
    def out_dim(self) -> int:
        return self.channels * len(self.resolutions)

    def forward(self, x: Tensor) -> Tensor:
        u = to_grid_coords(x.reshape(1, -1, 3), self.lo, self.hi)
        feats = [sample_volume(g, u)[0] for g in self.grids]
        return torch.cat(feats, dim=-1).reshape(*x.shape[:-1], self.out_dim)


def tiny_mlp(d_in: int, hidden: int, d_out: int, n_hidden: int = 1, zero_last: bool = False) -> nn.Sequential:
    """Linear-ReLU stack (n_hidden hidden layers of width `hidden`)."""
    layers: list[nn.Module] = []
    d = d_in
    for _ in range(n_hidden):
        layers += [nn.Linear(d, hidden), nn.ReLU(inplace=True)]
        d = hidden
    last = nn.Linear(d, d_out)
    if zero_last:
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
    layers.append(last)
    return nn.Sequential(*layers)


class FeaturePlanes(_CubeEncoding):
    """Three axis-aligned learnable feature planes (xy, xz, yz) per resolution, sampled bilinearly
    at the projections of x: x (N, 3) -> features (N, 3 * C * levels).

    A plane of R^2 texels resolves detail a dense R^3 grid of the same memory cannot (R = 2048
    costs what a 161^3 grid does); the 3-D grid beside it tells apart points that share a projection.
    """

    PAIRS = ((0, 1), (0, 2), (1, 2))

    def __init__(self, lo: Tensor, hi: Tensor, resolutions: list[int], channels: int, init_std: float = 1e-1):
        super().__init__(lo, hi, resolutions, channels)
        self.planes = nn.ParameterList(
            nn.Parameter(torch.randn(3, channels, r, r) * init_std) for r in self.resolutions
        )

    @property
    def out_dim(self) -> int:
        return 3 * self.channels * len(self.resolutions)

    def forward(self, x: Tensor) -> Tensor:
        u = to_grid_coords(x.reshape(-1, 3), self.lo, self.hi)
        # grid_sample reads (x, y) = (width, height): plane (a, b) is indexed [..., b, a]
        uv = torch.stack([u[:, list(p)] for p in self.PAIRS])[:, :, None, :]  # (3, N, 1, 2)
        feats = []
        for plane in self.planes:
            f = F.grid_sample(plane, uv.to(plane.dtype), mode="bilinear", padding_mode="border", align_corners=True)
            feats.append(f[..., 0].permute(2, 0, 1).reshape(-1, 3 * self.channels))  # (N, 3 * C)
        return torch.cat(feats, dim=-1).reshape(*x.shape[:-1], self.out_dim)
