"""An oracle for the manifold over the hair: levels pinned to the synthetic subject's exact shells.

`model.manifold_pin: synthetic_hair` (a diagnosis, synthetic subject only) replaces the manifold
over the scalp patch by a fixed field whose levels lie on the hair shells (`train.synth.hair`):
level 0 on the scalp, the four shells on levels 1, 3, 5 and 7 (of 8; in general the outermost
level and every second one inwards), the levels between midway. Elsewhere the learnt field is
untouched, so the face keeps its own layers (the whole-head frozen oracle smeared the face at novel
jaw openings). It answers whether layers on the hair's true depth carry over to the test video.
"""

from __future__ import annotations

import torch
from torch import Tensor

from train.fields.grid import lattice_points
from train.fields.mesh_distance import mesh_signed_distance
from train.fields.prior import nearest_vertex, signed_distance, vertex_normals
from train.synth.hair import build_hair_shells, smooth_vertex_field


def shell_levels(n_levels: int, n_shells: int) -> list[int]:
    """Indices of the levels the shells sit on, inner first: the outermost and every second inwards."""
    if n_levels < n_shells + 1:
        raise ValueError(f"model.manifold_pin synthetic_hair needs at least {n_shells + 1} levels (scalp + "
                         f"{n_shells} shells); model.n_levels is {n_levels}")
    idx = [n_levels - 1]
    while len(idx) < n_shells:
        idx.append(max(idx[-1] - 2, n_shells - len(idx)))
    return sorted(idx)


def offset_to_s(d: Tensor, offsets: Tensor, levels: Tensor) -> Tensor:
    """Distance d off the scalp (any shape) -> s, piecewise linear through (0, level 0), the shells'
    (offset, level) and midpoints for the levels between; slope 1 beyond both ends."""
    n_l = levels.shape[0]
    on = shell_levels(n_l, offsets.shape[0])
    knot_d = torch.full((n_l,), float("nan"), dtype=d.dtype)
    knot_d[0] = 0.0
    for k, li in enumerate(on):
        knot_d[li] = float(offsets[k])
    known = (~torch.isnan(knot_d)).nonzero()[:, 0].tolist()
    for a, b in zip(known[:-1], known[1:]):  # levels between two known ones: evenly between their depths
        for j in range(a + 1, b):
            knot_d[j] = knot_d[a] + (knot_d[b] - knot_d[a]) * (j - a) / (b - a)
    xs = torch.cat([knot_d[:1] - 1.0, knot_d, knot_d[-1:] + 1.0]).to(d)
    lv = levels.to(d)
    ys = torch.cat([lv[:1] - 1.0, lv, lv[-1:] + 1.0])
    i = torch.searchsorted(xs, d.contiguous().clamp(float(xs[0]), float(xs[-1]) - 1e-9), right=True).clamp(1, xs.shape[0] - 1)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 + (d - x0) * (y1 - y0) / (x1 - x0)


@torch.no_grad()
def synthetic_hair_pin(flame, synth_cfg, canonical_vertices: Tensor, levels: Tensor, lo: Tensor, hi: Tensor,
                       res: int, rings: int = 3) -> Tensor:
    """(2, R, R, R) volume: the pinned s and its blend weight (1 over the scalp patch, fading to 0 over
    `rings` vertex rings around it), over the fields' cube at res^3."""
    names = getattr(flame, "region_names", None)
    if names is None or getattr(flame, "vertex_regions", None) is None:
        raise ValueError("model.manifold_pin synthetic_hair needs the procedural head (data.flame_model: procedural)")
    dev = levels.device
    faces = flame.faces.long().to(dev)
    verts = canonical_vertices.float().to(dev)
    shells = build_hair_shells(flame.v_template.float().cpu(), faces.cpu(), flame.vertex_regions.long().cpu(), list(names),
                               synth_cfg.hair_shells, synth_cfg.hair_thickness)
    inside = torch.zeros(verts.shape[0], 1)
    inside[shells.vertex_index] = 1.0
    weight = smooth_vertex_field(inside, faces.cpu(), rings)[:, 0]
    weight = torch.where(inside[:, 0] > 0, torch.ones_like(weight), weight).to(dev)
    pts = lattice_points(lo.to(dev), hi.to(dev), res).reshape(-1, 3)
    normals = vertex_normals(verts, faces)
    d = signed_distance(pts, verts, normals)
    band = d.abs() < 2.0 * float(shells.offsets.max())  # exact distance near the shells, the cheap one far out
    d[band] = mesh_signed_distance(pts[band], verts, faces, normals)
    _, near = nearest_vertex(pts, verts)
    s = offset_to_s(d, shells.offsets.float().to(dev), levels.float())
    return torch.stack([s, weight[near]]).reshape(2, res, res, res)
