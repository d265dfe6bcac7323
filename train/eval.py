"""Stage-1 evaluation: `python -m train.eval -c configs/synthetic.yaml`.

Renders every frame of the test videos (or `--split train`) with the trained stage-1 model at
the dataset resolution, compares with the ground truth composited over the background, and
writes `<workdir>/eval/stage1_<split>/metrics.json` (per frame + mean PSNR, SSIM, mask IoU) and
side-by-side PNGs (ground truth | render | coverage).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from train.configlib import atomic_write_text
from train.metrics import mask_iou, psnr, ssim


def evaluate(cfg, split: str = "test", device=None, max_frames: int | None = None, write_images: bool = True,
             out_dir: Path | None = None) -> dict:
    """Evaluate the stage-1 checkpoint of `cfg.workdir` on a split; returns the metrics dict."""
    from train.model import load_stage1
    from train.render.frames import load_frames
    from train.render.preview import save_png, side_by_side
    from train.model import render_frames

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    _, model = load_stage1(cfg.workdir, device)
    videos = cfg.data.test_videos if split == "test" else cfg.data.train_videos
    sub = cfg.data.test_subsample if split == "test" else cfg.data.train_subsample
    frames = load_frames(cfg, videos, sub, device)
    n = frames.n if max_frames is None else min(frames.n, max_frames)
    out_dir = Path(out_dir) if out_dir else cfg.workpath / "eval" / f"stage1_{split}"
    per_frame = []
    t0 = time.time()
    for i in tqdm(range(n), desc=f"eval {split}", dynamic_ncols=True):
        out = render_frames(model, frames.K[i : i + 1], frames.c2w[i : i + 1], frames.expression[i : i + 1],
                            frames.pose[i : i + 1], frames.width, frames.height,
                            background=tuple(cfg.data.background))
        gt, mask = frames.target(i)
        pred, alpha = out["rgb"][0].clamp(0, 1).cpu(), out["alpha"][0].cpu()
        gt, mask = gt.cpu(), mask.cpu()
        name = frames.names[i] if frames.names else str(i)
        rec = {"frame": name, "psnr": psnr(pred, gt), "ssim": ssim(pred, gt), "mask_iou": mask_iou(alpha, mask)}
        per_frame.append(rec)
        if write_images:
            save_png(out_dir / "side_by_side" / f"{i:05d}.png", side_by_side(gt.numpy(), pred.numpy(), alpha.numpy()))
    secs = time.time() - t0
    summary = {
        "split": split, "frames": n, "resolution": [frames.height, frames.width],
        "psnr": float(np.mean([r["psnr"] for r in per_frame])) if per_frame else float("nan"),
        "ssim": float(np.mean([r["ssim"] for r in per_frame])) if per_frame else float("nan"),
        "mask_iou": float(np.mean([r["mask_iou"] for r in per_frame])) if per_frame else float("nan"),
        "seconds": secs, "seconds_per_frame": secs / max(n, 1), "per_frame": per_frame,
    }
    atomic_write_text(out_dir / "metrics.json", json.dumps(summary, indent=2))
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.eval", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--config", required=True, help="YAML config used for training")
    ap.add_argument("--split", choices=["test", "train"], default="test", help="which videos to render")
    ap.add_argument("--max-frames", type=int, default=None, help="evaluate only the first N frames")
    ap.add_argument("--no-images", action="store_true", help="skip the side-by-side PNGs")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config value (e.g. workdir=...)")
    ap.add_argument("more_overrides", nargs="*", metavar="KEY=VALUE", help="overrides, as positional arguments")
    args = ap.parse_args(argv)
    args.overrides = [*args.overrides, *args.more_overrides]
    from train.config import load_config
    from train.configlib import ConfigError

    try:
        cfg = load_config(args.config, args.overrides)
        res = evaluate(cfg, args.split, max_frames=args.max_frames, write_images=not args.no_images)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"stage-1 eval ({res['split']}, {res['frames']} frames at {res['resolution'][1]}x{res['resolution'][0]}): "
          f"PSNR {res['psnr']:.2f} dB, SSIM {res['ssim']:.4f}, mask IoU {res['mask_iou']:.4f} "
          f"({res['seconds_per_frame']:.2f} s/frame) -> {cfg.workpath / 'eval' / ('stage1_' + res['split'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
