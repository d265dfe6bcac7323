"""Drop level-set sheets that the stage-1 renderer cannot reach (canonical fold shadows).

Stage 1 never evaluates the manifold at an arbitrary canonical point: a ray sample x_d of a frame
is mapped to canonical space by the *inverse* deformation (Newton from the nearest deformed model
vertex, `train.render.warp.invert`), and only the root found there is ever rendered or trained.
Where the canonical -> deformed map folds (in front of the chin and lips: jaw/neck skinning of
points far off the model), the deformed image f(x_c) of a canonical point x_c is inverted to
*another* root, so the field around x_c gets no colour, mask or silhouette gradient and keeps
whatever level sets its initialisation and the neighbouring updates leave there. Marching cubes
extracts them anyway, and the baked avatar, which deforms canonical meshes forward, draws them in
every frame: the `make demo` CPU budget (300 steps) baked a sheet sticking 0.3-0.6 units out of
the mouth in canonical space that covered ~4 % of every frame outside the subject.

A canonical point is *reached* in a frame when the stage-1 inverse maps its own deformed image
back to it (within `tol`) inside the frame's bounding sphere (`sphere_interval`). The pruning
(on a lattice, `reach_lattice`, shared by all levels) drops a face after marching cubes, before
decimation, when all three of its vertices are reached in fewer than `min_reach` of the sampled
training frames AND lie farther than `band` from the morphable model's canonical surface (folds
also shadow thin legitimate parts right on the surface: eyelids, lip corners, whose loss would
open holes in the opaque layer; hair stays within ~0.1 of the scalp).
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np
import torch
from torch import Tensor

from bake.levelset import LevelGrid


class Reachability(Protocol):
    """What the pruning asks of a source, per canonical point x_c (N, 3)."""

    def reach_fraction(self, x_c: Tensor) -> Tensor:
        """Fraction (N,) of the sampled training frames in which stage 1 can reach x_c."""

    def surface_distance(self, x_c: Tensor) -> Tensor:
        """Unsigned distance (N,) to the morphable model's canonical surface."""


def reach_fraction(forward: Callable[[Tensor], tuple[Tensor, Tensor]],
                   inverse: Callable[[Tensor], tuple[Tensor, Tensor]], x_c: Tensor, tol: float) -> Tensor:
    """forward: x_c (N, 3) -> (x_d (B, N, 3), inside (B, N)); inverse: x_d -> (x_c' (B, N, 3), valid (B, N)).

    Returns the fraction (N,) of the B frames where x_c' lies within `tol` of x_c, valid and inside.
    """
    x_d, inside = forward(x_c)
    back, valid = inverse(x_d)
    ok = valid & inside & ((back - x_c[None]).norm(dim=-1) < tol)
    return ok.float().mean(0)


class Stage1Reach:
    """`Reachability` of a stage-1 `train.model.AvatarModel` over frames (expression (B, E), pose (B, 15))."""

    def __init__(self, model, expression: Tensor, pose: Tensor, tol: float, chunk: int = 8192):
        self.model, self.tol, self.chunk = model, float(tol), int(chunk)
        dev = model.levels.device
        with torch.no_grad():
            self.fs, self.centre, self.radius = model.frame_state(expression.to(dev).float(), pose.to(dev).float())
        self.n_frames = int(expression.shape[0])

    @torch.no_grad()
    def reach_fraction(self, x_c: Tensor) -> Tensor:
        from train.render.warp import forward_warp, invert

        m, mc = self.model, self.model.cfg.model
        B = self.n_frames

        def fwd(x):
            x_d = forward_warp(m.deform_field, x[None].expand(B, -1, -1).contiguous(), self.fs)[0]
            return x_d, (x_d - self.centre[:, None]).norm(dim=-1) < self.radius[:, None]

        def inv(x_d):
            xs, ok, _ = invert(m.deform_field, m.manifold_field, x_d, self.fs, mc.newton_steps, mc.converge_tol)
            return xs, ok

        x_c = x_c.to(m.levels.device).float()
        out = [reach_fraction(fwd, inv, x_c[i : i + self.chunk], self.tol) for i in range(0, x_c.shape[0], self.chunk)]
        return torch.cat(out) if out else x_c.new_zeros(0)

    @torch.no_grad()
    def surface_distance(self, x_c: Tensor) -> Tensor:
        from train.fields import vertex_normals
        from train.fields.mesh_distance import mesh_signed_distance

        v, f = self.model.canonical_vertices, self.model.flame.faces
        x_c = x_c.to(v.device).float()
        return mesh_signed_distance(x_c, v, f, vertex_normals(v, f.long())).abs()


