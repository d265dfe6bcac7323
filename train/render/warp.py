"""Per-point skinning between canonical and deformed space, and its inverse (spec 2.7, 3.5).

For a canonical point x_c with blendshape displacement disp = E.(psi - psi_can) + P^T.(pf - pf_can)
and skinning weights w (all from the deformation field at x_c):

    f(x_c) = S(w, A) [ S(w, A_can)^-1 x_c + disp ]          S(w, A) = sum_j w_j A_j (affine)

which equals forward_pts(inverse_pts(x_c; can); frame) of the spec. The inverse
(deformed -> canonical) is a root of f(x) = x_d, found by Newton steps with the skinning part of
the Jacobian, J ~= R_d R_c^-1 (the blendshape and weight derivatives are small near the surface),
started from the morphable model itself: the nearest deformed model vertex v_d (of a
subsampled vertex set) maps x_d rigidly with that vertex's own skinning,
x0 = v_c + R_c,v R_d,v^-1 (x_d - v_d) (one good candidate instead of BakedAvatar's three rigid
bone guesses, which `inverse_init="bones"` still offers). Gradients through the root use implicit
differentiation (`implicit_canonical`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


def inv3(m: Tensor) -> Tensor:
    """Closed-form inverse of (..., 3, 3) matrices (faster than linalg for millions of tiny ones)."""
    a, b, c = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    d, e, f = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    g, h, i = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    co = torch.stack([
        e * i - f * h, c * h - b * i, b * f - c * e,
        f * g - d * i, a * i - c * g, c * d - a * f,
        d * h - e * g, b * g - a * h, a * e - b * d,
    ], dim=-1).reshape(m.shape)
    det = a * co[..., 0, 0] + b * co[..., 1, 0] + c * co[..., 2, 0]
    det = torch.where(det.abs() < 1e-8, torch.full_like(det, 1e-8), det)
    return co / det[..., None, None]


def matvec(m: Tensor, v: Tensor) -> Tensor:
    return (m @ v[..., None])[..., 0]


@dataclass
class FrameState:
    """Everything per frame the warp needs. B frames; Jb bones."""

    transforms: Tensor  # (B, Jb, 4, 4) current frame A
    canonical_transforms: Tensor  # (Jb, 4, 4) A_can
    volumes: Tensor  # (B, 3 + Jb, R, R, R) from DeformField.frame_volumes
    candidate_bones: tuple[int, ...]
    verts_d: Tensor | None = None  # (B, Vs, 3) deformed model vertices (subsampled) for the init
    verts_c: Tensor | None = None  # (Vs, 3) the same vertices in canonical space
    init_maps: Tensor | None = None  # (B, Vs, 3, 3) R_c,v R_d,v^-1 per vertex
    detail_volumes: Tensor | None = None  # (B, 3 + Jb, D, H, W) from DeformField.frame_detail_volumes
    normal_volumes: Tensor | None = None  # (B, 3, R, R, R) from NormalBlendField.frame_volumes (normal blendshapes)
    normal_detail_volumes: Tensor | None = None  # (B, 3, D, H, W) the same over the detail box


def vertex_init_state(verts_d: Tensor, verts_c: Tensor, weights: Tensor, transforms: Tensor,
                      canonical_transforms: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per-vertex rigid maps for the inverse-deformation init (see module doc).

    verts_d (B, Vs, 3), verts_c (Vs, 3), weights (Vs, Jb) -> (verts_d, verts_c, maps (B, Vs, 3, 3)).
    """
    b = verts_d.shape[0]
    w = weights[None].expand(b, -1, -1)
    r_d, _ = blend(w, transforms)
    r_c, _ = blend(w, canonical_transforms[None])
    return verts_d, verts_c, r_c @ inv3(r_d)


