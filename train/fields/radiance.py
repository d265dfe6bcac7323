"""Radiance field (canonical, static): what gets baked into the textures."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from train.fields.grid import FeaturePlanes, MultiResGrid, tiny_mlp

LADDER_GAINS = (0.3, 1.3)
"""Lowest and highest brightness gain of the basis ladder (the albedo is in [0, 1])."""
LADDER_HIGHLIGHT = 0.6
"""Largest highlight colour the ladder's upper half adds."""


class RadianceField(nn.Module):
    """x_c (N, 3) -> f_pos (N, D) in [0,1], bases (N, K, 3) in [0,1], alpha (N,) in [0,1].

    `rank` 0 decodes K independent RGB bases per point. With `rank` R > 0 the decoder gives R RGB
    factors F (N, R, 3) and basis_k = sigmoid(sum_r M_kr F_r + b_k), M (K, R) and b (K, 3) learned
    and shared by all points: every basis stays a function of the point's trained colours.

    With `ladder` the decoder gives an albedo A (N, 3) and a highlight colour S (N, 3) per point and
    the K bases are fixed brightness steps of them, basis_k = min(g_k A + h_k S, 1): gains g from
    LADDER_GAINS over the first half of the bases and again over the second half, which adds the
    highlight (h = 0, then 1). The per-pixel MLP then only picks a brightness and a highlight per
    pixel from the normal and view direction (a light fixed in the world), and the bases differ from
    the first step, so the coefficients get a gradient at once (equal bases give them none).

    `plane_res` adds axis-aligned feature planes (`FeaturePlanes`) beside the 3-D grids: texel-fine
    detail (hair strands) that the dense grids cannot afford.
    """

    def __init__(self, lo: Tensor, hi: Tensor, resolutions: list[int], channels: int, hidden: int,
                 dim_pos_feature: int, num_bases: int, alpha_init: float = 0.01, rank: int = 0,
                 ladder: bool = False, plane_res: list[int] | None = None):
        super().__init__()
        if ladder and (rank > 0 or num_bases < 2):
            raise ValueError("the basis ladder needs basis_rank 0 and at least 2 bases")
        self.dim_pos_feature = dim_pos_feature
        self.num_bases = num_bases
        self.rank = rank
        self.ladder = ladder
        n_colour = 6 if ladder else 3 * (rank if rank > 0 else num_bases)
        if ladder:
            half = num_bases // 2
            gains = torch.cat([torch.linspace(*LADDER_GAINS, num_bases - half), torch.linspace(*LADDER_GAINS, half)])
            highlight = torch.cat([torch.zeros(num_bases - half), torch.ones(half)])
            self.register_buffer("ladder_gh", torch.stack([gains, highlight], 1), persistent=False)
        self.encoding = MultiResGrid(lo, hi, resolutions, channels, init_std=1e-1)
        self.planes = FeaturePlanes(lo, hi, plane_res, channels) if plane_res else None
        d_in = self.encoding.out_dim + (self.planes.out_dim if self.planes is not None else 0)
        self.decoder = tiny_mlp(d_in, hidden, dim_pos_feature + n_colour + 1, n_hidden=2)
        if rank > 0:
            self.basis_mix = nn.Parameter(1.0 + 0.3 * torch.randn(num_bases, rank) / rank**0.5)
            self.basis_bias = nn.Parameter(0.3 * torch.randn(num_bases, 3))
        with torch.no_grad():  # layers start nearly transparent (the innermost is opaque anyway)
            self.decoder[-1].bias[-1] = float(torch.logit(torch.tensor(alpha_init)))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        shape = x.shape[:-1]
        flat = x.reshape(-1, 3).float()
        feats = self.encoding(flat)
        if self.planes is not None:
            feats = torch.cat([feats, self.planes(flat)], dim=-1)
        out = self.decoder(feats).float()
        d, k = self.dim_pos_feature, self.num_bases
        f_pos = torch.sigmoid(out[:, :d])
        if self.ladder:
            albedo = torch.sigmoid(out[:, d : d + 3])
            spec = LADDER_HIGHLIGHT * torch.sigmoid(out[:, d + 3 : d + 6])
            g, h = self.ladder_gh[:, 0], self.ladder_gh[:, 1]
            bases = (g[None, :, None] * albedo[:, None] + h[None, :, None] * spec[:, None]).clamp(max=1.0)
        elif self.rank > 0:
            factors = out[:, d : d + 3 * self.rank].reshape(-1, self.rank, 3)
            bases = torch.sigmoid(torch.einsum("kr,nrc->nkc", self.basis_mix, factors) + self.basis_bias)
        else:
            bases = torch.sigmoid(out[:, d : d + 3 * k]).reshape(-1, k, 3)
        # stretched sigmoid: alpha can reach exactly 0 and 1 (textures store both)
        alpha = (1.002 * torch.sigmoid(out[:, -1]) - 0.001).clamp(0.0, 1.0)
        return f_pos.reshape(*shape, d), bases.reshape(*shape, k, 3), alpha.reshape(shape)
