"""Stage-1 evaluation: `python -m train.eval -c configs/synthetic.yaml`.

Renders every frame of the test videos (or `--split train`) with the trained stage-1 model at
the dataset resolution, compares with the ground truth composited over the background, and
writes `<workdir>/eval/stage1_<split>/metrics.json` (per frame + mean PSNR, SSIM, mask IoU) and
side-by-side PNGs (ground truth | render | coverage).

Diagnosis of generalisation (`--shading-condition`): the per-frame shading MLP normally sees the
frame's own jaw/eye pose and expression (`frame`). `train-range` clamps that input to the
per-dimension range of the training frames, `train-mean` replaces it by the training mean.
Geometry always uses the frame's own parameters, so comparing the three on the test video shows
how much of the error comes from the shading MLP extrapolating beyond the training data.
`--mean-bases` replaces the K radiance bases at every point by their mean, a colour that no longer
depends on normal, view or frame: where it scores higher than the full shading, the per-pixel
shading is what fails to generalise.
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

from train.configlib import add_override_args, atomic_write_text, overrides_of
from train.metrics import mask_iou, psnr, ssim

SHADING_CONDITIONS = ("frame", "train-range", "train-mean")


class ConditionedFrameMLP(torch.nn.Module):
    """Wraps the per-frame MLP, clamping its input to [lo, hi] or replacing it by `mean`."""

    def __init__(self, mlp: torch.nn.Module, mode: str, lo: torch.Tensor, hi: torch.Tensor, mean: torch.Tensor):
        super().__init__()
        if mode not in SHADING_CONDITIONS[1:]:
            raise ValueError(f"shading condition must be one of {SHADING_CONDITIONS[1:]}; got {mode!r}")
        self.mlp, self.mode = mlp, mode
        self.register_buffer("lo", lo)
        self.register_buffer("hi", hi)
        self.register_buffer("mean", mean)

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        if self.mode == "train-range":
            cond = torch.maximum(torch.minimum(cond, self.hi), self.lo)
        else:
            cond = self.mean.expand_as(cond)
        return self.mlp(cond)


class MeanBases(torch.nn.Module):
    """Wraps the radiance field: every basis is replaced by the mean of the K bases at the point."""

    def __init__(self, field: torch.nn.Module):
        super().__init__()
        self.field = field

    def forward(self, x: torch.Tensor):
        f_pos, bases, alpha = self.field(x)
        return f_pos, bases.mean(-2, keepdim=True).expand_as(bases), alpha


def condition_override(cfg, model, mode: str, device) -> None:
    """Install the `--shading-condition` wrapper on `model.frame_mlp` (statistics of the train
    split's tracked parameters; no images are read)."""
    from train.data.imavatar import read_flame_params, select_indices
    from train.shading import frame_condition

    dc = cfg.data
    sub = dc.train_subsample if isinstance(dc.train_subsample, int) else list(dc.train_subsample)
    expr, pose = [], []
    for video in dc.train_videos:
        fp = read_flame_params(Path(dc.root) / video, dc.n_exp)
        keep = select_indices([k - 1 for k in fp["k"]], sub)
        expr += [e for e, k in zip(fp["expression"], keep) if k]
        pose += [q for q, k in zip(fp["pose"], keep) if k]
    f32 = lambda a: torch.as_tensor(np.stack(a), dtype=torch.float32, device=device)  # noqa: E731
    cond = frame_condition(f32(expr), f32(pose), model.shading_spec.n_exp)
    model.frame_mlp = ConditionedFrameMLP(model.frame_mlp, mode, cond.amin(0), cond.amax(0), cond.mean(0))


def evaluate(cfg, split: str = "test", device=None, max_frames: int | None = None, write_images: bool = True,
             out_dir: Path | None = None, shading_condition: str = "frame", mean_bases: bool = False) -> dict:
    """Evaluate the stage-1 checkpoint of `cfg.workdir` on a split; returns the metrics dict.

    Results go to `<workdir>/eval/stage1_<split>` (`..._<shading_condition>` unless `frame`,
    then `..._mean-bases` with `mean_bases`)."""
    from train.model import load_stage1
    from train.render.frames import load_frames
    from train.render.preview import save_png, side_by_side
    from train.model import render_frames

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if shading_condition not in SHADING_CONDITIONS:
        raise ValueError(f"shading condition must be one of {SHADING_CONDITIONS}; got {shading_condition!r}")
    _, model = load_stage1(cfg.workdir, device)
    if shading_condition != "frame":
        condition_override(cfg, model, shading_condition, device)
    if mean_bases:
        model.radiance_field = MeanBases(model.radiance_field)
    videos = cfg.data.test_videos if split == "test" else cfg.data.train_videos
    sub = cfg.data.test_subsample if split == "test" else cfg.data.train_subsample
    frames = load_frames(cfg, videos, sub, device, max_frames=max_frames)
    n = frames.n if max_frames is None else min(frames.n, max_frames)
    suffix = ("" if shading_condition == "frame" else f"_{shading_condition}") + ("_mean-bases" if mean_bases else "")
    out_dir = Path(out_dir) if out_dir else cfg.workpath / "eval" / f"stage1_{split}{suffix}"
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
        "split": split, "shading_condition": shading_condition, "mean_bases": mean_bases, "frames": n, "resolution": [frames.height, frames.width],
        "psnr": float(np.mean([r["psnr"] for r in per_frame])) if per_frame else float("nan"),
        "ssim": float(np.mean([r["ssim"] for r in per_frame])) if per_frame else float("nan"),
        "mask_iou": float(np.mean([r["mask_iou"] for r in per_frame])) if per_frame else float("nan"),
        "seconds": secs, "seconds_per_frame": secs / max(n, 1), "per_frame": per_frame,
    }
    atomic_write_text(out_dir / "metrics.json", json.dumps(summary, indent=2))
    summary["out_dir"] = str(out_dir)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.eval", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--config", required=True, help="YAML config used for training")
    ap.add_argument("--split", choices=["test", "train"], default="test", help="which videos to render")
    ap.add_argument("--max-frames", type=int, default=None, help="evaluate only the first N frames")
    ap.add_argument("--no-images", action="store_true", help="skip the side-by-side PNGs")
    ap.add_argument("--shading-condition", choices=SHADING_CONDITIONS, default="frame",
                    help="per-frame MLP input: the frame's own (default), clamped to the training range, "
                         "or the training mean (diagnosis, see above)")
    ap.add_argument("--mean-bases", action="store_true",
                    help="colour = mean of the K bases at each point (no normal/view/frame shading; diagnosis)")
    add_override_args(ap, "workdir=runs/other")
    args = ap.parse_args(argv)
    if args.max_frames is not None and args.max_frames < 1:
        ap.error(f"--max-frames must be >= 1; got {args.max_frames}")
    args.overrides = overrides_of(args)
    from train.config import load_config
    from train.configlib import ConfigError

    try:
        cfg = load_config(args.config, args.overrides)
        res = evaluate(cfg, args.split, max_frames=args.max_frames, write_images=not args.no_images,
                       shading_condition=args.shading_condition, mean_bases=args.mean_bases)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cond = "" if res["shading_condition"] == "frame" else f", shading condition {res['shading_condition']}"
    cond += ", mean bases" if res["mean_bases"] else ""
    print(f"stage-1 eval ({res['split']}{cond}, {res['frames']} frames at {res['resolution'][1]}x{res['resolution'][0]}): "
          f"PSNR {res['psnr']:.2f} dB, SSIM {res['ssim']:.4f}, mask IoU {res['mask_iou']:.4f} "
          f"({res['seconds_per_frame']:.2f} s/frame) -> {res['out_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
