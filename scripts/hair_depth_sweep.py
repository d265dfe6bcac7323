"""Can the training images alone say how far the hair stands off the scalp? A plane sweep.

Stage 1's translucent layers stop 0.02-0.045 units off the synthetic hair's shells (README, known
limits), where a strand is ~0.0025 wide. This asks whether multi-view photo-consistency could place
them: points are taken on the scalp patch (uniform by area); for every candidate offset d along the
scalp normal, the point x_o + d n_o is posed the way the scalp moves (its expression basis, pose
correctives and blended bone rotation, exactly as the synthetic shells are), projected into N
training frames (rendered here by the synthetic subject's own renderer) and the frames' colours
read there, in the frames where it lies in front of the head (rasterised head depth). The cost at
(point, d) is the variance of those colours; a point's profile is its cost over d divided by its
mean. Printed: the mean profile over points, the share of points whose best offset lies within
each shell's bin, and the same for the outermost-visible strand pixels only (points whose
outermost shell is opaque there). The shells' true offsets are printed beside.

    python scripts/hair_depth_sweep.py -c configs/synthetic.yaml --frames 40 --points 4000

`--general` runs the sweep the way a real subject would get it (`train.depth_sweep`): the dataset's
image files, the untrained stage-1 model's deformation prior, the whole canonical model surface,
visibility from the posed model's rasterised depth, profiles pooled over `--radius`; it reports the
detected layer offsets on the scalp against the shells, and how often the face (no hair) gets one.
`--pin` scores what `model.manifold_pin: sweep` pins (`train.depth_sweep.layer_pin`): the layers'
offsets against the shells and the share of each region's surface points it pins.
`--targets` scores what `train.w_layer_depth` would pull on (`train.depth_sweep.layer_depth_targets`
with the config's `train.layer_depth_*`): where the points lie and how far the scalp's are from a shell.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train.config import load_config  # noqa: E402
from train.conventions import project  # noqa: E402
from train.fields.prior import area_samples  # noqa: E402
from train.flame.lbs import blend_transforms  # noqa: E402
from train.model import build_flame  # noqa: E402
from train.synth import appearance as app  # noqa: E402
from train.synth.render import SubjectRenderer  # noqa: E402
from train.warp_error import split_params  # noqa: E402


def scalp_points(sr: SubjectRenderer, n: int, g: torch.Generator):
    """n points uniform by area on the scalp patch: (face ids, barycentrics (n, 3))."""
    f = sr.shells.faces.long()
    x = sr.x_o[sr.shells.vertex_index]
    t, u = area_samples(torch.linalg.cross(x[f[:, 1]] - x[f[:, 0]], x[f[:, 2]] - x[f[:, 0]], dim=-1).norm(dim=-1), n, g)
    return t, torch.stack([1 - u.sum(1), u[:, 0], u[:, 1]], 1)


def posed_candidates(sr, out, t, bary, offsets):
    """Posed positions (B, P, D, 3) of x_o + d n_o for the scalp points and offsets (D,)."""
    sh = sr.shells
    f = sh.faces.long()[t]  # (P, 3) patch-vertex ids
    vid = sh.vertex_index[f]  # (P, 3) model vertex ids
    w = bary[None, :, :, None]
    base = (w * out.vertices[:, vid]).sum(2)  # (B, P, 3) posed scalp point
    n_o = (bary[:, :, None] * sh.normals[f]).sum(1)
    n_o = n_o / n_o.norm(dim=1, keepdim=True)
    skin = (bary[:, :, None] * sr.skin_weights[vid]).sum(1)  # (P, Jb)
    R = blend_transforms(skin, out.transforms)[..., :3, :3]  # (B, P, 3, 3)
    dirs = (R @ n_o[None, :, :, None])[..., 0]  # (B, P, 3)
    return base[:, :, None] + offsets[None, None, :, None] * dirs[:, :, None]


def outer_alpha(sr, t, bary, cfg):
    """Exact alpha of each shell at the points (P, n_shells)."""
    sh = sr.shells
    f = sh.faces.long()[t]
    edge = (bary * sh.edge[f]).sum(1)
    cols = []
    for k in range(sh.n_shells):
        p = (bary[:, :, None] * sh.original(sr.x_o, k)[f]).sum(1)
        cols.append(app.hair_alpha(p, k, sh.n_shells, edge, sr.landmarks, sr.noise, cfg.synth.hair_strands))
    return torch.stack(cols, 1)


def general(cfg, args) -> int:
    """The library path (`train.depth_sweep`) on the subject's files; the shells only score it."""
    import dataclasses

    from tqdm.auto import tqdm

    from train.data import ImavatarDataset
    from train.depth_sweep import layer_offsets, pooled_profiles, surface_samples, sweep
    from train.warp_error import prior_model

    n_train = len(split_params(cfg, "train"))
    pick = np.unique(np.linspace(0, n_train - 1, min(args.frames, n_train)).round().astype(int)).tolist()
    ds = ImavatarDataset.from_config(dataclasses.replace(cfg.data, train_subsample=pick), "train", progress=False)
    frames = [ds[i] for i in range(len(ds))]
    model = prior_model(cfg, "cpu")
    g = torch.Generator().manual_seed(0)
    x_c, n_c, tri = surface_samples(model.canonical_vertices, model.flame.faces, args.points, g)
    offsets = torch.linspace(0.0, args.max_offset, args.steps)
    t0 = time.time()
    res = sweep(model, frames, x_c, n_c, offsets, progress=lambda it: tqdm(it, desc="sweep", leave=False))
    prof, keep = pooled_profiles(x_c, res, args.radius, args.min_views)
    found = layer_offsets(prof, offsets, args.layers, args.min_rise)
    flame = model.flame
    region = flame.vertex_regions[flame.faces[tri[keep], 0].long()]
    names = list(flame.region_names)
    true = [round(float(o), 4) for o in SubjectRenderer(build_flame(cfg, "cpu"), cfg.synth).shells.offsets]
    step = float(offsets[1] - offsets[0])
    print(f"{len(frames)} frames ({cfg.data.root}, {cfg.data.img_res[1]} px), {len(keep)}/{args.points} surface points seen "
          f"in >= {args.min_views} frames at every offset, pooled over {args.radius} ({time.time() - t0:.1f} s); "
          f"true shell offsets {true}")
    scalp = region == names.index("scalp")
    face = torch.isin(region, torch.tensor([names.index(n) for n in ("skin", "nose", "lips", "brows") if n in names]))
    for name, sel in (("scalp", scalp), ("face (skin, nose, lips, brows)", face)):
        f = found[sel]
        got = torch.isfinite(f) & (f > 2 * step)
        print(f"{name}: {int(sel.sum())} points; detected layers beyond {2 * step:.4f} per point: "
              f"{float(got.sum(1).float().mean()):.2f}")
        if name == "scalp":
            hit = [float(((f - o).abs() <= step * 1.01).any(1).float().mean()) for o in true]
            print(f"  share of scalp points with a detected layer within one step ({step:.4f}) of shell k: "
                  f"{[round(h, 3) for h in hit]}")
        vals = f[got]
        hist = torch.histc(vals, bins=args.steps, min=-step / 2, max=float(offsets[-1]) + step / 2) / max(1, vals.numel())
        print("  detected offsets (share of all detections >= 2%): " + "  ".join(
            f"{float(offsets[i]):.4f}:{float(hist[i]):.3f}" for i in range(args.steps) if hist[i] >= 0.02))
    return 0


