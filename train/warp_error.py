"""How far the deformation field puts the morphable model's own surface from where the model
itself puts it: `python -m train.warp_error -c configs/synthetic.yaml [--split test]`.

For every `--every`-th frame of the split, the canonical model vertices are warped with the
deformation field (expression basis, pose correctives, skinning weights read from its volume at
`model.deform_prior_res`, plus the learnt residual when a stage-1 checkpoint exists) and compared
with the morphable model's own posed vertices for the frame's expression and pose. Both are
projected with the frame's camera; the report is the distance in pixels (mean, 95th percentile,
maximum) over all vertices and per region (procedural head), written to
`<workdir>/eval/warp_error_<split>.json`.

Every layer of the avatar moves with this field, so the numbers are a floor on its geometric error
where the surfaces meet (lips, eyelids over the eyeballs, teeth).

`--inverse` also checks the other direction, the one rendering uses: the model's posed surface
is rasterised; each visible pixel's surface point is inverted to canonical space exactly as stage 1
inverts ray samples (nearest-vertex init, `model.newton_steps` Newton steps, `model.converge_tol`)
and compared with the canonical point it really came from. Reported per region: the share of
pixels whose root is more than `--wrong-root` (world units) off or did not converge, and the
median distance. Only frame parameters are read
(no images); without a checkpoint (or with `--prior-only`) the field is the untrained prior, the
morphable model's attributes sampled on the lattice.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch
from tqdm.auto import tqdm

from train.configlib import add_override_args, atomic_write_text, overrides_of


def _stats(x: torch.Tensor) -> dict:
    x = x.flatten().double()
    return {"n": int(x.numel()), "mean": float(x.mean()), "p95": float(torch.quantile(x, 0.95)), "max": float(x.max())}


def split_params(cfg, split: str) -> list[dict]:
    """Per-frame camera and model parameters of the split's videos (flame_params.json only)."""
    from pathlib import Path

    from train.conventions import intrinsics_from_normalized, w2c_from_world_mat
    from train.data.imavatar import read_flame_params

    H, W = cfg.data.img_res
    videos = cfg.data.train_videos if split == "train" else cfg.data.test_videos
    out = []
    for v in videos:
        p = read_flame_params(Path(cfg.data.root) / v, cfg.data.n_exp)
        K = intrinsics_from_normalized(p["intrinsics"], W, H)
        for i in range(len(p["k"])):
            out.append({"video": v, "k": p["k"][i], "K": K, "w2c": w2c_from_world_mat(p["world_mat"][i]),
                        "expression": p["expression"][i], "pose": p["pose"][i], "shape_params": p["shape_params"]})
    return out


def prior_model(cfg, device, train: list[dict] | None = None):
    """The untrained stage-1 model of the config (deformation = the morphable-model prior), with
    the canonical expression the trainer would pick (the mean over `train`, the training frames'
    `split_params`, read when not given)."""
    from train.model import AvatarModel, build_flame

    train = split_params(cfg, "train") if train is None else train
    expr = torch.as_tensor(np.stack([f["expression"] for f in train]), dtype=torch.float32).mean(0)
    flame = build_flame(cfg, device, shape_params=torch.as_tensor(train[0]["shape_params"], dtype=torch.float32))
    return AvatarModel(cfg, flame, expr.to(device), init_fields=False).eval()


@torch.no_grad()
def warp_error(model, frames: list[dict], progress: bool = True) -> dict:
    """Pixel distance between the field-warped and the model's own posed vertices (see module doc)."""
    from train.conventions import project
    from train.render.warp import forward_warp

    dev = model.canonical_vertices.device
    errs = []
    for f in tqdm(frames, desc="warp error", disable=not progress, dynamic_ncols=True):
        expr = torch.as_tensor(f["expression"], dtype=torch.float32, device=dev)[None]
        pose = torch.as_tensor(f["pose"], dtype=torch.float32, device=dev)[None]
        fs, _, _ = model.frame_state(expr, pose)
        x_d, *_ = forward_warp(model.deform_field, model.canonical_vertices[None], fs)
        ref = model.flame(expr, pose).vertices.float()
        K = torch.as_tensor(f["K"], dtype=torch.float32, device=dev)
        w2c = torch.as_tensor(f["w2c"], dtype=torch.float32, device=dev)
        errs.append((project(x_d[0], K, w2c) - project(ref[0], K, w2c)).norm(dim=-1).cpu())
    err = torch.stack(errs)  # (F, V)
    res = {"frames": len(frames), "vertices": int(err.shape[1]), "all": _stats(err), "regions": {}}
    regions, names = model.flame.vertex_regions, getattr(model.flame, "region_names", None)
    if regions is not None and names:
        for i, name in enumerate(names):
            sel = regions.cpu() == i
            if bool(sel.any()):
                res["regions"][name] = _stats(err[:, sel])
    return res


