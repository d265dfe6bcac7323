"""What the morphable model tells the fields before any training.

* nearest canonical vertex of a point (chunked brute force in torch: no pytorch3d);
* an SDF-like initial manifold: signed distance to the canonical morphable model, the sign
  taken from the nearest vertex's normal (pseudo-normal test; exact enough for an init);
* a volume of the nearest vertex's expression basis, pose correctives and skinning weights,
  which the deformation field refines (so deformation starts as the morphable model's own).
"""

from __future__ import annotations

import torch
from torch import Tensor


def nearest_vertices(x: Tensor, verts: Tensor, k: int = 1, chunk: int = 8192) -> tuple[Tensor, Tensor]:
    """x (N, 3), verts (V, 3) -> (squared distances (N, k), indices (N, k)) of the k nearest
    vertices, nearest first.

    CPU: a k-d tree (scipy); CUDA: chunked brute force (one matmul per chunk).
    """
    k = min(k, verts.shape[0])
    if x.shape[0] == 0:
        return x.new_zeros(0, k), torch.zeros(0, k, dtype=torch.long, device=x.device)
    if x.device.type == "cpu":
        from scipy.spatial import cKDTree

        _, idx = cKDTree(verts.detach().double().numpy()).query(x.detach().double().numpy(), k=k)
        idx_t = torch.as_tensor(idx, dtype=torch.long).reshape(x.shape[0], k)
        # recompute in torch so the distance is exact in the caller's dtype
        return (x.detach()[:, None] - verts[idx_t]).pow(2).sum(-1), idx_t
    d2_out, idx_out = [], []
    vv = (verts * verts).sum(-1)
    for i in range(0, x.shape[0], chunk):
        xs = x[i : i + chunk]
        d2 = (xs * xs).sum(-1, keepdim=True) - 2.0 * xs @ verts.T + vv[None]
        m, j = d2.topk(k, dim=-1, largest=False)
        d2_out.append(m.clamp_min(0.0))
        idx_out.append(j)
    return torch.cat(d2_out), torch.cat(idx_out)


def nearest_vertex(x: Tensor, verts: Tensor, chunk: int = 8192) -> tuple[Tensor, Tensor]:
    """x (N, 3), verts (V, 3) -> (squared distance (N,), index (N,)) of the nearest vertex."""
    d2, idx = nearest_vertices(x, verts, 1, chunk)
    return d2[:, 0], idx[:, 0]


def vertex_normals(verts: Tensor, faces: Tensor) -> Tensor:
    """Area-weighted vertex normals (V, 3) of a triangle mesh (faces CCW from outside)."""
    v0, v1, v2 = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    fn = torch.cross(v1 - v0, v2 - v0, dim=-1)
    n = torch.zeros_like(verts)
    for k in range(3):
        n.index_add_(0, faces[:, k], fn)
    return n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def area_samples(face_area: Tensor, n: int, gen: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """n triangles drawn with probability proportional to `face_area` (F,) (CPU) and a uniform point
    in each as barycentric weights of its second and third corner -> (tri (n,), uv (n, 2)), CPU.
    The point is a + u (b - a) + v (c - a)."""
    tri = torch.multinomial(face_area, n, replacement=True, generator=gen)
    uv = torch.rand(n, 2, generator=gen)
    return tri, torch.where(uv.sum(-1, keepdim=True) > 1.0, 1.0 - uv, uv)  # fold into the triangle


def signed_distance(x: Tensor, verts: Tensor, normals: Tensor) -> Tensor:
    """Approximate signed distance (N,) to a vertex cloud with normals: positive outside."""
    d2, idx = nearest_vertex(x, verts)
    side = ((x - verts[idx]) * normals[idx]).sum(-1)
    return torch.where(side >= 0, 1.0, -1.0) * d2.sqrt()


def vertex_attributes(flame) -> tuple[Tensor, Tensor, Tensor]:
    """Per-vertex (E (V, n_exp, 3), P (V, 36, 3), w (V, Jb)) of a MorphableModel."""
    shapedirs = flame.shapedirs  # (V, 3, E)
    n_v = shapedirs.shape[0]
    expr = shapedirs.permute(0, 2, 1).contiguous()
    pose = flame.posedirs.reshape(36, n_v, 3).permute(1, 0, 2).contiguous()
    return expr.float(), pose.float(), flame.skin_weights.float()


def attribute_volume(points: Tensor, verts: Tensor, expr: Tensor, pose: Tensor, weights: Tensor,
                     chunk: int = 1 << 20) -> Tensor:
    """Nearest-vertex attributes at lattice points (D, H, W, 3) -> volume (1, C, D, H, W).

    Channels: E flattened (n_exp * 3, index e * 3 + c), P flattened (36 * 3, index p * 3 + c),
    then the Jb skinning weights.
    """
    pts = points.reshape(-1, 3)
    table = torch.cat([expr.flatten(1), pose.flatten(1), weights], dim=-1).T.contiguous()  # (C, V)
    out = torch.empty(table.shape[0], pts.shape[0], device=pts.device, dtype=table.dtype)
    # filled `chunk` lattice points at a time: at 256^3 the volume alone is 11 GB, so no full-size temporaries
    for i in range(0, pts.shape[0], chunk):
        _, idx = nearest_vertex(pts[i : i + chunk], verts)
        out[:, i : i + chunk] = table[:, idx]
    return out.reshape(1, -1, *points.shape[:3])
