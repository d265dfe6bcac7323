"""How the level loss sees the hair fringe: per distance bin outside the morphable model (the
pixels beyond the scalp, as in `train.region_error`'s fringe profile), the share of pixels that
count as covered for the outermost level (soft mask above its threshold), raw and through a k x k
local maximum of the mask (the gaps between strands counted as hair). A share under one half
would mean the per-pixel "not covered" votes outnumber the "covered" ones there.

    python scripts/hair_cover_check.py -c configs/synthetic.yaml --max-frames 8 --windows 5 9 15
"""
from __future__ import annotations

import argparse

import torch

from train.config import load_config
from train.configlib import add_override_args, overrides_of
from train.losses import level_thresholds
from train.model import build_flame
from train.region_error import FRINGE_PX, OUTSIDE, class_map, fringe_geometry
from train.render.frames import load_frames


def local_max(masks: torch.Tensor, window: int) -> torch.Tensor:
    """uint8 masks (N, H, W) -> their maximum over `window` x `window` pixels, float in [0, 1]."""
    m = masks[:, None].float() / 255.0
    return torch.nn.functional.max_pool2d(m, window, stride=1, padding=window // 2)[:, 0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--config", required=True)
    ap.add_argument("--split", choices=("train", "test"), default="train")
    ap.add_argument("--max-frames", type=int, default=8)
    ap.add_argument("--windows", type=int, nargs="*", default=[5, 9, 15], help="odd local-maximum windows (px)")
    add_override_args(ap)
    args = ap.parse_args()
    if any(k < 1 or k % 2 == 0 for k in args.windows):
        ap.error(f"--windows must be odd and >= 1; got {args.windows}")
    cfg = load_config(args.config, overrides_of(args))
    videos = cfg.data.test_videos if args.split == "test" else cfg.data.train_videos
    frames = load_frames(cfg, videos, 1, "cpu", progress=False, max_frames=args.max_frames)
    n = min(frames.n, args.max_frames)
    flame = build_flame(cfg, "cpu", shape_params=torch.as_tensor(frames.shape_params, dtype=torch.float32)
                        if frames.shape_params is not None else None)
    thresholds = level_thresholds(cfg.model.n_levels)
    thr = float(thresholds[-1])
    masks = frames.masks[:n]
    covers = {k: local_max(masks, k) for k in args.windows}
    m = masks.float() / 255.0
    maps = [class_map(flame, frames.K[i], frames.c2w[i], frames.expression[i], frames.pose[i], frames.height,
                      frames.width, 2) for i in range(n)]
    names = maps[0][1]
    if "scalp" not in names:
        raise SystemExit("hair_cover_check needs a morphable model with a 'scalp' region (the procedural head)")
    cls = torch.stack([c for c, _ in maps])
    dist, beyond = fringe_geometry(cls, names)
    beyond = beyond & (cls == names.index(OUTSIDE))
    rows = {}  # (lo, hi) px -> (soft mask, {window: local maximum}) of the bin's pixels
    edges = list(FRINGE_PX[:5])
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = beyond & (dist > lo) & (dist <= hi)
        if bool(sel.any()):
            rows[(lo, hi)] = (m[sel], {k: c[sel] for k, c in covers.items()})
    print(f"{args.split}, {n} frames, {frames.height} px; outermost level threshold {thr:.3f}")
    head = "px off model   pixels   mask mean  mask=0   covered raw  " + "  ".join(f"k={k:<3d}" for k in args.windows)
    print(head)
    for (lo, hi), (raw, local) in rows.items():
        cov = [float((local[k] > thr).float().mean()) for k in args.windows]
        print(f"{lo:>4.0f}-{hi:<4.0f}     {raw.numel():7d}   {float(raw.mean()):.3f}      {float((raw < 1 / 255).float().mean()):.3f}"
              f"    {float((raw > thr).float().mean()):.3f}        " + "  ".join(f"{c:.3f}" for c in cov))
    print("covered share per level (raw mask), inner -> outer; thresholds " + " ".join(f"{float(t):.2f}" for t in thresholds))
    for (lo, hi), (raw, _) in rows.items():
        print(f"{lo:>4.0f}-{hi:<4.0f}     " + "  ".join(f"{float((raw > t).float().mean()):.3f}" for t in thresholds))


if __name__ == "__main__":
    main()
