"""Preview images: ground truth | render | coverage, written as PNG and logged to TensorBoard."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from train.conventions import srgb_to_uint8


def scaled_intrinsics(K: torch.Tensor, from_wh: tuple[int, int], to_wh: tuple[int, int]) -> torch.Tensor:
    """Pixel intrinsics (..., 3, 3) for a resized image (pixel-centre convention preserved)."""
    sx, sy = to_wh[0] / from_wh[0], to_wh[1] / from_wh[1]
    K = K.clone()
    K[..., 0, :] *= sx
    K[..., 1, :] *= sy
    return K


def save_png(path: Path, img: np.ndarray) -> None:
    """Atomic PNG write of a float [0,1] or uint8 image."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = img if img.dtype == np.uint8 else srgb_to_uint8(img)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    try:
        Image.fromarray(arr).save(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def side_by_side(gt: np.ndarray, pred: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 3) images (+ (H, W) coverage) -> one (H, W * n, 3) strip."""
    parts = [gt, pred]
    if alpha is not None:
        parts.append(np.repeat(alpha[..., None], 3, axis=-1))
    return np.concatenate(parts, axis=1)


@torch.no_grad()
def save_preview(model, frames, index: int, res: int, path: Path, accelerator=None, step: int = 0,
                 background=(1.0, 1.0, 1.0)) -> np.ndarray:
    from train.model import render_frames

    was_training = model.training
    model.eval()
    wh = (frames.width, frames.height)
    K = scaled_intrinsics(frames.K[index : index + 1], wh, (res, res))
    out = render_frames(model, K, frames.c2w[index : index + 1], frames.expression[index : index + 1],
                        frames.pose[index : index + 1], res, res, background=background)
    gt, _ = frames.target(index)
    gt = torch.nn.functional.interpolate(gt.permute(2, 0, 1)[None], size=(res, res), mode="area")[0].permute(1, 2, 0)
    strip = side_by_side(gt.cpu().numpy(), out["rgb"][0].cpu().numpy(), out["alpha"][0].cpu().numpy())
    save_png(path, strip)
    if accelerator is not None:
        try:
            tracker = accelerator.get_tracker("tensorboard", unwrap=True)
            tracker.add_image("preview/gt_render_alpha", np.clip(strip, 0, 1), step, dataformats="HWC")
        except Exception:  # trackers are optional (e.g. tensorboard missing)
            pass
    model.train(was_training)
    return strip
