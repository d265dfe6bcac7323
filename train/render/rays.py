"""Rays and their sample depths (deformed / world space)."""

from __future__ import annotations

import torch
from torch import Tensor


def sphere_interval(o: Tensor, d: Tensor, center: Tensor, radius: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Ray-sphere interval. o, d (B, R, 3) (d unit), center (B, 3), radius (B,) ->
    near, far (B, R) (near >= 0) and hit (B, R) bool."""
    oc = o - center[:, None]
    b = (oc * d).sum(-1)
    c = (oc * oc).sum(-1) - radius[:, None] ** 2
    disc = b * b - c
    hit = disc > 0
    sq = disc.clamp_min(0).sqrt()
    near = (-b - sq).clamp_min(0.0)
    far = -b + sq
    hit = hit & (far > near)
    far = torch.where(hit, far, near + 1e-3)
    return near, far, hit


def sample_depths(near: Tensor, far: Tensor, n: int, jitter: Tensor | None = None) -> Tensor:
    """n depths per ray (B, R, n): interval midpoints, or stratified if `jitter` (B, R, n) in [0,1)."""
    u = torch.arange(n, device=near.device, dtype=near.dtype)
    u = (u + 0.5) if jitter is None else (u + jitter)
    return near[..., None] + (far - near)[..., None] * (u / n)


def sample_pixels(mask: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """Choose n pixels of one image: half uniform, half inside the mask's bounding box (spec 1.7).

    mask (H, W) -> pixel indices (n,) into the row-major image (u fastest).
    """
    h, w = mask.shape
    n_uniform = n - n // 2
    dev = mask.device
    idx_u = torch.randint(0, h * w, (n_uniform,), generator=generator, device="cpu").to(dev)
    ys, xs = torch.nonzero(mask > 0.5, as_tuple=True)
    if ys.numel() == 0:
        idx_b = torch.randint(0, h * w, (n // 2,), generator=generator, device="cpu").to(dev)
    else:
        y0, y1 = int(ys.min()), int(ys.max()) + 1
        x0, x1 = int(xs.min()), int(xs.max()) + 1
        ry = torch.randint(y0, y1, (n // 2,), generator=generator, device="cpu").to(dev)
        rx = torch.randint(x0, x1, (n // 2,), generator=generator, device="cpu").to(dev)
        idx_b = ry * w + rx
    return torch.cat([idx_u, idx_b])


def pixel_centres(idx: Tensor, width: int) -> Tensor:
    """Row-major pixel indices (..., R) -> continuous (u, v) pixel centres (..., R, 2)."""
    return torch.stack([(idx % width).float() + 0.5, (idx // width).float() + 0.5], dim=-1)
