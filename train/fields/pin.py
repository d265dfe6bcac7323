"""A fixed field the manifold can be pinned to: levels at given offsets off the model's surface.

`ManifoldField` blends its learnt s towards a pinned value p with a weight w (both on a grid over
the fields' cube). Here p is a function of the signed distance d to the canonical morphable model:
level 0 on the surface, the layers' offsets (inner first) on the outermost level and every second
one inwards, the levels between spaced evenly, slope 1 beyond both ends. w comes from anchor
points on the surface (the nearest anchor's weight): where the translucent layers are (`model.manifold_pin`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from train.fields.grid import lattice_points
from train.fields.mesh_distance import mesh_signed_distance
from train.fields.prior import nearest_vertex, signed_distance, vertex_normals


def layer_levels(n_levels: int, n_layers: int) -> list[int]:
    """Indices of the levels n_layers layers sit on, inner first: the outermost and every second
    inwards (consecutive ones where there are too few levels for gaps)."""
    if n_levels < n_layers + 1:
        raise ValueError(f"pinning {n_layers} layers needs at least {n_layers + 1} levels (surface + layers); "
                         f"model.n_levels is {n_levels}")
    idx = [n_levels - 1]
    while len(idx) < n_layers:
        idx.append(max(idx[-1] - 2, n_layers - len(idx)))
    return sorted(idx)


def offset_to_s(d: Tensor, offsets: Tensor, levels: Tensor) -> Tensor:
    """Distance d off the surface (any shape) -> s, piecewise linear through (0, level 0), each
    layer's (offset, level) and even steps for the levels between; slope 1 beyond both ends."""
    n_l = levels.shape[0]
    knot = torch.full((n_l,), float("nan"), dtype=torch.float64)
    knot[0] = 0.0
    for k, li in enumerate(layer_levels(n_l, offsets.shape[0])):
        knot[li] = float(offsets[k])
    known = (~torch.isnan(knot)).nonzero()[:, 0].tolist()
    for a, b in zip(known[:-1], known[1:]):
        for j in range(a + 1, b):
            knot[j] = knot[a] + (knot[b] - knot[a]) * (j - a) / (b - a)
    xs = torch.cat([knot[:1] - 1.0, knot, knot[-1:] + 1.0]).to(d)
    lv = levels.to(d)
    ys = torch.cat([lv[:1] - 1.0, lv, lv[-1:] + 1.0])
    i = torch.searchsorted(xs, d.contiguous().clamp(float(xs[0]), float(xs[-1]) - 1e-9), right=True).clamp(1, xs.shape[0] - 1)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 + (d - x0) * (y1 - y0) / (x1 - x0)


@torch.no_grad()
def pin_volume(verts: Tensor, faces: Tensor, lo: Tensor, hi: Tensor, res: int, offsets: Tensor, levels: Tensor,
               anchors: Tensor, anchor_weight: Tensor) -> Tensor:
    """(2, R, R, R) on levels' device: the pinned s (`offset_to_s` of the signed distance to the mesh
    verts (V, 3) / faces (F, 3)) and the weight of the nearest of `anchors` (A, 3) / `anchor_weight` (A,)."""
    dev = levels.device
    verts, faces = verts.float().to(dev), faces.long().to(dev)
    pts = lattice_points(lo.to(dev), hi.to(dev), res).reshape(-1, 3)
    normals = vertex_normals(verts, faces)
    _, near = nearest_vertex(pts, anchors.float().to(dev))
    w = anchor_weight.float().to(dev)[near]
    d = signed_distance(pts, verts, normals)
    edge = float((verts[faces] - verts[faces.roll(1, 1)]).norm(dim=-1).max())  # the cheap distance's error bound
    # exact near the layers wherever the pin counts (w > 0 in a voxel or a neighbour: every trilinear cell that
    # blends it in has exact corners), the cheap distance elsewhere (its value is unused there)
    counts = F.max_pool3d((w > 0).float().reshape(1, 1, res, res, res), 3, stride=1, padding=1).reshape(-1) > 0
    band = (d.abs() < 2.0 * float(offsets.max()) + 0.01 + edge) & counts
    d[band] = mesh_signed_distance(pts[band], verts, faces, normals)
    s = offset_to_s(d, offsets.float(), levels.float())
    return torch.stack([s, w]).reshape(2, res, res, res)