def nearest_init(x_d: Tensor, fs: "FrameState", chunk: int = 32768) -> Tensor:
    """x_d (B, M, 3) -> initial canonical guesses (B, M, 3) from the nearest deformed vertex."""
    if x_d.device.type == "cpu":
        from scipy.spatial import cKDTree

        idx = torch.stack([torch.as_tensor(cKDTree(fs.verts_d[b].double().numpy()).query(
            x_d[b].double().numpy(), k=1)[1], dtype=torch.long) for b in range(x_d.shape[0])])
        vd = torch.gather(fs.verts_d, 1, idx[..., None].expand(-1, -1, 3))
        maps = torch.gather(fs.init_maps, 1, idx[..., None, None].expand(-1, -1, 3, 3))
        return fs.verts_c[idx] + matvec(maps, x_d - vd)
    out = []
    vv = (fs.verts_d * fs.verts_d).sum(-1)  # (B, Vs)
    for i in range(0, x_d.shape[1], chunk):
        xs = x_d[:, i : i + chunk]
        d2 = vv[:, None, :] - 2.0 * torch.bmm(xs, fs.verts_d.transpose(1, 2))
        idx = d2.argmin(dim=-1)  # (B, m)
        vd = torch.gather(fs.verts_d, 1, idx[..., None].expand(-1, -1, 3))
        maps = torch.gather(fs.init_maps, 1, idx[..., None, None].expand(-1, -1, 3, 3))
        out.append(fs.verts_c[idx] + matvec(maps, xs - vd))
    return torch.cat(out, dim=1)


def blend(w: Tensor, transforms: Tensor) -> tuple[Tensor, Tensor]:
    """w (B, M, Jb), transforms (B|1, Jb, 4, 4) -> R (B, M, 3, 3), t (B, M, 3) of S(w, A)."""
    b, m, jb = w.shape
    a = transforms[..., :3, :4].reshape(-1, jb, 12).expand(b, -1, -1)
    s = torch.bmm(w, a).reshape(b, m, 3, 4)
    return s[..., :3], s[..., 3]


def forward_warp(deform, x_c: Tensor, fs: FrameState) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """x_c (B, M, 3) -> (x_d (B, M, 3), w (B, M, Jb), R_d (B, M, 3, 3), R_c (B, M, 3, 3))."""
    disp, w = deform.frame_warp(x_c, fs.volumes, fs.detail_volumes)
    r_c, t_c = blend(w, fs.canonical_transforms[None])
    r_d, t_d = blend(w, fs.transforms)
    x_o = matvec(inv3(r_c), x_c - t_c)
    x_d = matvec(r_d, x_o + disp) + t_d
    return x_d, w, r_d, r_c


def rigid_candidates(x_d: Tensor, fs: FrameState) -> Tensor:
    """x_d (B, M, 3) -> candidates (B, C, M, 3): x = A_can,b A_b^-1 x_d for the candidate bones."""
    bones = list(fs.candidate_bones)
    a = fs.transforms[:, bones]  # (B, C, 4, 4)
    a_can = fs.canonical_transforms[bones][None]
    m = a_can @ torch.linalg.inv(a)
    return torch.einsum("bcrk,bmk->bcmr", m[..., :3, :3], x_d) + m[:, :, None, :3, 3]


@torch.no_grad()
def newton(deform, x_d: Tensor, x0: Tensor, fs: FrameState, steps: int) -> tuple[Tensor, Tensor]:
    """Solve f(x) = x_d from x0; both (B, M, 3). Returns (x (B, M, 3), residual norm (B, M)).

    The returned point is the best iterate per point (smallest residual).
    """
    x = x0.clone()
    best_x, best_r = x.clone(), torch.full(x.shape[:-1], float("inf"), device=x.device)
    for k in range(steps + 1):
        pred, _, r_d, r_c = forward_warp(deform, x, fs)
        g = pred - x_d
        r = g.norm(dim=-1)
        better = r < best_r
        best_r = torch.where(better, r, best_r)
        best_x = torch.where(better[..., None], x, best_x)
        if k == steps:
            break
        x = x - matvec(r_c, matvec(inv3(r_d), g))
    return best_x, best_r


