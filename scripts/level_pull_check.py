"""Which stage-1 loss term moves the hair's layers? A diagnosis of a stage-1 checkpoint.

Draws training batches as the trainer does (`train.trainer.sample_batch`, with the run's own
config), takes each weighted loss term's gradient on the manifold field's parameters, and prints
the first-order change of the manifold value s that a plain gradient step on that term alone
would make at points along the synthetic hair's scalp normal (the patch `hair_layer_check.py`
profiles), in units of s per unit step, for the local parameters (the manifold's dense grids)
and the global ones (its decoder, whose bias shifts s everywhere) apart. Positive = s rises there
= the levels move towards the scalp; negative = they move out. The trainer's Adam rescales each
parameter's step, so read the signs and the relative sizes, not the values.

    python scripts/level_pull_check.py --workdir runs/synthetic --batches 8
"""
from __future__ import annotations

import argparse

import torch

from train.losses import compute_losses
from train.model import build_flame, load_stage1
from train.render.frames import load_frames
from train.synth.render import SubjectRenderer
from train.trainer import regulariser_inputs, sample_batch

TERMS = ("rgb", "alpha", "level", "eikonal", "surface", "surface_inside", "normal_smooth", "outer_alpha")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", required=True, help="stage-1 run folder (with train/checkpoint.pt)")
    ap.add_argument("--batches", type=int, default=8, help="training batches to average over")
    ap.add_argument("--offsets", type=float, nargs="*", default=[0.0, 0.0225, 0.045, 0.0675, 0.09, 0.11],
                    help="offsets along the scalp normal (world units)")
    ap.add_argument("--level-sharpness", type=float, default=None,
                    help="evaluate the level loss with this sharpness instead of the run's")
    args = ap.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cfg, model = load_stage1(args.workdir, dev)
    tc = cfg.train
    if args.level_sharpness is not None:
        tc.level_sharpness = args.level_sharpness
    weights = {t: getattr(tc, f"w_{t}") for t in TERMS}  # as `compute_losses` weighs them
    frames = load_frames(cfg, cfg.data.train_videos, cfg.data.train_subsample, dev, progress=False)
    ids = torch.arange(frames.n)
    named = [(n, p) for n, p in model.manifold_field.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    groups = {"local": [not n.startswith("decoder") for n, _ in named], "global": [n.startswith("decoder") for n, _ in named]}
    grads = {t: [torch.zeros_like(p) for p in params] for t in TERMS}
    for b in range(args.batches):
        g = torch.Generator().manual_seed(1000 + b)
        batch = sample_batch(frames, ids, cfg, g, dev)
        extras = regulariser_inputs(model, batch, tc, g)
        out = model(batch["o"], batch["d"], batch["expression"], batch["pose"], jitter=batch["jitter"],
                    differentiable=True, extras=extras, background=frames.background)
        losses = compute_losses(out, batch["rgb"], batch["mask"], model.levels, tc)
        for t in TERMS:
            if weights[t] == 0 or not losses[t].requires_grad:
                continue
            gs = torch.autograd.grad(weights[t] * losses[t], params, retain_graph=True, allow_unused=True)
            for acc, gr in zip(grads[t], gs):
                if gr is not None:
                    acc += gr / args.batches

    sr = SubjectRenderer(build_flame(cfg, "cpu"), cfg.synth)
    sh = sr.shells
    inner = sh.edge > 0.5
    root, nrm = sr.x_o[sh.vertex_index][inner].to(dev), sh.normals[inner].to(dev)
    probes = torch.cat([root + t * nrm for t in args.offsets])

    def s_at() -> torch.Tensor:
        with torch.no_grad():
            return model.manifold_field(probes).reshape(len(args.offsets), -1)

    print(f"{args.workdir}: levels {float(model.levels[0]):+.3f} .. {float(model.levels[-1]):+.3f}, level sharpness "
          f"{tc.level_sharpness:g}; "
          f"{args.batches} batches of {tc.batch_images}x{tc.rays_per_image} rays; {root.shape[0]} scalp points")
    s0 = s_at()
    print("offset (world)      " + "  ".join(f"{t:+.4f}" for t in args.offsets))
    print("s median            " + "  ".join(f"{float(v):+.4f}" for v in s0.median(1).values))
    for group, member in groups.items():
        print(f"term (weight)       mean change of s per unit gradient step, {group} parameters (+ = levels move in)")
        for t in TERMS:
            gs = [gr if keep else torch.zeros_like(gr) for gr, keep in zip(grads[t], member)]
            scale = max(float(gr.abs().max()) for gr in gs)
            if scale == 0.0:
                print(f"{t:13s} ({weights[t]:g})   no gradient")
                continue
            eps = 1e-3 / scale
            with torch.no_grad():
                for p, gr in zip(params, gs):
                    p -= eps * gr
                minus = s_at()
                for p, gr in zip(params, gs):
                    p += 2 * eps * gr
                plus = s_at()
                for p, gr in zip(params, gs):
                    p -= eps * gr
            change = (minus - plus) / (2 * eps)  # s after a unit step against the gradient, minus before
            print(f"{t:13s} ({weights[t]:g})".ljust(20) + "  ".join(f"{float(v):+.1e}" for v in change.mean(1)))


if __name__ == "__main__":
    main()
