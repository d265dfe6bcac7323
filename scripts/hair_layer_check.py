"""Do the trained layers sit on the synthetic hair shells? A diagnosis of a stage-1 checkpoint.

For points on each of the synthetic subject's hair shells (uniform by area, original space, which
the scalp shares with the canonical space), prints the trained manifold value s there, its distance
to the nearest level (in s and, through |grad s|, in world units) and the radiance field's alpha
against the shell's exact alpha. Shells that the layers follow give s near one level with a spread
well under the level spacing. Last, per level: where it crosses the scalp normal and its alpha
there as rendered (the strands' alpha belongs on the levels at the shells).

    python scripts/hair_layer_check.py --workdir runs/synthetic
"""
from __future__ import annotations

import argparse

import torch

from train.model import build_flame, load_stage1
from train.synth.render import SubjectRenderer

from hair_alpha_fit import shell_samples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", required=True, help="stage-1 run folder (with train/checkpoint.pt)")
    ap.add_argument("--points", type=int, default=50000, help="points per shell")
    args = ap.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cfg, model = load_stage1(args.workdir, dev)
    sr = SubjectRenderer(build_flame(cfg, "cpu"), cfg.synth)
    levels = model.levels
    spacing = float(levels[1] - levels[0]) if levels.numel() > 1 else float("nan")
    print(f"{args.workdir}: {levels.numel()} levels {float(levels[0]):.4f} .. {float(levels[-1]):.4f} (spacing {spacing:.4f}); "
          f"shell offsets {[round(float(o), 4) for o in sr.shells.offsets]}")
    print("shell  s p5 / p50 / p95          |s - level| mean  world mean   |grad s|  alpha mean exact/model  alpha PSNR")
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for k in range(sr.shells.n_shells):
            p, a = shell_samples(sr, cfg.synth.hair_strands, args.points, k, g)
            p, a = p.to(dev), a.to(dev)
            s = model.manifold_field(p).reshape(-1)
            gn = model.manifold_field.gradient(p, cfg.model.fd_eps).norm(dim=-1).clamp_min(1e-6)
            gap = (s[:, None] - levels[None]).abs().amin(-1)
            alpha = model.radiance_field(p)[2].reshape(-1).float()
            q = torch.quantile(s, torch.tensor([0.05, 0.5, 0.95], device=dev))
            mse = (alpha - a).pow(2).mean()
            print(f"{k:5d}  {float(q[0]):+.4f} / {float(q[1]):+.4f} / {float(q[2]):+.4f}   {float(gap.mean()):.4f}"
                  f"            {float((gap / gn).mean()):.4f}       {float(gn.median()):.3f}     "
                  f"{float(a.mean()):.3f} / {float(alpha.mean()):.3f}        {float(-10 * torch.log10(mse)):.2f} dB")
        # where the levels lie along the scalp normal: s at offsets t over the scalp patch's vertices
        sh = sr.shells
        root, nrm = sr.x_o[sh.vertex_index].to(dev), sh.normals.to(dev)
        inner = sh.edge.to(dev) > 0.5  # away from the hairline fade
        ts = torch.cat([torch.linspace(-0.02, 0.14, 17), sh.offsets.float().cpu()]).unique()  # the shells' own offsets too
        prof = [model.manifold_field(root[inner] + float(t) * nrm[inner]).reshape(-1) for t in ts]
        print("offset along the scalp normal (world) -> s median [p10, p90] over the scalp patch")
        for t, v in zip(ts, prof):
            q = torch.quantile(v, torch.tensor([0.1, 0.5, 0.9], device=dev))
            mark = " <- shell" if bool((sh.offsets.cpu() - t).abs().lt(1e-6).any()) else ""
            print(f"  {float(t):+.3f}: {float(q[1]):+.4f}  [{float(q[0]):+.4f}, {float(q[2]):+.4f}]{mark}")
        level_alpha_profile(model, root[inner], nrm[inner], levels, sh.offsets.float())


def level_alpha_profile(model, root, nrm, levels, offsets, step: float = 0.001, reach: float = 0.14) -> None:
    """Per level: where it crosses the scalp normal (median offset) and the radiance alpha there
    (mean over the scalp patch's points; 0 where the level is not crossed within `reach`): the
    strands' alpha should sit on the levels at the shells, not on the levels between them."""
    ts = torch.arange(-0.01, reach + 1e-9, step, device=root.device)
    s = torch.stack([model.manifold_field(root + float(t) * nrm).reshape(-1) for t in ts], 1)  # (P, T)
    print("level  s        crossing offset p50 [p10, p90]   crossed   alpha mean there   nearest shell")
    for j, lv in enumerate(levels.tolist()):
        cross = (s[:, :-1] - lv) * (s[:, 1:] - lv) <= 0  # first crossing outwards
        has = cross.any(1)
        if not bool(has.any()):
            print(f"{j:5d}  {lv:+.4f}  not crossed within {reach} of the scalp")
            continue
        t = ts[cross.float().argmax(1)] + step * 0.5
        alpha = model.radiance(root + t[:, None] * nrm)[2].reshape(-1).float() * has.float()  # as rendered
        tq = torch.quantile(t[has], torch.tensor([0.1, 0.5, 0.9], device=t.device))
        near = float(offsets[(offsets - float(tq[1])).abs().argmin()])
        print(f"{j:5d}  {lv:+.4f}  {float(tq[1]):+.4f} [{float(tq[0]):+.4f}, {float(tq[2]):+.4f}]      "
              f"{float(has.float().mean()):.2f}      {float(alpha.mean()):.3f}              {near:.4f}")


if __name__ == "__main__":
    main()
