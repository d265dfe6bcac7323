"""Deformation field D(x_c) -> (E (n_exp, 3), P (36, 3), w (Jb)) over canonical space.

Defined as one trilinear volume V (res `prior_res`, channels [E (n_exp*3, index e*3+c),
P (108, index p*3+c), skinning logits (Jb)]):

    V = prior + upsample(residual)        E, P = V[E], V[P];  w = softmax(V[logits])

`prior` is the morphable model's own value at the nearest canonical vertex (fixed; logits =
log(max(w, 1e-4))), `residual` a learnable coarse grid starting at zero, so deformation starts
as the morphable model's and is refined where the images ask for it. With `residual_channels`
"skinning" the residual covers only the skinning logits: the expression and pose-corrective
coefficients (156 per voxel with 16 expressions) stay the prior's, since with them the residual
can fit a warp per training frame that new frames do not share.

An optional `detail` volume holds the same prior at a finer spacing over a small box (the eyes and
jaw, `model.deform_detail_parts`: surfaces of different motion -- eyeball, lids, brows, lips, teeth
-- share the coarse lattice's cells there, so the blended field folds and inverse deformation finds
wrong roots). Inside the box the prior is read from it, blended into the coarse one over a band
`detail_ramp` wide (world units; the model passes `model.deform_detail_margin`) inside the box's faces.

Inverse deformation evaluates the field many times per sample for one frame's (psi, pose
feature). Since everything but the softmax is linear in V, `frame_volumes` contracts the
expression/pose channels with the frame's coefficient deltas once per frame: the per-point work
of a Newton step is then one `grid_sample` of 3 + Jb channels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from train.fields.grid import box_lattice, sample_volume, to_grid_coords

_W_FLOOR = 1e-4


def contract_blendshapes(rows: Tensor, n_exp: int, d_expr: Tensor, d_pose_feature: Tensor) -> Tensor:
    """Per-point blendshape rows (n_exp * 3 + 108, n) [E (index e*3+c), then P (index p*3+c)] and
    the frames' coefficient deltas (B, n_exp), (B, 36) -> E.dpsi + P^T.dpf (B, 3, n)."""
    e, p = rows[: n_exp * 3], rows[n_exp * 3 :]
    return torch.einsum("ecn,be->bcn", e.reshape(n_exp, 3, -1), d_expr.float()) + torch.einsum(
        "pcn,bp->bcn", p.reshape(36, 3, -1), d_pose_feature.float())


def prior_logits_volume(volume: Tensor, n_exp: int) -> Tensor:
    """Attribute volume with weights (1, C, R, R, R) -> same with log-weights as the last Jb channels."""
    e3 = n_exp * 3 + 108
    out = volume.clone()  # one copy (torch.cat of slices would hold two at once)
    out[:, e3:] = torch.log(volume[:, e3:].clamp_min(_W_FLOOR))
    return out


