"""Test-split quality of stage 1, the baked and the fine-tuned avatar, side by side.

    python -m bake.eval -c configs/tiny.yaml [--max-frames N]

Renders every selected test frame with each available model (stage 1: `train.model.render_frames`;
baked/fine-tuned: `bake.baked_render`), compares with the ground truth composited over the data
background, and reports PSNR, SSIM and mask IoU. Writes `<workdir>/bake/eval.json` and
`<workdir>/bake/eval.png` (rows: ground truth, stage 1, baked, fine-tuned) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import default_collate

METRICS = ("psnr", "ssim", "mask_iou")


def _batched(ds, idx, batch):
    """Dataset items `idx`, `batch` at a time, collated (the fine-tune's evaluation batches the same way)."""
    for i in range(0, len(idx), batch):
        yield default_collate([ds[int(j)] for j in idx[i : i + batch]])


def evaluate(cfg, max_frames: int | None = None, batch: int = 4, progress: bool = True) -> dict:
    """Metrics per model: {'stage1'|'baked'|'finetuned': {psnr, ssim, mask_iou, frames, seconds}}."""
    from tqdm import tqdm

    from bake.baked_render import BakedAvatar, render_baked
    from bake.stage2 import BAKED_DIR, FINETUNED_DIR, bake_dir, resolve_device
    from export.artifact import load_artifact
    from train.data import ImavatarDataset
    from train.metrics import mask_iou, psnr, ssim

    device = resolve_device(cfg.bake.device)
    ds = ImavatarDataset.from_config(cfg.data, "test", progress=progress)
    n = len(ds) if max_frames is None else min(max_frames, len(ds))
    idx = np.linspace(0, len(ds) - 1, n).round().astype(int)
    H, W = (int(v) for v in cfg.data.img_res)
    bg = tuple(cfg.data.background)
    renderers = {}
    ckpt = Path(cfg.workdir) / "train" / "checkpoint.pt"
    if ckpt.is_file():
        from train.model import load_stage1, render_frames

        _, model = load_stage1(cfg.workdir, device)

        def stage1(b):
            out = render_frames(model, b["K"], b["c2w"], b["expression"], b["pose"], W, H, background=bg)
            return out["rgb"].cpu(), out["alpha"].cpu()

        renderers["stage1"] = stage1
    for name, sub in (("baked", BAKED_DIR), ("finetuned", FINETUNED_DIR)):
        folder = bake_dir(cfg) / sub
        if folder.is_dir():
            avatar = BakedAvatar(load_artifact(folder)).to(device).eval()

            def baked(b, avatar=avatar):
                with torch.no_grad():
                    rgba = render_baked(avatar, b["expression"], b["pose"], b["K"], b["w2c"], W, H, cfg.bake.raster_backend, bg)
                return rgba[..., :3].cpu(), rgba[..., 3].cpu()

            renderers[name] = baked
    if not renderers:
        raise FileNotFoundError(f"{cfg.workdir}: nothing to evaluate (no stage-1 checkpoint, no baked artifact)")
    results, previews = {}, {"gt": []}
    for name, fn in renderers.items():
        t0 = time.perf_counter()
        preds, alphas, gts, masks = [], [], [], []
        for b in tqdm(list(_batched(ds, idx, batch)), desc=f"eval {name}", disable=not progress):
            rgb, alpha = fn(b)
            preds.append(rgb.clamp(0, 1))
            alphas.append(alpha)
            gts.append(b["rgb"])
            masks.append(b["mask"])
        p, a, g, m = (torch.cat(x) for x in (preds, alphas, gts, masks))
        # metrics take (B, H, W, C) images; alpha and mask get an explicit channel axis
        results[name] = {"psnr": psnr(p, g), "ssim": ssim(p, g), "mask_iou": mask_iou(a[..., None], m[..., None]), "frames": int(n),
                         "seconds": time.perf_counter() - t0}
        previews[name] = p[:4].numpy()
        previews["gt"] = g[:4].numpy()
    out_dir = bake_dir(cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / ".eval.json.tmp"
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(out_dir / "eval.json")
    from bake.previews import png_bytes

    rows = [np.concatenate(list(previews[k]), 1) for k in ["gt", *renderers]]
    tmp = out_dir / ".eval.png.tmp"
    tmp.write_bytes(png_bytes(np.concatenate(rows, 0)))
    tmp.replace(out_dir / "eval.png")
    return results


def format_table(results: dict) -> str:
    lines = [f"{'model':<10} {'PSNR dB':>8} {'SSIM':>7} {'mask IoU':>9} {'frames':>7}"]
    for name, r in results.items():
        lines.append(f"{name:<10} {r['psnr']:>8.2f} {r['ssim']:>7.4f} {r['mask_iou']:>9.4f} {r['frames']:>7d}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bake.eval", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--config", required=True, help="YAML config")
    ap.add_argument("--max-frames", type=int, default=None, help="evaluate this many evenly spaced test frames")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="config override")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    from export.artifact import ArtifactError
    from train.config import load_config
    from train.configlib import ConfigError
    from train.data import DatasetError

    try:
        cfg = load_config(args.config, args.overrides)
        results = evaluate(cfg, args.max_frames, progress=not args.no_progress)
    except (ConfigError, ArtifactError, DatasetError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(results))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
