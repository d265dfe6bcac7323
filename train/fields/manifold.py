"""Manifold field M(x_c) -> s: its level sets are the avatar's layers (larger outside)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from train.fields.grid import MultiResGrid, sample_volume, tiny_mlp, to_grid_coords


class ManifoldField(nn.Module):
    """s(x) = base(x) + residual(x) + distance outside the field's cube.

    `base` is a learnable dense scalar grid initialised SDF-like from the morphable model;
    the residual is a multi-resolution feature grid decoded by a tiny MLP whose last layer starts
    at zero, so s starts exactly at the initialisation. Outside the cube s keeps growing, so
    nothing outside it is ever inside a layer.

    `pin` (2, R, R, R), optional and fixed: a value p and a weight w over the cube; s becomes
    (1 - w) s + w p (`model.manifold_pin`: `train.fields.pin`).
    """

    def __init__(self, lo: Tensor, hi: Tensor, base: Tensor, resolutions: list[int], channels: int, hidden: int,
                 pin: Tensor | None = None):
        super().__init__()
        if base.dim() != 3:
            raise ValueError(f"base must be a (R, R, R) grid; got shape {tuple(base.shape)}")
        self.register_buffer("lo", lo.detach().clone().float(), persistent=False)
        self.register_buffer("hi", hi.detach().clone().float(), persistent=False)
        self.base = nn.Parameter(base.detach().clone().float()[None, None])
        self.encoding = MultiResGrid(lo, hi, resolutions, channels)
        self.decoder = tiny_mlp(self.encoding.out_dim, hidden, 1, n_hidden=1, zero_last=True)
        self.register_buffer("pin", None if pin is None else pin.detach().clone().float()[None])

    def forward(self, x: Tensor) -> Tensor:
        """x (..., 3) canonical points -> s (...)."""
        shape = x.shape[:-1]
        flat = x.reshape(-1, 3).float()
        u = to_grid_coords(flat[None], self.lo, self.hi)
        s = sample_volume(self.base, u)[0, :, 0]
        s = s + self.decoder(self.encoding(flat))[:, 0].float()
        if self.pin is not None:
            p = sample_volume(self.pin, u)[0]
            s = s + p[:, 1] * (p[:, 0] - s)
        outside = torch.maximum(flat - self.hi, self.lo - flat).clamp_min(0.0).norm(dim=-1)
        return (s + outside).reshape(shape)

    def gradient(self, x: Tensor, eps: float) -> Tensor:
        """Central-difference gradient (..., 3) of s; differentiable if the caller enables grad."""
        offs = torch.eye(3, device=x.device, dtype=x.dtype) * eps
        xs = torch.cat([x[..., None, :] + offs, x[..., None, :] - offs], dim=-2)  # (..., 6, 3)
        s = self(xs)
        return (s[..., :3] - s[..., 3:]) / (2.0 * eps)
