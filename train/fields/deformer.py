"""Deformation field D(x_c) -> (E (n_exp, 3), P (36, 3), w (Jb)) over canonical space.

Each output is the morphable model's own value at the nearest canonical vertex (a fixed
volume, trilinearly interpolated) plus a learned residual (coarse feature grids + tiny MLP whose
head starts at zero). Skinning weights are softmax(log(w_prior) + residual logits).

Inverse deformation evaluates the field many times per sample for one frame's (psi, pose
feature); `frame_warp` therefore contracts the expression/pose bases with the frame's
coefficient deltas *before* sampling: a 3-channel displacement volume per frame and a (3, H)
head per frame, instead of (n_exp + 36) * 3 channels per point.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from train.fields.grid import MultiResGrid, sample_volume, to_grid_coords

_W_FLOOR = 1e-4


class DeformField(nn.Module):
    def __init__(self, lo: Tensor, hi: Tensor, prior_volume: Tensor, n_exp: int, n_bones: int,
                 resolutions: list[int], channels: int, hidden: int):
        super().__init__()
        n_ch = n_exp * 3 + 36 * 3 + n_bones
        if prior_volume.dim() != 5 or prior_volume.shape[1] != n_ch:
            raise ValueError(f"prior_volume must be (1, {n_ch}, R, R, R); got {tuple(prior_volume.shape)}")
        self.n_exp, self.n_bones = n_exp, n_bones
        self.register_buffer("lo", lo.detach().clone().float(), persistent=False)
        self.register_buffer("hi", hi.detach().clone().float(), persistent=False)
        self.register_buffer("prior", prior_volume.float(), persistent=False)
        self.encoding = MultiResGrid(lo, hi, resolutions, channels)
        self.trunk = nn.Sequential(
            nn.Linear(self.encoding.out_dim + 3, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(hidden, n_ch)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    # -- pieces -------------------------------------------------------------------------------
    def _features(self, x: Tensor) -> Tensor:
        u = to_grid_coords(x, self.lo, self.hi)
        return self.trunk(torch.cat([self.encoding(x), u], dim=-1))

    def _split(self, v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        e3 = self.n_exp * 3
        return v[..., :e3], v[..., e3 : e3 + 108], v[..., e3 + 108 :]

    # -- full attributes (prior loss, baking) ---------------------------------------------------
    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x (N, 3) -> E (N, n_exp, 3), P (N, 36, 3), w (N, Jb) (rows sum to 1)."""
        x = x.reshape(-1, 3).float()
        prior = sample_volume(self.prior, to_grid_coords(x[None], self.lo, self.hi))[0]
        res = self.head(self._features(x)).float()
        pe, pp, pw = self._split(prior)
        re, rp, rw = self._split(res)
        expr = (pe + re).reshape(-1, self.n_exp, 3)
        pose = (pp + rp).reshape(-1, 36, 3)
        w = torch.softmax(torch.log(pw.clamp_min(_W_FLOOR)) + rw, dim=-1)
        return expr, pose, w

    def residual(self, x: Tensor) -> Tensor:
        """The learned residual (N, C) alone (for regularisation)."""
        return self.head(self._features(x.reshape(-1, 3).float())).float()

    # -- per-frame fast path (inverse deformation) ----------------------------------------------
    def frame_volumes(self, d_expr: Tensor, d_pose_feature: Tensor) -> Tensor:
        """Per-frame volume (B, 3 + Jb, R, R, R): displacement E.dpsi + P^T.dpf, then prior w."""
        r = self.prior.shape[-1]
        pe, pp, pw = self._split(self.prior[0].movedim(0, -1))  # (R, R, R, C_*)
        pe = pe.reshape(r, r, r, self.n_exp, 3)
        pp = pp.reshape(r, r, r, 36, 3)
        disp = torch.einsum("zyxec,be->bczyx", pe, d_expr.float()) + torch.einsum(
            "zyxpc,bp->bczyx", pp, d_pose_feature.float())
        w = pw.movedim(-1, 0)[None].expand(d_expr.shape[0], -1, -1, -1, -1)
        return torch.cat([disp, w], dim=1).contiguous()

    def frame_heads(self, d_expr: Tensor, d_pose_feature: Tensor) -> tuple[Tensor, Tensor]:
        """Residual head contracted per frame: weight (B, 3 + Jb, H), bias (B, 3 + Jb)."""
        w_all, b_all = self.head.weight, self.head.bias
        we, wp, ww = self._split(w_all.T)  # (H, C_*)
        be, bp, bw = self._split(b_all)
        hdim = w_all.shape[1]
        we = we.reshape(hdim, self.n_exp, 3)
        wp = wp.reshape(hdim, 36, 3)
        w_disp = torch.einsum("hec,be->bch", we, d_expr) + torch.einsum("hpc,bp->bch", wp, d_pose_feature)
        b_disp = torch.einsum("ec,be->bc", be.reshape(self.n_exp, 3), d_expr) + torch.einsum(
            "pc,bp->bc", bp.reshape(36, 3), d_pose_feature)
        bsz = d_expr.shape[0]
        weight = torch.cat([w_disp, ww.T[None].expand(bsz, -1, -1)], dim=1)
        bias = torch.cat([b_disp, bw[None].expand(bsz, -1)], dim=1)
        return weight, bias

    def frame_warp(self, x: Tensor, volumes: Tensor, heads: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """x (B, M, 3) -> displacement E.dpsi + P^T.dpf (B, M, 3) and skinning weights (B, M, Jb)."""
        b, m, _ = x.shape
        x = x.float()
        prior = sample_volume(volumes, to_grid_coords(x, self.lo, self.hi))  # (B, M, 3 + Jb)
        h = self._features(x.reshape(-1, 3)).reshape(b, m, -1).float()
        weight, bias = heads
        res = torch.baddbmm(bias[:, None, :], h, weight.transpose(1, 2))
        disp = prior[..., :3] + res[..., :3]
        w = torch.softmax(torch.log(prior[..., 3:].clamp_min(_W_FLOOR)) + res[..., 3:], dim=-1)
        return disp, w
