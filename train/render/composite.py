"""Front-to-back compositing of the layer hits of each ray."""

from __future__ import annotations

import torch
from torch import Tensor


def composite_layers(rgb: Tensor, alpha: Tensor, hit: Tensor, background: Tensor) -> tuple[Tensor, Tensor]:
    """Layers ordered inner (0) -> outer (L-1), like the player.

    rgb (B, R, L, 3), alpha (B, R, L), hit (B, R, L) bool, background (3,) ->
    colour (B, R, 3), coverage alpha (B, R).

    The innermost layer is opaque (alpha forced to 1). The player draws layers inner -> outer
    with "over"; that equals this front-to-back accumulation from the outermost layer inwards.
    (BakedAvatar sorts hits by depth instead; for nested front-facing shells the orders agree,
    and where they do not the player's order is what ships.)
    """
    a = torch.where(hit, alpha, torch.zeros_like(alpha))
    a = torch.cat([torch.where(hit[..., :1], 1.0, 0.0).to(a.dtype), a[..., 1:]], dim=-1)
    a = a.flip(-1)  # outer first
    c = rgb.flip(-2)
    trans = torch.cumprod(torch.cat([torch.ones_like(a[..., :1]), 1.0 - a[..., :-1]], dim=-1), dim=-1)
    wts = a * trans
    acc = wts.sum(-1)
    colour = (wts[..., None] * c).sum(-2) + (1.0 - acc)[..., None] * background
    return colour, acc
