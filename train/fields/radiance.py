"""Radiance field (canonical, static): what gets baked into the textures."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from train.fields.grid import MultiResGrid, tiny_mlp


class RadianceField(nn.Module):
    """x_c (N, 3) -> f_pos (N, D) in [0,1], bases (N, K, 3) in [0,1], alpha (N,) in [0,1].

    `rank` 0 decodes K independent RGB bases per point. With `rank` R > 0 the decoder gives R RGB
    factors F (N, R, 3) and basis_k = sigmoid(sum_r M_kr F_r + b_k), M (K, R) and b (K, 3) learned
    and shared by all points: every basis stays a function of the point's trained colours.
    """

    def __init__(self, lo: Tensor, hi: Tensor, resolutions: list[int], channels: int, hidden: int,
                 dim_pos_feature: int, num_bases: int, alpha_init: float = 0.01, rank: int = 0):
        super().__init__()
        self.dim_pos_feature = dim_pos_feature
        self.num_bases = num_bases
        self.rank = rank
        n_colour = 3 * (rank if rank > 0 else num_bases)
        self.encoding = MultiResGrid(lo, hi, resolutions, channels, init_std=1e-1)
        self.decoder = tiny_mlp(self.encoding.out_dim, hidden, dim_pos_feature + n_colour + 1, n_hidden=2)
        if rank > 0:
            self.basis_mix = nn.Parameter(1.0 + 0.3 * torch.randn(num_bases, rank) / rank**0.5)
            self.basis_bias = nn.Parameter(0.3 * torch.randn(num_bases, 3))
        with torch.no_grad():  # layers start nearly transparent (the innermost is opaque anyway)
            self.decoder[-1].bias[-1] = float(torch.logit(torch.tensor(alpha_init)))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        shape = x.shape[:-1]
        out = self.decoder(self.encoding(x.reshape(-1, 3).float())).float()
        d, k = self.dim_pos_feature, self.num_bases
        f_pos = torch.sigmoid(out[:, :d])
        if self.rank > 0:
            factors = out[:, d : d + 3 * self.rank].reshape(-1, self.rank, 3)
            bases = torch.sigmoid(torch.einsum("kr,nrc->nkc", self.basis_mix, factors) + self.basis_bias)
        else:
            bases = torch.sigmoid(out[:, d : d + 3 * k]).reshape(-1, k, 3)
        # stretched sigmoid: alpha can reach exactly 0 and 1 (textures store both)
        alpha = (1.002 * torch.sigmoid(out[:, -1]) - 0.001).clamp(0.0, 1.0)
        return f_pos.reshape(*shape, d), bases.reshape(*shape, k, 3), alpha.reshape(shape)
