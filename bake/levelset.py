"""Coarse-to-fine evaluation of the manifold field and marching cubes of its level sets.

A dense query at the final resolution R (R^3 points: 134 M at 512) is wasteful: the level sets
occupy a thin shell. `evaluate_coarse_to_fine` evaluates a coarse lattice, then repeatedly
halves the lattice spacing only inside cells that may contain a level: a cell is refined when
some level lies within [min corner - margin, max corner + margin], where the margin is the
cell diagonal times `lipschitz` (|grad s| <= lipschitz bounds how far s can stray from its
corner values inside the cell). Elsewhere values are trilinearly interpolated from the coarser
lattice; such values stay at least `margin` away from every level, so marching cubes never
creates a surface there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import mcubes
import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter, map_coordinates
from torch import Tensor


@dataclass
class LevelGrid:
    """Values of s on the (R+1)^3 lattice x = lo + (hi - lo) * index / R."""

    values: np.ndarray  # (R+1, R+1, R+1) float32, index order (x, y, z)
    lo: np.ndarray  # (3,)
    hi: np.ndarray  # (3,)
    n_evaluated: int  # field queries made (vs (R+1)^3 for a dense grid)

    @property
    def resolution(self) -> int:
        return self.values.shape[0] - 1

    def to_world(self, idx: np.ndarray) -> np.ndarray:
        """Lattice coordinates (N, 3) (fractional allowed) -> canonical points (N, 3)."""
        return self.lo + (self.hi - self.lo) * idx / self.resolution

    def to_lattice(self, x: np.ndarray) -> np.ndarray:
        """Canonical points (N, 3) -> fractional lattice coordinates (N, 3) (inverse of `to_world`)."""
        return (np.asarray(x) - self.lo) / (self.hi - self.lo) * self.resolution

    def sample(self, idx: np.ndarray) -> np.ndarray:
        """Trilinear values (N,) at fractional lattice coordinates idx (N, 3), clamped at the border."""
        return map_coordinates(self.values, np.asarray(idx).T, order=1, mode="nearest")


def _lattice(lo: Tensor, hi: Tensor, idx: Tensor, R: int) -> Tensor:
    return lo + (hi - lo) * idx.to(lo.dtype) / R


def _query(fn: Callable[[Tensor], Tensor], pts: Tensor, chunk: int) -> Tensor:
    out = [fn(pts[i : i + chunk]).reshape(-1).float() for i in range(0, pts.shape[0], chunk)]
    return torch.cat(out) if out else pts.new_zeros(0)


def _cell_range(sub: Tensor) -> tuple[Tensor, Tensor]:
    """Lattice values (n+1)^3 -> per-cell min and max over the 8 corners, (n)^3 each."""
    c = [sub[i : i + sub.shape[0] - 1, j : j + sub.shape[1] - 1, k : k + sub.shape[2] - 1] for i in (0, 1) for j in (0, 1) for k in (0, 1)]
    st = torch.stack(c)
    return st.min(0).values, st.max(0).values


@torch.no_grad()
def evaluate_coarse_to_fine(
    fn: Callable[[Tensor], Tensor],
    lo,
    hi,
    levels,
    resolution: int,
    coarse_resolution: int = 16,
    lipschitz: float = 1.5,
    chunk: int = 65536,
    device: str | torch.device = "cpu",
    progress: Callable[[int], None] | None = None,
) -> LevelGrid:
    """Evaluate s = fn(x (N, 3)) -> (N,) on a (resolution+1)^3 lattice, refining near `levels`.

    `resolution` must be coarse_resolution * 2^k. Returns the dense lattice of values.
    """
    R, r0 = int(resolution), int(coarse_resolution)
    if r0 <= 0 or R % r0 or (R // r0) & (R // r0 - 1):
        raise ValueError(f"mc_resolution must be coarse_resolution * 2^k; got {R} and {r0}")
    lo_t = torch.as_tensor(np.asarray(lo, np.float32), device=device)
    hi_t = torch.as_tensor(np.asarray(hi, np.float32), device=device)
    lv = torch.as_tensor(np.asarray(levels, np.float32), device=device)
    diag = float((hi_t - lo_t).norm()) / R  # diagonal of one final cell (cells are cubes or boxes)
    # coarse lattice, dense
    n = r0
    ax = torch.arange(n + 1, device=device)
    idx = torch.stack(torch.meshgrid(ax, ax, ax, indexing="ij"), -1).reshape(-1, 3) * (R // n)
    sub = _query(fn, _lattice(lo_t, hi_t, idx, R), chunk).reshape(n + 1, n + 1, n + 1)
    n_eval = sub.numel()
    if progress:
        progress(n_eval)
    while n < R:
        cmin, cmax = _cell_range(sub)
        margin = lipschitz * diag * (R // n)
        active = ((lv[:, None, None, None] >= cmin - margin) & (lv[:, None, None, None] <= cmax + margin)).any(0)
        # upsample (trilinear, lattice corners kept exactly), then evaluate inside active cells
        fine = F.interpolate(sub[None, None], size=(2 * n + 1,) * 3, mode="trilinear", align_corners=True)[0, 0]
        cells = torch.nonzero(active)  # (C, 3) coarse cell indices
        if cells.numel():
            off = torch.stack(torch.meshgrid(*(torch.arange(3, device=device),) * 3, indexing="ij"), -1).reshape(-1, 3)
            pts = (2 * cells[:, None, :] + off[None]).reshape(-1, 3)
            # every lattice point once; points on the old lattice (all coordinates even) are known
            mark = torch.zeros((2 * n + 1,) * 3, dtype=torch.bool, device=device)
            mark[pts[:, 0], pts[:, 1], pts[:, 2]] = True
            mark[::2, ::2, ::2] = False
            pts = torch.nonzero(mark)
            vals = _query(fn, _lattice(lo_t, hi_t, pts * (R // (2 * n)), R), chunk)
            fine[pts[:, 0], pts[:, 1], pts[:, 2]] = vals
            n_eval += pts.shape[0]
            if progress:
                progress(pts.shape[0])
        sub, n = fine, 2 * n
    return LevelGrid(sub.cpu().numpy().astype(np.float32), lo_t.cpu().numpy(), hi_t.cpu().numpy(), n_eval)


def smooth(grid: LevelGrid, sigma: float) -> LevelGrid:
    """The lattice blurred by a Gaussian of `sigma` cells (0: unchanged). A noisy field's
    voxel-scale tunnels and bridges become handles of the level sets, and each handle costs the
    UV atlas a cut; the blur removes them and moves a smooth surface by ~sigma^2 x curvature."""
    if sigma <= 0:
        return grid
    values = gaussian_filter(np.asarray(grid.values, np.float32), sigma, mode="nearest")  # float32 in, float32 out
    return LevelGrid(values, grid.lo, grid.hi, grid.n_evaluated)


def marching_cubes(grid: LevelGrid, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Iso-surface s = level -> vertices (V, 3) float64 canonical, faces (F, 3) int64.

    Faces are oriented counter-clockwise seen from outside (s larger outside): PyMCubes emits
    the opposite order for fields growing outward, which is reversed here (checked by tests).
    """
    v, f = mcubes.marching_cubes(grid.values.astype(np.float64), float(level))
    if len(f) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    return grid.to_world(v), f[:, ::-1].astype(np.int64).copy()
