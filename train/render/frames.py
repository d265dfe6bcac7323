"""A dataset split as device tensors for ray sampling and full-frame rendering.

Images and masks stay uint8 (600 frames at 512^2 are ~0.6 GB), gathered per ray on demand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass
class Frames:
    images: Tensor  # (N, H, W, 3) uint8, as stored (not composited)
    masks: Tensor  # (N, H, W) uint8 soft coverage * 255
    K: Tensor  # (N, 3, 3) pixels, fx < 0
    c2w: Tensor  # (N, 4, 4)
    expression: Tensor  # (N, n_exp)
    pose: Tensor  # (N, 15)
    mask_bbox: Tensor  # (N, 4) long, CPU: x0, y0, x1, y1 (exclusive) of mask > 0.5, whole image if empty
    background: Tensor  # (3,)
    shape_params: np.ndarray | None = None
    names: list[str] | None = None  # "<video>/<frame>" per frame

    @property
    def n(self) -> int:
        return int(self.images.shape[0])

    @property
    def height(self) -> int:
        return int(self.images.shape[1])

    @property
    def width(self) -> int:
        return int(self.images.shape[2])

    def mask_at(self, pick: Tensor, idx: Tensor) -> Tensor:
        """Soft mask at pixels: pick (B,), idx (B, R) row-major -> (B, R) float."""
        return self.masks.flatten(1)[pick[:, None], idx].float() / 255.0

    def rgb_at(self, pick: Tensor, idx: Tensor) -> Tensor:
        """Ground-truth colour composited over the background with the soft mask, (B, R, 3)."""
        rgb = self.images.flatten(1, 2)[pick[:, None], idx].float() / 255.0
        m = self.mask_at(pick, idx)[..., None]
        return rgb * m + self.background * (1.0 - m)

    def target(self, i: int) -> tuple[Tensor, Tensor]:
        """Whole frame i: rgb over the background (H, W, 3) and mask (H, W), float."""
        m = self.masks[i].float() / 255.0
        rgb = self.images[i].float() / 255.0
        return rgb * m[..., None] + self.background * (1.0 - m[..., None]), m


def _bbox(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask > 127)
    if ys.size == 0:
        return [0, 0, mask.shape[1], mask.shape[0]]
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def load_frames(cfg, videos: list[str], subsample, device, progress: bool = True,
                max_frames: int | None = None) -> Frames:
    """Read a split with the IMavatar reader (`train.data.read_subject`) -> Frames on `device`;
    `max_frames`: only the split's first that many frames (None: all).

    Dataset errors (`train.data.DatasetError`) propagate unchanged: they name file and field.
    """
    from train.data import read_subject

    dc = cfg.data
    sub = read_subject(dc.root, videos, subsample, tuple(dc.img_res), tuple(dc.background), dc.n_exp,
                       progress=progress, mask_thresholds=tuple(dc.mask_thresholds), max_frames=max_frames)
    images = np.asarray(sub.images)
    masks = np.asarray(sub.masks)
    if masks.dtype != np.uint8:
        masks = np.clip(np.rint(masks.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    if images.shape[0] == 0:
        raise ValueError(f"{dc.root}: no frames in videos {videos}")
    f32 = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)  # noqa: E731
    names = None
    if getattr(sub, "video", None) is not None and getattr(sub, "frame", None) is not None:
        names = [f"{v}/{int(f)}" for v, f in zip(sub.video, sub.frame)]
    return Frames(
        images=torch.as_tensor(images, device=device),
        masks=torch.as_tensor(masks, device=device),
        K=f32(sub.K), c2w=f32(sub.c2w), expression=f32(sub.expression), pose=f32(sub.pose),
        mask_bbox=torch.tensor([_bbox(m) for m in masks], dtype=torch.long),
        background=f32(dc.background), shape_params=getattr(sub, "shape_params", None), names=names,
    )