def targets(cfg, args) -> int:
    """Score `layer_depth_targets` (what the stage-1 pull would use) against the synthetic shells."""
    from train.depth_sweep import layer_depth_targets
    from train.fields import nearest_vertex
    from train.render.frames import load_frames
    from train.warp_error import prior_model

    t0 = time.time()
    frames = load_frames(cfg, cfg.data.train_videos, cfg.data.train_subsample, "cpu", progress=False)
    model = prior_model(cfg, "cpu")
    tg = layer_depth_targets(model, frames, cfg.train)
    tc = cfg.train
    print(f"{tg.shape[0]} layer-depth points from {tc.layer_depth_points} surface points, {tc.layer_depth_frames} frames, "
          f"radius {tc.layer_depth_radius}, min rise {tc.layer_depth_min_rise}, offsets {list(tc.layer_depth_offsets)} "
          f"({time.time() - t0:.1f} s with loading)")
    fl = model.flame
    names = list(fl.region_names)
    _, im = nearest_vertex(tg, model.canonical_vertices)
    reg = fl.vertex_regions[im]
    print("by the nearest model vertex's region:", {n: int((reg == i).sum()) for i, n in enumerate(names) if int((reg == i).sum())})
    sr = SubjectRenderer(build_flame(cfg, "cpu"), cfg.synth)
    v = sr.x_o[sr.shells.vertex_index]
    _, idx = nearest_vertex(tg, v)
    off = ((tg - v[idx]) * sr.shells.normals[idx]).sum(1)[reg == names.index("scalp")]
    sh = sr.shells.offsets
    dist = (off[:, None] - sh[None]).abs().min(1).values
    near, far = tc.layer_depth_offsets
    print(f"scalp points: offset along the scalp normal within q of a shell {[round(float(x), 4) for x in sh]}: " + ", ".join(
        f"q={q}: {float((dist <= q).float().mean()):.3f} (uniform: {min(1.0, 2 * q * len(sh) / (far - near)):.3f})"
        for q in (0.00125, 0.0025, 0.005)))
    hist = torch.histc(off, bins=24, min=0.0, max=0.12)
    print("scalp points' offsets, 0.005 bins from 0:", [int(h) for h in hist])
    return 0


