"""Normal blendshapes: how the morphable model's blendshapes turn its surface normal (first order).

Skinning turns a normal with the blended bone rotation, but expression and pose-corrective
blendshapes move the surface too: a smile tilts the cheek. For every canonical vertex the
derivatives of its unit original-space normal (zero pose, no skinning) with respect to each
expression coefficient and each pose-feature entry are taken at the canonical expression and
pose (central differences of the area-weighted vertex normals), giving

    n_o(psi, pf) ~= n_o,can + N_E . (psi - psi_can) + N_P^T . (pf - pf_can)

which is exactly how a glTF morph target's NORMAL deltas play back (then skinned, then
renormalised). Over canonical space the derivatives are a nearest-vertex attribute volume laid out
as the deformation prior's expression and pose channels (and a detail box like its own), contracted
per frame to 3 channels: one trilinear read per layer hit.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from train.fields.deformer import contract_blendshapes
from train.fields.grid import sample_volume, to_grid_coords
from train.fields.prior import vertex_normals


def original_vertices(flame, expression: Tensor, pose_feature: Tensor) -> Tensor:
    """(B, E), (B, 36) -> original-space vertices (B, V, 3): template + blendshapes, no skinning."""
    v = flame.v_template + torch.einsum("bl,vcl->bvc", expression, flame.shapedirs)
    return v + (pose_feature @ flame.posedirs).reshape(expression.shape[0], -1, 3)


@torch.no_grad()
def vertex_normal_basis(flame, expression: Tensor, pose_feature: Tensor, h: float = 1e-3) -> tuple[Tensor, Tensor]:
    """d n_o / d psi (V, n_exp, 3) and d n_o / d pf (V, 36, 3) at (expression (E,), pose_feature (36,))."""
    faces = flame.faces.long()
    e0, p0 = expression.float()[None], pose_feature.float()[None]

    def normals(e: Tensor, p: Tensor) -> Tensor:
        return torch.stack([vertex_normals(v, faces) for v in original_vertices(flame, e, p)])

    def jac(n: int, make) -> Tensor:  # (V, n, 3)
        step = torch.eye(n, device=e0.device) * h
        return ((normals(*make(step)) - normals(*make(-step))) / (2 * h)).transpose(0, 1)

    d_e = jac(e0.shape[1], lambda s: (e0 + s, p0.expand(s.shape[0], -1)))
    d_p = jac(p0.shape[1], lambda s: (e0.expand(s.shape[0], -1), p0 + s))
    return d_e.float().contiguous(), d_p.float().contiguous()


class NormalBlendField(nn.Module):
    """The normal blendshapes over canonical space: a coarse volume (1, n_exp*3 + 108, R, R, R) and,
    optionally, one over the deformation field's detail box (blended in by its `with_detail`)."""

    def __init__(self, lo: Tensor, hi: Tensor, volume: Tensor, n_exp: int, detail: Tensor | None = None):
        super().__init__()
        n_ch = n_exp * 3 + 108
        for name, v in (("volume", volume), ("detail", detail)):
            if v is not None and (v.dim() != 5 or v.shape[1] != n_ch):
                raise ValueError(f"normal-blendshape {name} must be (1, {n_ch}, D, H, W); got {tuple(v.shape)}")
        self.n_exp = n_exp
        self.register_buffer("lo", lo.detach().clone().float(), persistent=False)
        self.register_buffer("hi", hi.detach().clone().float(), persistent=False)
        self.register_buffer("volume", volume.float(), persistent=False)
        self.register_buffer("detail", None if detail is None else detail.float(), persistent=False)

    def _contract(self, v: Tensor, d_expr: Tensor, d_pose_feature: Tensor) -> Tensor:
        """(1, C, *dims) -> (B, 3, *dims): N_E . dpsi + N_P^T . dpf."""
        out = contract_blendshapes(v[0].reshape(v.shape[1], -1), self.n_exp, d_expr, d_pose_feature)
        return out.reshape(d_expr.shape[0], 3, *v.shape[2:])

    def frame_volumes(self, d_expr: Tensor, d_pose_feature: Tensor) -> tuple[Tensor, Tensor | None]:
        """Per-frame normal-delta volumes: coarse (B, 3, R, R, R) and detail (B, 3, D, H, W) or None."""
        detail = None if self.detail is None else self._contract(self.detail, d_expr, d_pose_feature)
        return self._contract(self.volume, d_expr, d_pose_feature), detail

    def delta(self, deform, x: Tensor, volumes: Tensor, detail: Tensor | None) -> Tensor:
        """x (B, M, 3) canonical -> the frame's original-space normal delta (B, M, 3); `deform` (the
        `DeformField`) blends the detail box in exactly as it does its own prior."""
        v = sample_volume(volumes, to_grid_coords(x.float(), self.lo, self.hi))
        return deform.with_detail(x, v, detail)

    def attrs(self, deform, x: Tensor) -> tuple[Tensor, Tensor]:
        """x (N, 3) canonical -> N_E (N, n_exp, 3), N_P (N, 36, 3) (for the bake: per-vertex blendshapes)."""
        x = x.reshape(1, -1, 3).float()
        v = deform.with_detail(x, sample_volume(self.volume, to_grid_coords(x, self.lo, self.hi)), self.detail)[0]
        e3 = self.n_exp * 3
        return v[:, :e3].reshape(-1, self.n_exp, 3), v[:, e3:].reshape(-1, 36, 3)