class DeformField(nn.Module):
    def __init__(self, lo: Tensor, hi: Tensor, prior_volume: Tensor, n_exp: int, n_bones: int, residual_res: int,
                 residual_channels: str = "all", detail: tuple[Tensor, Tensor, Tensor] | None = None,
                 detail_ramp: float = 0.02):
        """`detail`: (box lo (3,), box hi (3,), attribute volume (1, C, D, H, W) over the box, with
        weights like `prior_volume`) or None."""
        super().__init__()
        n_ch = n_exp * 3 + 36 * 3 + n_bones
        if prior_volume.dim() != 5 or prior_volume.shape[1] != n_ch:
            raise ValueError(f"prior_volume must be (1, {n_ch}, R, R, R); got {tuple(prior_volume.shape)}")
        if residual_channels not in ("all", "skinning"):
            raise ValueError(f"residual_channels must be all or skinning; got {residual_channels!r}")
        self.n_exp, self.n_bones = n_exp, n_bones
        self.register_buffer("lo", lo.detach().clone().float(), persistent=False)
        self.register_buffer("hi", hi.detach().clone().float(), persistent=False)
        self.register_buffer("prior", prior_logits_volume(prior_volume.float(), n_exp), persistent=False)
        r = residual_res
        self.residual = nn.Parameter(torch.zeros(1, n_ch if residual_channels == "all" else n_bones, r, r, r))
        dlo, dhi, dvol = detail if detail is not None else (None, None, None)
        if dvol is not None and (dvol.dim() != 5 or dvol.shape[1] != n_ch):
            raise ValueError(f"detail volume must be (1, {n_ch}, D, H, W); got {tuple(dvol.shape)}")
        if detail_ramp <= 0.0:
            raise ValueError(f"detail_ramp must be > 0; got {detail_ramp}")
        self.detail_ramp = float(detail_ramp)
        self.register_buffer("detail", None if dvol is None else prior_logits_volume(dvol.float(), n_exp), persistent=False)
        self.register_buffer("detail_lo", None if dlo is None else dlo.detach().clone().float(), persistent=False)
        self.register_buffer("detail_hi", None if dhi is None else dhi.detach().clone().float(), persistent=False)

    @property
    def prior_res(self) -> int:
        return int(self.prior.shape[-1])

    def _up(self, v: Tensor) -> Tensor:
        r = self.prior_res
        if v.shape[-1] == r:
            return v
        return F.interpolate(v, size=(r, r, r), mode="trilinear", align_corners=True)

    def _split(self, v: Tensor, dim: int = -1) -> tuple[Tensor, Tensor, Tensor]:
        e3 = self.n_exp * 3
        return v.narrow(dim, 0, e3), v.narrow(dim, e3, 108), v.narrow(dim, e3 + 108, self.n_bones)

    def _pad_channels(self, v: Tensor) -> Tensor:
        """A residual-shaped tensor (1, c, ...) over all C channels: zeros where the residual does not apply."""
        missing = self.prior.shape[1] - v.shape[1]
        if missing == 0:
            return v
        return torch.cat([v.new_zeros(1, missing, *v.shape[2:]), v], dim=1)

    def volume(self) -> Tensor:
        """The coarse lattice's field volume V (1, C, R, R, R): prior + upsampled residual, without the
        detail box (`forward` blends that in by its weight). Upsampling is per channel, so only the
        residual's own channels are upsampled (the skinning-only residual: Jb of C channels)."""
        return self.prior + self._pad_channels(self._up(self.residual))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x (N, 3) -> E (N, n_exp, 3), P (N, 36, 3), w (N, Jb) (rows sum to 1)."""
        x = x.reshape(-1, 3).float()
        g = to_grid_coords(x[None], self.lo, self.hi)
        # sampling is linear in the volume: prior and residual sampled apart equal sampling volume(),
        # without materialising the full C-channel volume (11 GB at 256^3)
        v = self.with_detail(x[None], sample_volume(self.prior, g), self.detail)[0]
        res = sample_volume(self._up(self.residual), g)[0]  # (N, c): the last c channels
        c = res.shape[1]
        v = torch.cat([v[:, : v.shape[1] - c], v[:, v.shape[1] - c :] + res], dim=1)
        e, p, logit = self._split(v)
        return e.reshape(-1, self.n_exp, 3), p.reshape(-1, 36, 3), torch.softmax(logit, dim=-1)

    def _contract(self, v: Tensor, d_expr: Tensor, d_pose_feature: Tensor) -> Tensor:
        """(1, C, ...) -> (B, 3 + Jb, n) over its n voxels: displacement E.dpsi + P^T.dpf, then logits."""
        flat = v[0].reshape(v.shape[1], -1)
        disp = contract_blendshapes(flat[: -self.n_bones], self.n_exp, d_expr, d_pose_feature)
        return torch.cat([disp, flat[-self.n_bones :][None].expand(d_expr.shape[0], -1, -1)], dim=1)

    def frame_residual(self, d_expr: Tensor, d_pose_feature: Tensor) -> Tensor:
        """The residual grid contracted for the frames (B, 3 + Jb, r, r, r), shared by
        `frame_volumes` and `frame_detail_volumes` (pass it to both to contract it once)."""
        r = self.residual.shape[-1]
        return self._contract(self._pad_channels(self.residual), d_expr, d_pose_feature).reshape(d_expr.shape[0], -1, r, r, r)

    def frame_volumes(self, d_expr: Tensor, d_pose_feature: Tensor, residual: Tensor | None = None) -> Tensor:
        """Per-frame volume (B, 3 + Jb, R, R, R): displacement E.dpsi + P^T.dpf, then skinning logits.

        Differentiable w.r.t. the residual grid (used with gradients in the implicit step)."""
        residual = self.frame_residual(d_expr, d_pose_feature) if residual is None else residual
        prior = self._contract(self.prior, d_expr, d_pose_feature).reshape(d_expr.shape[0], -1, *self.prior.shape[2:])
        return prior + self._up(residual)

    def frame_detail_volumes(self, d_expr: Tensor, d_pose_feature: Tensor, residual: Tensor | None = None) -> Tensor | None:
        """Per-frame detail volume (B, 3 + Jb, D, H, W) over the detail box, laid out like
        `frame_volumes` (the residual read at the box's lattice points); None without a detail box."""
        if self.detail is None:
            return None
        b, dims = d_expr.shape[0], self.detail.shape[2:]
        residual = self.frame_residual(d_expr, d_pose_feature) if residual is None else residual
        pts = box_lattice(self.detail_lo, self.detail_hi, dims).reshape(1, -1, 3)
        at = sample_volume(residual, to_grid_coords(pts, self.lo, self.hi).expand(b, -1, -1))  # (B, n, 3 + Jb)
        return (self._contract(self.detail, d_expr, d_pose_feature) + at.transpose(1, 2)).reshape(b, -1, *dims)

    def detail_weight(self, x: Tensor) -> Tensor:
        """x (..., 3) -> (...,) in [0, 1]: how much of the prior comes from the detail box (1 in its
        core, falling linearly to 0 across the `detail_ramp` band inside its faces; 0 outside)."""
        inside = torch.minimum(x - self.detail_lo, self.detail_hi - x)  # distance to the nearer face, per axis
        return (inside / self.detail_ramp).clamp(0.0, 1.0).prod(-1)

    def with_detail(self, x: Tensor, v: Tensor, detail: Tensor | None) -> Tensor:
        """x (B, M, 3), v (B, M, C) read from the coarse volume -> v with the detail volume
        (B, C, D, H, W) blended in by `detail_weight` (every point is read: no host sync on a mask)."""
        if detail is None:
            return v
        vd = sample_volume(detail, to_grid_coords(x.float(), self.detail_lo, self.detail_hi))
        return torch.lerp(v, vd, self.detail_weight(x.float())[..., None])

    def frame_warp(self, x: Tensor, volumes: Tensor, detail_volumes: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """x (B, M, 3) -> displacement E.dpsi + P^T.dpf (B, M, 3) and skinning weights (B, M, Jb)."""
        v = sample_volume(volumes, to_grid_coords(x.float(), self.lo, self.hi))
        v = self.with_detail(x, v, detail_volumes)
        return v[..., :3], torch.softmax(v[..., 3:], dim=-1)

    def residual_l2(self) -> Tensor:
        return self.residual.pow(2).mean()