def pin(cfg, args) -> int:
    """Score `layer_pin` (what `model.manifold_pin: sweep` pins, the config's `train.layer_depth_*` and
    `train.layer_pin_*`): the layers' offsets against the shells and the pinned share of each region."""
    from train.depth_sweep import layer_pin
    from train.fields import nearest_vertex
    from train.render.frames import load_frames
    from train.warp_error import prior_model

    t0 = time.time()
    frames = load_frames(cfg, cfg.data.train_videos, cfg.data.train_subsample, "cpu", progress=False)
    model = prior_model(cfg, "cpu")
    got = layer_pin(model, frames, cfg.train)
    sh = SubjectRenderer(build_flame(cfg, "cpu"), cfg.synth).shells.offsets
    print(f"layer_pin: {got.offsets.numel()} layers at {[round(float(o), 4) for o in got.offsets]} (true shells "
          f"{[round(float(o), 4) for o in sh]}); {cfg.train.layer_depth_points} surface points, {cfg.train.layer_depth_frames} "
          f"frames at {cfg.data.img_res[1]} px ({time.time() - t0:.1f} s with loading)")
    names = list(model.flame.region_names)
    _, im = nearest_vertex(got.anchors, model.canonical_vertices)
    reg = model.flame.vertex_regions[im]
    print("region           points  weight > 0.5  mean weight")
    for i, n in enumerate(names):
        sel = reg == i
        if int(sel.sum()):
            w = got.weight[sel]
            print(f"{n:16s} {int(sel.sum()):6d}  {float((w > 0.5).float().mean()):12.3f}  {float(w.mean()):11.3f}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--config", default="configs/synthetic.yaml")
    ap.add_argument("--frames", type=int, default=40, help="training frames, spread evenly")
    ap.add_argument("--points", type=int, default=4000, help="scalp points")
    ap.add_argument("--max-offset", type=float, default=0.12)
    ap.add_argument("--steps", type=int, default=97, help="candidate offsets in [0, max-offset]")
    ap.add_argument("--min-views", type=int, default=8)
    ap.add_argument("--resolution", type=int, default=0, help="render at this many px (0: the config's)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override, e.g. synth.hair_thickness=0.06 (a control: the rises must follow the shells)")
    ap.add_argument("--general", action="store_true", help="the library path (train.depth_sweep) on the dataset's files")
    ap.add_argument("--targets", action="store_true", help="score train.depth_sweep.layer_depth_targets (the config's train.layer_depth_*)")
    ap.add_argument("--pin", action="store_true", help="score train.depth_sweep.layer_pin (model.manifold_pin sweep; the config's train.layer_*)")
    ap.add_argument("--radius", type=float, default=0.01, help="--general: pooling radius (world units)")
    ap.add_argument("--layers", type=int, default=4, help="--general: layers to detect per point")
    ap.add_argument("--min-rise", type=float, default=0.05, help="--general: smallest rise of a pooled profile that counts")
    args = ap.parse_args()
    torch.manual_seed(0)
    cfg = load_config(args.config, args.set + ([f"synth.resolution={args.resolution}"] if args.resolution else []))
    if args.general:
        return general(cfg, args)
    if args.targets:
        return targets(cfg, args)
    if args.pin:
        return pin(cfg, args)
    res = cfg.synth.resolution
    frames = split_params(cfg, "train")
    idx = np.unique(np.linspace(0, len(frames) - 1, min(args.frames, len(frames))).round().astype(int))
    frames = [frames[i] for i in idx]
    flame = build_flame(cfg, "cpu", shape_params=torch.as_tensor(frames[0]["shape_params"], dtype=torch.float32))
    sr = SubjectRenderer(flame, cfg.synth)
    g = torch.Generator().manual_seed(0)
    t, bary = scalp_points(sr, args.points, g)
    offsets = torch.linspace(0.0, args.max_offset, args.steps)
    true = [round(float(o), 4) for o in sr.shells.offsets]
    K_scale = res / cfg.data.img_res[1]
    t0 = time.time()
    s1 = torch.zeros(args.points, args.steps, 3, dtype=torch.float64)
    s2 = torch.zeros_like(s1)
    cnt = torch.zeros(args.points, args.steps, dtype=torch.float64)
    with torch.no_grad():
        for fr in frames:
            e = torch.as_tensor(fr["expression"], dtype=torch.float32)[None]
            p = torch.as_tensor(fr["pose"], dtype=torch.float32)[None]
            K = torch.as_tensor(np.asarray(fr["K"]), dtype=torch.float32).clone()
            K[:2] *= K_scale
            w2c = torch.as_tensor(np.asarray(fr["w2c"]), dtype=torch.float32)
            img = sr.render(e, p, K.numpy(), w2c.numpy())
            out = sr.model(e, p)
            x = posed_candidates(sr, out, t, bary, offsets)[0]  # (P, D, 3)
            uv = project(x.reshape(-1, 3), K, w2c).reshape(args.points, args.steps, 2)
            z = -(x @ w2c[2, :3] + w2c[2, 3])  # camera distance along the view axis (renderer's convention)
            grid = torch.stack([uv[..., 0] / res * 2 - 1, uv[..., 1] / res * 2 - 1], -1)[None]
            col = F.grid_sample(img.image.permute(0, 3, 1, 2), grid, align_corners=False)[0].permute(1, 2, 0)
            hz = F.grid_sample(img.depth[:, None], grid, mode="nearest", align_corners=False)[0, 0]
            inside = (uv >= 0).all(-1) & (uv < res).all(-1)
            vis = inside & ((hz <= 0) | (z < hz + 5e-3))  # on or in front of the head surface
            v = vis.double()[..., None]
            s1 += v * col.double()
            s2 += v * col.double() ** 2
            cnt += vis.double()
    ok = cnt >= args.min_views
    mean = s1 / cnt.clamp_min(1)[..., None]
    var = (s2 / cnt.clamp_min(1)[..., None] - mean**2).clamp_min(0).sum(-1)  # (P, D)
    good = ok.all(1)  # points seen enough at every offset
    prof = var[good] / var[good].mean(1, keepdim=True)
    best = offsets[prof.argmin(1)]
    print(f"{len(frames)} frames at {res} px, {int(good.sum())}/{args.points} scalp points seen in >= {args.min_views} "
          f"frames at every offset ({time.time() - t0:.1f} s); true shell offsets {true}")
    print("offset   mean profile   points best here")
    step = float(offsets[1] - offsets[0])
    hist = torch.histc(best, bins=args.steps, min=-step / 2, max=float(offsets[-1]) + step / 2)
    for i in range(0, args.steps, max(1, args.steps // 48)):
        mark = " <- shell" if any(abs(float(offsets[i]) - o) <= step / 2 for o in true) else ""
        print(f"{float(offsets[i]):.4f}   {float(prof[:, i].mean()):.3f}   {int(hist[i]):5d}{mark}")
    half = 0.5 * (true[1] - true[0]) if len(true) > 1 else 0.01
    near = [float(((best - o).abs() <= half / 2).float().mean()) for o in true]
    print("share of points whose best offset is within a quarter of the shell spacing of shell k:",
          [round(s, 3) for s in near], f"(uniform: {round(half / float(offsets[-1]), 3)} each)")
    # where a point's profile jumps up (the cost of standing just outside a layer of strands)
    jump = prof[:, 1:] - prof[:, :-1]  # (P', D-1): between offsets i and i+1
    top = jump.topk(len(true), dim=1).indices  # each point's len(true) largest rises
    at = offsets[top]  # the offset just before the rise
    jh = torch.histc(at.flatten(), bins=args.steps, min=-step / 2, max=float(offsets[-1]) + step / 2)
    print(f"each point's {len(true)} largest rises of its profile, by the offset just before the rise (share of all):")
    print("  " + "  ".join(f"{float(offsets[i]):.4f}:{float(jh[i]) / at.numel():.3f}" for i in range(args.steps) if jh[i] / at.numel() >= 0.02))
    hit = [float(((at - o).abs() <= step * 1.01).any(1).float().mean()) for o in true]
    print(f"share of points with one of those rises within one step ({step:.4f}) of shell k:", [round(h, 3) for h in hit],
          f"(at random: {round(1 - (1 - 3 / (args.steps - 1)) ** len(true), 3)})")
    a = outer_alpha(sr, t, bary, cfg)[good]
    for k, o in enumerate(true):
        sel = a[:, k] > 0.8
        if int(sel.sum()) >= 20:
            b = best[sel]
            print(f"points where shell {k} ({o}) is dense (alpha > 0.8, n={int(sel.sum())}): best offset median "
                  f"{float(b.median()):.4f}, within {half / 2:.4f} of it: {float(((b - o).abs() <= half / 2).float().mean()):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