@torch.no_grad()
def invert(deform, manifold, x_d: Tensor, fs: FrameState, steps: int, tol: float) -> tuple[Tensor, Tensor, Tensor]:
    """Deformed points (B, M, 3) -> canonical (B, M, 3), valid (B, M) bool, s (B, M).

    With a vertex init (`fs.verts_d` set) one candidate is refined. Otherwise every rigid bone
    candidate is refined and, among the converged ones, the one with the smallest s (most
    inside) wins, as in the spec. Invalid points get s = 1000.
    """
    b, m, _ = x_d.shape
    if fs.verts_d is not None:
        xs, res = newton(deform, x_d, nearest_init(x_d, fs), fs, steps)
        ok = res < tol
        s = manifold(xs)
        return xs, ok, torch.where(ok, s, torch.full_like(s, 1000.0))
    cand = rigid_candidates(x_d, fs)  # (B, C, M, 3)
    c = cand.shape[1]
    xs, res = newton(deform, x_d.repeat(1, c, 1), cand.reshape(b, c * m, 3), fs, steps)
    xs, res = xs.reshape(b, c, m, 3), res.reshape(b, c, m)
    s = manifold(xs)
    ok = res < tol
    s = torch.where(ok, s, torch.full_like(s, 1000.0))
    s_best, j = s.min(dim=1)
    x_best = torch.gather(xs, 1, j[:, None, :, None].expand(b, 1, m, 3))[:, 0]
    valid = torch.gather(ok, 1, j[:, None, :])[:, 0]
    return x_best, valid, s_best


@torch.no_grad()
def warp_jacobian(deform, x_c: Tensor, fs: FrameState, eps: float = 1e-3) -> Tensor:
    """d f / d x_c (B, M, 3, 3) by central differences (blendshape and weight variation included)."""
    b, m, _ = x_c.shape
    offs = torch.eye(3, device=x_c.device, dtype=x_c.dtype) * eps
    pts = torch.cat([x_c[:, :, None] + offs, x_c[:, :, None] - offs], dim=2).reshape(b, m * 6, 3)
    f = forward_warp(deform, pts, fs)[0].reshape(b, m, 6, 3)
    return ((f[:, :, :3] - f[:, :, 3:]) / (2 * eps)).transpose(-1, -2)  # column k = d f / d x_k


def deformed_normals(n_c: Tensor, r_c: Tensor, r_d: Tensor, delta: Tensor | None = None) -> Tensor:
    """Canonical normals (B, M, 3) -> unit deformed normals: carried to original space by R_c^-1,
    turned there by the normal blendshapes' `delta` (B, M, 3; None: not turned) and skinned by R_d."""
    n_o = matvec(inv3(r_c), n_c)
    if delta is not None:
        n_o = torch.nn.functional.normalize(n_o, dim=-1, eps=1e-8) + delta
    return torch.nn.functional.normalize(matvec(r_d, n_o), dim=-1, eps=1e-8)


def implicit_canonical(deform, x_c: Tensor, x_d: Tensor, fs: FrameState) -> tuple[Tensor, Tensor, Tensor]:
    """Differentiable canonical point at a found root (value unchanged; gradient by the IFT).

    x_c (B, M, 3) detached root, x_d (B, M, 3) possibly differentiable target.
    Returns (x_c with gradients to the deformation field and x_d, w (B, M, Jb), J^-1 (B, M, 3, 3)
    detached; J = d f / d x_c by central differences at the root).
    """
    x_c = x_c.detach()
    pred, w, r_d, r_c = forward_warp(deform, x_c, fs)
    j_inv = inv3(warp_jacobian(deform, x_c, fs))
    resid = (pred - pred.detach()) - (x_d - x_d.detach())
    return x_c - matvec(j_inv, resid), w, j_inv