def stage1_reach(model, sequences: dict, cfg) -> Stage1Reach | None:
    """`Stage1Reach` over cfg.bake.reach_frames training frames; None when disabled or when the
    source has no stage-1 inverse deformation (e.g. the analytic test source)."""
    if cfg.bake.reach_frames <= 0 or not all(hasattr(model, a) for a in ("frame_state", "deform_field", "manifold_field")):
        return None
    expression, pose = evenly_spaced_frames(sequences, cfg.data.train_videos, cfg.bake.reach_frames)
    lo, hi = model.bbox()
    return Stage1Reach(model, expression, pose, tol=float((hi - lo).max()) / cfg.bake.mc_resolution)


def evenly_spaced_frames(sequences: dict, names, n: int) -> tuple[Tensor, Tensor]:
    """n frames spread evenly over the concatenated sequences `names` -> (expression (n', E), pose (n', 15))."""
    e = np.concatenate([sequences[k]["expression"] for k in names])
    p = np.concatenate([sequences[k]["pose"] for k in names])
    idx = np.unique(np.linspace(0, len(e) - 1, min(n, len(e))).round().astype(int))
    return torch.as_tensor(e[idx]), torch.as_tensor(p[idx])


def _near_levels(values: np.ndarray, step: int, levels: np.ndarray, margin: float) -> np.ndarray:
    """(r+1)^3 bool: corners of the coarse cells (step fine cells per side) whose fine values, or
    their neighbours', come within margin of a level. Uses every fine value, not only the coarse
    corners: a thin sheet (the typical spurious one) passes between coarse corners."""
    R = values.shape[0] - 1
    r = R // step
    blocks = np.asarray(values[:R, :R, :R], np.float32).reshape(r, step, r, step, r, step)
    lo, hi = blocks.min(axis=(1, 3, 5)), blocks.max(axis=(1, 3, 5))
    pad_lo = np.pad(lo, ((0, 1),) * 3, mode="edge")
    pad_hi = np.pad(hi, ((0, 1),) * 3, mode="edge")
    shifts = [(i, j, k) for i in (0, 1) for j in (0, 1) for k in (0, 1)]
    lo2 = np.min([pad_lo[i : i + r, j : j + r, k : k + r] for i, j, k in shifts], axis=0)  # cell + next: shared faces
    hi2 = np.max([pad_hi[i : i + r, j : j + r, k : k + r] for i, j, k in shifts], axis=0)
    cell = np.zeros((r, r, r), bool)
    for level in levels:
        cell |= (lo2 - margin <= level) & (level <= hi2 + margin)
    corner = np.zeros((r + 1,) * 3, bool)
    for i, j, k in shifts:
        corner[i : i + r, j : j + r, k : k + r] |= cell
    return corner


def reach_lattice(grid: LevelGrid, levels, reach: Reachability, min_reach: float, band: float,
                  resolution: int = 64) -> LevelGrid:
    """q = max(reach - min_reach, band - distance) on a lattice of min(resolution, grid's) cells per
    axis, evaluated at the corners of every cell a level may pass through, and 1 (keep) elsewhere:
    a point is unreached where q (trilinear) < 0. One lattice serves every level (reachability is
    a property of canonical points), so the pruning runs once, before decimation, in the workers."""
    R = grid.resolution
    r = min(int(resolution), R)
    while R % r:  # mc_resolution is 16 * 2^k; any divisor will do
        r -= 1
    step = R // r
    near = _near_levels(grid.values, step, np.asarray(levels, np.float32), float(np.abs((grid.hi - grid.lo) / R).max()))
    idx = np.argwhere(near)
    q = np.ones(near.shape, np.float32)
    if len(idx):
        x = torch.as_tensor(grid.to_world(idx * step), dtype=torch.float32)
        rf = reach.reach_fraction(x).cpu().numpy()
        d = reach.surface_distance(x).cpu().numpy()
        q[near] = np.maximum(rf - min_reach, band - d)
    return LevelGrid(q, grid.lo, grid.hi, len(idx))


def unreached_vertices(q: LevelGrid, v: np.ndarray) -> np.ndarray:
    """(V,) bool: q (trilinear) < 0 at the vertices v (V, 3)."""
    return q.sample(q.to_lattice(v)) < 0


def drop_unreached(v: np.ndarray, f: np.ndarray, q: LevelGrid) -> np.ndarray:
    """(F,) bool: faces whose three vertices are unreached (`reach_lattice`)."""
    return unreached_vertices(q, v)[f].all(axis=1)
