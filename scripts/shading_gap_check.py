"""Why do test frames score below training frames? A diagnosis of a stage-1 checkpoint.

Two tables:
1. per region and split (train, test): the mean signed error model - GT over RGB, the shares of
   pixels rendered darker / brighter than the ground truth by more than 0.05, and the PSNR -- a
   shading that answers new normals too dark or too bright shows as a signed bias on test frames;
2. the test frames' pixels of one region binned by how often the training frames saw their canonical
   point (opaque-layer hits of `--visibility-frames` training frames counted on a `--res`^3 lattice
   over the canonical cube): error that sits on rarely seen points is unseen surface, error on
   well-seen points is the model's answer to new conditions (normal, view, expression);
3. with --specular (the built-in synthetic subject only), per split, that region's pixels binned by
   the ground truth's specular highlight (the frame re-rendered without it, the difference): error
   that sits on the highlights is the shading's view-dependent part.

    python scripts/shading_gap_check.py --workdir runs/synthetic --frames 10 --visibility-frames 50 [--specular]
"""
from __future__ import annotations

import argparse
import copy
import dataclasses

import torch

from train.model import load_stage1, render_frames
from train.region_error import class_map
from train.render.frames import load_frames

BIN_EDGES = (0, 1, 10, 100, 1000, float("inf"))
SPEC_EDGES = (float("-inf"), 0.01, 0.05, 0.15, float("inf"))
REGIONS = ("skin", "nose", "neck", "lips", "scalp")


