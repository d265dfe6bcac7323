"""How well the trained opaque layer's normals match the morphable model's surface:
`python -m train.normal_error -c configs/synthetic.yaml`.

For every canonical model vertex v with outward normal n_v, the opaque level (s = levels[0]) is
found along v + t n_v (t in [-0.05, 0.1], the outermost crossing from inside to outside); there
the manifold normal (what the per-pixel shading reads) is compared with n_v. Reports the angle
(median, 75th and 90th percentile, degrees) over all vertices and per region (procedural head),
the layer's offset t along n_v, and writes `<workdir>/eval/normal_error.json`.

On the synthetic subject the morphable model *is* the surface, so the angle is the normal error;
on real data the model is a fit, and the numbers bound how far the layer departs from it.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from train.configlib import add_override_args, atomic_write_text, overrides_of

SEARCH = (-0.05, 0.1, 61)


def _stats(x: torch.Tensor) -> dict:
    q = torch.quantile(x, torch.tensor([0.5, 0.75, 0.9], device=x.device)).tolist()
    return {"n": int(x.numel()), "median": q[0], "p75": q[1], "p90": q[2]}


@torch.no_grad()
def normal_error(model) -> dict:
    """Angle statistics (degrees) of the opaque level's normals against the model's vertex normals."""
    from train.fields import vertex_normals

    v = model.canonical_vertices
    ref = vertex_normals(v, model.flame.faces.long())
    t = torch.linspace(*SEARCH, device=v.device)
    s = model.manifold(v[:, None] + t[None, :, None] * ref[:, None]) - model.levels[0]  # (V, T)
    cross = (s[:, :-1] < 0) & (s[:, 1:] >= 0)
    found = cross.any(1)
    j = (cross.float() * torch.arange(1, t.numel(), device=v.device)).argmax(1)
    rows = torch.arange(v.shape[0], device=v.device)
    s0, s1 = s[rows, j], s[rows, j + 1]
    off = t[j] + (t[1] - t[0]) * (-s0 / (s1 - s0).clamp_min(1e-12))
    n = model.manifold_normal(v + off[:, None] * ref)
    ang = torch.rad2deg(torch.acos((n * ref).sum(-1).clamp(-1.0, 1.0)))
    res = {"vertices": int(v.shape[0]), "found": float(found.float().mean()),
           "offset_median": float(off[found].median()) if bool(found.any()) else float("nan"),
           "all": _stats(ang[found]) if bool(found.any()) else None, "regions": {}}
    regions, names = model.flame.vertex_regions, getattr(model.flame, "region_names", None)
    if regions is not None and names:
        for i, name in enumerate(names):
            sel = found & (regions.to(v.device) == i)
            if bool(sel.any()):
                res["regions"][name] = _stats(ang[sel])
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.normal_error", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--config", required=True, help="YAML config used for training")
    add_override_args(ap, "workdir=runs/other")
    args = ap.parse_args(argv)
    from train.config import load_config
    from train.configlib import ConfigError
    from train.model import load_stage1

    try:
        cfg = load_config(args.config, overrides_of(args))
        _, model = load_stage1(cfg.workdir, "cuda" if torch.cuda.is_available() else "cpu")
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    res = normal_error(model)
    out = cfg.workpath / "eval" / "normal_error.json"
    atomic_write_text(out, json.dumps(res, indent=2))
    a = res["all"]
    print(f"opaque-layer normals vs the morphable model ({res['found']:.1%} of {res['vertices']} vertices found, "
          f"layer offset median {res['offset_median']:.4f}): " + (
              f"median {a['median']:.1f}, p75 {a['p75']:.1f}, p90 {a['p90']:.1f} deg" if a else "no crossing"))
    for name, r in res["regions"].items():
        print(f"  {name:16s} {r['n']:6d} vertices: median {r['median']:5.1f}, p90 {r['p90']:5.1f} deg")
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