@torch.no_grad()
def inverse_error(model, frames: list[dict], wrong_root: float = 0.005, progress: bool = True) -> dict:
    """Inverse deformation of the visible posed surface against the true canonical points (see
    module doc). Rasterises at the cameras' image size (`frames[i]["size"]`, (H, W))."""
    from train.render.warp import invert
    from train.synth.render import layer_fragments

    mc, dev = model.cfg.model, model.canonical_vertices.device
    faces = model.flame.faces.to(dev)
    regions = getattr(model.flame, "vertex_regions", None)
    names = getattr(model.flame, "region_names", None)
    dist, ok, reg = [], [], []
    for f in tqdm(frames, desc="inverse warp", disable=not progress, dynamic_ncols=True):
        expr = torch.as_tensor(f["expression"], dtype=torch.float32, device=dev)[None]
        pose = torch.as_tensor(f["pose"], dtype=torch.float32, device=dev)[None]
        posed = model.flame(expr, pose).vertices.float()
        attr = torch.cat([posed, model.canonical_vertices[None]], -1)
        w2c = torch.as_tensor(f["w2c"], dtype=torch.float32, device=dev)
        _, tid, ip = layer_fragments(posed, faces, attr, f["K"], w2c, f["size"])
        if tid.numel() == 0:
            continue
        fs, _, _ = model.frame_state(expr, pose)
        x_c, valid, _ = invert(model.deform_field, model.manifold, ip[None, :, :3], fs, mc.newton_steps, mc.converge_tol)
        dist.append((x_c[0] - ip[:, 3:]).norm(dim=-1).cpu())
        ok.append(valid[0].cpu())
        if regions is not None:
            reg.append(regions.to(dev)[faces[tid.to(dev), 0].long()].cpu())  # the triangle's first vertex's region
    d, v = torch.cat(dist), torch.cat(ok)
    bad = (~v) | (d > wrong_root)

    def summary(sel: torch.Tensor) -> dict:
        return {"pixels": int(sel.sum()), "wrong_root": float(bad[sel].float().mean()),
                "unconverged": float((~v[sel]).float().mean()), "median": float(d[sel].median())}

    res = {"frames": len(frames), "wrong_root_threshold": wrong_root, "all": summary(torch.ones_like(v)), "regions": {}}
    if reg and names:
        r = torch.cat(reg)
        for i, name in enumerate(names):
            if bool((r == i).any()):
                res["regions"][name] = summary(r == i)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.warp_error", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--config", required=True, help="YAML config (the one used for training)")
    ap.add_argument("--split", choices=("train", "test"), default="test", help="frames to measure (default test)")
    ap.add_argument("--every", type=int, default=10, help="use every N-th frame of the split (default 10)")
    ap.add_argument("--prior-only", action="store_true",
                    help="measure the untrained prior even when a stage-1 checkpoint exists")
    ap.add_argument("--inverse", action="store_true",
                    help="also invert the visible posed surface to canonical space and count wrong roots")
    ap.add_argument("--wrong-root", type=float, default=0.005,
                    help="canonical distance (world units) from the true point that counts as a wrong root (default 0.005)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    add_override_args(ap, "model.deform_prior_res=128")
    args = ap.parse_args(argv)
    if args.every < 1:
        ap.error("--every must be >= 1")
    from train.config import load_config
    from train.configlib import ConfigError
    from train.data.imavatar import DatasetError
    from train.model import CHECKPOINT_NAME, load_stage1

    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        cfg = load_config(args.config, overrides_of(args))
        trained = not args.prior_only and (cfg.workpath / "train" / CHECKPOINT_NAME).is_file()
        frames = split_params(cfg, args.split)
        train = frames if args.split == "train" else None
        model = load_stage1(cfg.workdir, device)[1] if trained else prior_model(cfg, device, train)
        frames = frames[:: args.every]
    except (ConfigError, DatasetError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    res = warp_error(model, frames, progress=not args.quiet)
    detail = model.deform_field.detail
    res.update(split=args.split, every=args.every, field="trained" if trained else "prior",
               deform_prior_res=int(model.deform_field.prior_res),
               detail_box=None if detail is None else {"parts": list(model.cfg.model.deform_detail_parts),
                                                        "voxels": list(detail.shape[2:])})
    if args.inverse:
        H, W = cfg.data.img_res
        res["inverse"] = inverse_error(model, [dict(f, size=(H, W)) for f in frames], args.wrong_root, not args.quiet)
    out = cfg.workpath / "eval" / f"warp_error_{args.split}.json"
    atomic_write_text(out, json.dumps(res, indent=2))
    a = res["all"]
    box = res["detail_box"]
    box = "" if box is None else f" + {'/'.join(box['parts'])} box {'x'.join(map(str, box['voxels']))}"
    print(f"warp error, {res['field']} field at {res['deform_prior_res']}^3{box}, {args.split} ({res['frames']} frames, "
          f"{res['vertices']} vertices): mean {a['mean']:.3f} px, p95 {a['p95']:.3f}, max {a['max']:.2f}")
    for name, r in res["regions"].items():
        print(f"  {name:16s} {r['n'] // max(res['frames'], 1):6d} vertices: mean {r['mean']:6.3f}  p95 {r['p95']:6.3f}  max {r['max']:6.2f} px")
    inv = res.get("inverse")
    if inv:
        a = inv["all"]
        print(f"inverse warp of the visible surface ({a['pixels']} pixels): {a['wrong_root']:.1%} wrong roots "
              f"(> {inv['wrong_root_threshold']} off or not converged; {a['unconverged']:.1%} not converged), median {a['median']:.5f}")
        for name, r in inv["regions"].items():
            print(f"  {name:16s} {r['pixels']:8d} px: wrong roots {r['wrong_root']:6.1%}  not converged {r['unconverged']:6.1%}  "
                  f"median {r['median']:.5f}")
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
