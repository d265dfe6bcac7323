"""Image metrics shared by stage-1 eval and the baked-avatar eval.

All take float images in [0, 1] as torch tensors or numpy arrays, (H, W, C) or (B, H, W, C)
(mask_iou: (H, W) or (B, H, W) masks); batches are averaged per image (PSNR is the mean of per-image PSNRs).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def _tensor(x) -> Tensor:
    return torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x).detach().float().cpu()


def _as_batch(x) -> Tensor:
    t = _tensor(x)
    if t.dim() == 2:
        t = t[..., None]
    if t.dim() == 3:
        t = t[None]
    if t.dim() != 4:
        raise ValueError(f"image must be (H,W), (H,W,C) or (B,H,W,C); got shape {tuple(t.shape)}")
    return t


def _check(a: Tensor, b: Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"prediction and ground truth must have the same shape; got {tuple(a.shape)} and {tuple(b.shape)}")


def psnr(pred, gt) -> float:
    """Mean per-image PSNR in dB (peak 1)."""
    a, b = _as_batch(pred), _as_batch(gt)
    _check(a, b)
    mse = (a - b).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return float((-10.0 * torch.log10(mse)).mean())


def _gaussian(size: int = 11, sigma: float = 1.5) -> Tensor:
    x = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(pred, gt, window: int = 11, sigma: float = 1.5) -> float:
    """Mean SSIM (Wang et al. 2004: Gaussian window 11 / 1.5, K1 0.01, K2 0.03, valid region)."""
    a, b = _as_batch(pred), _as_batch(gt)
    _check(a, b)
    a, b = a.permute(0, 3, 1, 2), b.permute(0, 3, 1, 2)
    c = a.shape[1]
    g = _gaussian(window, sigma)
    k = (g[:, None] * g[None, :]).expand(c, 1, window, window).contiguous()

    def blur(x):
        return F.conv2d(x, k, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    saa = blur(a * a) - mu_a**2
    sbb = blur(b * b) - mu_b**2
    sab = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2))
    return float(m.flatten(1).mean(1).mean())


def _as_mask_batch(x, threshold: float) -> Tensor:
    """Alpha/mask -> boolean (B, H, W). Takes (H, W), (B, H, W), or either with a trailing channel of 1."""
    t = _tensor(x)
    shape = tuple(t.shape)
    if t.dim() in (3, 4) and t.shape[-1] == 1:
        t = t[..., 0]
    if t.dim() == 2:
        t = t[None]
    if t.dim() != 3:
        raise ValueError(f"mask must be (H,W), (B,H,W), (H,W,1) or (B,H,W,1); got shape {shape}")
    return t > threshold


def mask_iou(pred_alpha, gt_alpha, threshold: float = 0.5) -> float:
    """Mean per-image IoU of (alpha > threshold) masks.

    Masks are (H,W) or (B,H,W), optionally with a trailing channel of 1 ((H,W,1), (B,H,W,1)).
    An image where both masks are empty scores 1.
    """
    a, b = _as_mask_batch(pred_alpha, threshold), _as_mask_batch(gt_alpha, threshold)
    _check(a, b)
    inter = (a & b).flatten(1).sum(1).float()
    union = (a | b).flatten(1).sum(1).float()
    iou = torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))
    return float(iou.mean())
