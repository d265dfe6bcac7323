"""Where does the opaque layer lie against the morphable model's own surface, region by region?
A diagnosis of a stage-1 checkpoint.

For the canonical model's vertices of each region (the procedural head names skin, lips, eyes,
teeth, mouth interior, ...), all of them and the front-facing ones (canonical normal z above
`--front`, the side the cameras see), prints the trained manifold value s there and the distance
to the innermost (opaque) level in world units, (s - level) / |grad s|: negative = the vertex lies
inside the opaque layer, which then stands in front of it (a sheet across the open mouth in front
of the teeth shows as a large negative offset for the teeth), plus the radiance field's alpha.

    python scripts/region_level_check.py --workdir runs/synthetic
"""
from __future__ import annotations

import argparse

import torch

from train.fields import vertex_normals
from train.model import load_stage1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", required=True, help="stage-1 run folder (with train/checkpoint.pt)")
    ap.add_argument("--front", type=float, default=0.6, help="front-facing: canonical normal z above this")
    args = ap.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cfg, model = load_stage1(args.workdir, dev)
    regions, names = model.flame.vertex_regions, getattr(model.flame, "region_names", None)
    if regions is None or not names:
        raise SystemExit("region_level_check needs a morphable model with vertex regions (the procedural head)")
    v = model.canonical_vertices
    front = vertex_normals(v, model.flame.faces.long())[:, 2] > args.front
    with torch.no_grad():
        s = model.manifold_field(v).reshape(-1)
        gn = model.manifold_field.gradient(v, cfg.model.fd_eps).norm(dim=-1).clamp_min(1e-6)
        alpha = model.radiance_field(v)[2].reshape(-1).float()
    off = (s - model.levels[0]) / gn
    q = torch.tensor([0.1, 0.5, 0.9], device=dev)
    print(f"{args.workdir}: innermost level {float(model.levels[0]):+.4f}; offset = (s - level) / |grad s| "
          "in world units, negative = inside the opaque layer")
    for title, keep in (("all vertices", torch.ones_like(front)), (f"front-facing (normal z > {args.front})", front)):
        print(title)
        print("region           vertices   s p10 / p50 / p90            offset median  |offset| p90  alpha median")
        for i, name in enumerate(names):
            sel = (regions.to(dev) == i) & keep
            if not bool(sel.any()):
                continue
            sq = torch.quantile(s[sel], q)
            print(f"{name:15s}  {int(sel.sum()):8d}   {float(sq[0]):+.4f} / {float(sq[1]):+.4f} / {float(sq[2]):+.4f}"
                  f"      {float(off[sel].median()):+.4f}        {float(off[sel].abs().quantile(0.9)):.4f}        "
                  f"{float(alpha[sel].median()):.3f}")


if __name__ == "__main__":
    main()