def render_opaque(model, frames, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Frame i -> rgb (P, 3), the opaque layer's canonical hit (P, 3) and whether it was hit (P,)."""
    r = render_frames(model, frames.K[i : i + 1], frames.c2w[i : i + 1], frames.expression[i : i + 1],
                      frames.pose[i : i + 1], frames.width, frames.height, opaque_hits=True)
    return r["rgb"].reshape(-1, 3), r["x_c0"].reshape(-1, 3), r["hit0"].reshape(-1)


def add_to_bins(acc: list[list], key: torch.Tensor, diff: torch.Tensor, edges: tuple[float, ...]) -> None:
    """Add each pixel's error (diff (P, 3), model - GT) to the bin of `edges` its key (P,) falls in;
    acc rows: [pixels, sum of the mean signed error, sum of the squared error]."""
    for b, (b0, b1) in enumerate(zip(edges[:-1], edges[1:])):
        m = (key >= b0) & (key < b1)
        acc[b][0] += int(m.sum())
        acc[b][1] += float(diff[m].mean(-1).sum())
        acc[b][2] += float(diff[m].pow(2).mean(-1).sum())


def specular_map(renderers, frames, i: int) -> torch.Tensor:
    """The ground truth's specular part (P,) of frame i, mean over RGB: the synthetic subject rendered
    with and without its highlights (`renderers`: both `SubjectRenderer`s), each over white as the loader
    composites the target (both re-rendered: the stored target is quantised to 8 bits)."""
    w2c = torch.linalg.inv(frames.c2w[i].cpu()).numpy()
    out = []
    for sr in renderers:
        f = sr.render(frames.expression[i : i + 1].cpu(), frames.pose[i : i + 1].cpu(), frames.K[i].cpu().numpy(), w2c)
        a = f.alpha[0, ..., None]
        out.append(f.straight[0] * a + (1.0 - a))
    return (out[0] - out[1]).mean(-1).reshape(-1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", required=True, help="stage-1 run folder (with train/config.yaml, train/checkpoint.pt)")
    ap.add_argument("--frames", type=int, default=10, help="first frames of each split to score")
    ap.add_argument("--visibility-frames", type=int, default=50, help="training frames (evenly spread) counted as seen")
    ap.add_argument("--res", type=int, default=64, help="lattice resolution of the visibility count")
    ap.add_argument("--region", default="skin", help="region whose test pixels are binned by visibility")
    ap.add_argument("--specular", action="store_true",
                    help="also bin the region's pixels by the ground truth's highlight (the built-in synthetic subject only)")
    args = ap.parse_args()
    if min(args.frames, args.visibility_frames, args.res) < 1:
        ap.error("--frames, --visibility-frames and --res must be >= 1")
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cfg, model = load_stage1(args.workdir, dev)
    flame = copy.deepcopy(model.flame).to("cpu")
    lo, hi = model.bbox()
    renderers = None
    if args.specular:
        if cfg.data.flame_model != "procedural":
            ap.error(f"--specular re-renders the built-in synthetic subject; {args.workdir} was trained on "
                     f"data.flame_model {cfg.data.flame_model!r}")
        from train.synth.render import SubjectRenderer

        scfg = dataclasses.replace(cfg.synth, resolution=int(cfg.data.img_res[0]))
        renderers = [SubjectRenderer(flame, scfg), SubjectRenderer(flame, dataclasses.replace(scfg, specular=0.0))]

    def voxel(x: torch.Tensor) -> torch.Tensor:
        return ((x - lo) / (hi - lo) * args.res).long().clamp(0, args.res - 1)

    train_all = load_frames(cfg, cfg.data.train_videos, cfg.data.train_subsample, dev, progress=False)
    test = load_frames(cfg, cfg.data.test_videos, cfg.data.test_subsample, dev, progress=False, max_frames=args.frames)
    count = torch.zeros((args.res,) * 3, device=dev)
    step = max(1, train_all.n // args.visibility_frames)
    for i in range(0, train_all.n, step):
        _, x, h = render_opaque(model, train_all, i)
        v = voxel(x[h])
        count.index_put_((v[:, 0], v[:, 1], v[:, 2]), torch.ones(v.shape[0], device=dev), accumulate=True)
    print(f"{args.workdir}: visibility from {len(range(0, train_all.n, step))} training frames on a {args.res}^3 lattice")
    print("split  region      pixels  mean(model-GT)  darker>0.05  brighter>0.05   PSNR")
    bins = [[0, 0.0, 0.0] for _ in BIN_EDGES[:-1]]
    spec_rows = []
    for split, frames in (("train", train_all), ("test", test)):  # the first --frames of each split
        acc: dict[str, list[float]] = {}
        spec_acc = [[0, 0.0, 0.0] for _ in SPEC_EDGES[:-1]]  # pixels, sum of signed error, sum of squared error
        for i in range(min(args.frames, frames.n)):
            gt, _ = frames.target(i)
            cls, names = class_map(flame, frames.K[i].cpu(), frames.c2w[i].cpu(), frames.expression[i].cpu(),
                                   frames.pose[i].cpu(), frames.height, frames.width, 2)
            rgb, x, h = render_opaque(model, frames, i)
            diff = (rgb - gt.reshape(-1, 3).to(rgb)).cpu()
            cls = cls.reshape(-1)
            for name in REGIONS:
                if name not in names:
                    continue
                sel = cls == names.index(name)
                d = diff[sel].mean(-1)
                a = acc.setdefault(name, [0, 0.0, 0, 0, 0.0])
                a[0] += int(sel.sum())
                a[1] += float(d.sum())
                a[2] += int((d < -0.05).sum())
                a[3] += int((d > 0.05).sum())
                a[4] += float(diff[sel].pow(2).mean(-1).sum())
            if renderers is not None and args.region in names:
                sel = cls == names.index(args.region)
                add_to_bins(spec_acc, specular_map(renderers, frames, i)[sel], diff[sel], SPEC_EDGES)
            if split == "test" and args.region in names:
                sel = (cls == names.index(args.region)).to(h.device) & h
                v = voxel(x[sel])
                add_to_bins(bins, count[v[:, 0], v[:, 1], v[:, 2]].cpu(), diff[sel.cpu()], BIN_EDGES)
        for name, (n, s, dk, br, se) in acc.items():
            if n:
                psnr = -10.0 * torch.log10(torch.tensor(max(se / n, 1e-12)))
                print(f"{split:6s} {name:10s} {n:7d}      {s / n:+.4f}        {dk / n:.3f}        {br / n:.3f}     {float(psnr):6.2f}")
        spec_rows.append((split, spec_acc))
    n_all, e_all = sum(b[0] for b in bins), sum(b[2] for b in bins)
    print(f"test '{args.region}' pixels by training visibility of their canonical point (opaque hits per voxel)")
    print("seen          pixels  px share  err share   PSNR")
    for (b0, b1), (n, _, s) in zip(zip(BIN_EDGES[:-1], BIN_EDGES[1:]), bins):
        psnr = f"{float(-10.0 * torch.log10(torch.tensor(max(s / n, 1e-12)))):6.2f}" if n else "     -"
        print(f"{b0:>5g}-{b1:<6g} {n:7d}   {n / max(n_all, 1):.3f}     {s / max(e_all, 1e-12):.3f}    {psnr}")
    if renderers is not None:
        print(f"'{args.region}' pixels by the ground truth's specular highlight (mean over RGB)")
        print("split  highlight     pixels  px share  mean(model-GT)  err share")
        for split, rows in spec_rows:
            n_all, e_all = sum(r[0] for r in rows), sum(r[2] for r in rows)
            for (b0, b1), (n, sd, se) in zip(zip(SPEC_EDGES[:-1], SPEC_EDGES[1:]), rows):
                mean = f"{sd / n:+.4f}" if n else "      -"
                print(f"{split:6s} {b0:>5g}-{b1:<6g} {n:7d}   {n / max(n_all, 1):.3f}      {mean}       {se / max(e_all, 1e-12):.3f}")


if __name__ == "__main__":
    main()
