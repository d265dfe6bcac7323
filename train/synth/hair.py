"""Nested hair shells: offset copies of the head's scalp patch, skinned like the scalp.

Shell i (0 = innermost) of N lies at `x_o + offset_i * n_o` in original space (x_o, n_o: scalp
vertex and its outward normal). A shell vertex carries the scalp vertex's expression basis,
pose correctives and skinning weights, so its deformed position is exactly
`S(w, A) [x_o + offset_i n_o + E psi + P pf; 1] = v_scalp + S_3x3 (offset_i n_o)` (spec 2.7):
the posed scalp vertex plus the blended rotation applied to the offset.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from train.flame.lbs import blend_transforms


def vertex_normals(vertices: Tensor, faces: Tensor) -> Tensor:
    """Area-weighted unit vertex normals: vertices (..., V, 3), faces (F, 3) -> (..., V, 3).

    Faces are counter-clockwise seen from outside, so normals point outward."""
    f = faces.long()
    a, b, c = vertices[..., f[:, 0], :], vertices[..., f[:, 1], :], vertices[..., f[:, 2], :]
    fn = torch.linalg.cross(b - a, c - a, dim=-1)  # (..., F, 3), length = 2 * area
    n = torch.zeros_like(vertices)
    for k in range(3):
        n = n.index_add(-2, f[:, k], fn)
    return n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def smooth_vertex_field(values: Tensor, faces: Tensor, iterations: int) -> Tensor:
    """Average per-vertex values (V, C) with their mesh neighbours `iterations` times (rounds
    off the staircase borders of per-vertex region labels)."""
    f = faces.long()
    a = torch.cat([f[:, 0], f[:, 1], f[:, 2]])
    b = torch.cat([f[:, 1], f[:, 2], f[:, 0]])
    count = torch.zeros(values.shape[0]).index_add(0, a, torch.ones(a.shape[0])).index_add(0, b, torch.ones(b.shape[0]))
    out = values
    for _ in range(iterations):
        acc = torch.zeros_like(out).index_add(0, a, out[b]).index_add(0, b, out[a])
        out = torch.where(count[:, None] > 0, 0.5 * out + 0.5 * acc / count.clamp_min(1)[:, None], out)
    return out


@dataclass
class HairShells:
    """The scalp patch and its shell offsets (all original space)."""

    vertex_index: Tensor
    """(Vs,) model vertex index of each patch vertex."""
    faces: Tensor
    """(Fs, 3) int32 triangles indexing the patch vertices."""
    normals: Tensor
    """(Vs, 3) outward unit normals of the scalp (original space)."""
    offsets: Tensor
    """(N,) distance of each shell from the scalp along the normal (world units), inner first."""
    edge: Tensor
    """(Vs,) hairline fade in [0, 1] (0 on the patch border)."""

    @property
    def n_shells(self) -> int:
        return int(self.offsets.shape[0])

    def original(self, x_o: Tensor, shell: int) -> Tensor:
        """Original-space positions (Vs, 3) of shell `shell` from the model's x_o (V, 3)."""
        return x_o[self.vertex_index] + self.offsets[shell] * self.normals

    def deform(self, vertices: Tensor, transforms: Tensor, skin_weights: Tensor, shell: int) -> Tensor:
        """Deformed shell positions (B, Vs, 3).

        vertices (B, V, 3): the posed model vertices (`FlameOutput.vertices`);
        transforms (B, Jb, 4, 4): `FlameOutput.transforms`; skin_weights (V, Jb) matching them.
        """
        idx = self.vertex_index
        S = blend_transforms(skin_weights[idx], transforms)  # (B, Vs, 4, 4)
        off = (self.offsets[shell] * self.normals).to(vertices)
        return vertices[:, idx] + (S[..., :3, :3] @ off[None, :, :, None])[..., 0]


def build_hair_shells(
    x_o: Tensor, faces: Tensor, vertex_regions: Tensor, region_names: list[str], n_shells: int, thickness: float, fade_rings: int = 3
) -> HairShells:
    """Shells over the faces whose three vertices are all in region 'scalp'.

    x_o (V, 3) original-space vertices, faces (F, 3), vertex_regions (V,) ids into region_names.
    Shell i sits at thickness * (i + 1) / n_shells. `fade_rings` vertex rings fade in from the border.
    """
    if "scalp" not in region_names:
        raise ValueError(f"morphable model has no 'scalp' region for the hair; regions: {region_names}")
    scalp = vertex_regions == region_names.index("scalp")
    f = faces.long()
    keep = scalp[f].all(1)
    if not bool(keep.any()):
        raise ValueError("morphable model's 'scalp' region has no complete triangle for the hair")
    pf = f[keep]
    vidx, local = torch.unique(pf, return_inverse=True)
    normals = vertex_normals(x_o, f)[vidx]
    # border: patch vertices that also belong to a face outside the patch
    outside = torch.zeros(x_o.shape[0], dtype=torch.bool)
    outside[f[~keep].reshape(-1)] = True
    ring = outside[vidx].float()
    dist = torch.where(ring > 0, 0.0, float("inf"))
    # breadth-first rings over the patch's edges
    edges = torch.cat([local[:, [0, 1]], local[:, [1, 2]], local[:, [2, 0]]])
    for r in range(1, fade_rings + 1):
        near = torch.zeros(vidx.shape[0], dtype=torch.bool)
        frontier = dist == r - 1
        near[edges[frontier[edges[:, 0]], 1]] = True
        near[edges[frontier[edges[:, 1]], 0]] = True
        dist = torch.where(near & torch.isinf(dist), torch.full_like(dist, float(r)), dist)
    edge = (dist / fade_rings).clamp(0.0, 1.0)
    offsets = thickness * torch.arange(1, n_shells + 1, dtype=torch.float32) / max(n_shells, 1)
    return HairShells(vertex_index=vidx, faces=local.to(torch.int32), normals=normals, offsets=offsets, edge=edge)
