"""Does a stage-1 checkpoint read each pixel's texture from the same canonical point in every frame?
A diagnosis of texture registration.

For a frame, the morphable model's own posed surface is rasterised; each visible pixel's true
canonical point x_t is its triangle's canonical vertices (`model.canonical_vertices`) interpolated
at the pixel. The checkpoint renders the same frame and gives its opaque layer's canonical hit x_c.
Their offset x_c - x_t may be anything the training made self-consistent (a layer a little off the
mesh shifts the texture with it); what costs test quality is an offset that changes from frame to
frame. So the offsets of `--ref-frames` training frames are averaged per voxel of a `--res`^3
lattice (over x_t), and the report is, per region and split, each scored pixel's offset from its
voxel's training mean (in pixels: canonical units times the focal length over the pixel's depth),
on `--frames` training frames between the reference frames and `--frames` test frames. A test
residual well above the training one is texture read from the wrong place (geometry or warp) on
new motion, not shading. Also the raw offset |x_c - x_t|, its component along the model's canonical
normal at x_t (p10 / median / p90 in pixels: negative = the hit lies behind the true surface, e.g.
a ray that passes through the teeth to the mouth interior; positive = in front of it, e.g. a sheet
across the mouth) and the share of pixels without an opaque hit.

A second table per split: the share of the scored frames' squared error on pixels the model covers
where the ground truth has nothing (alpha > 0.5, mask < 0.01: `spurious`) and the reverse
(`missing`), and per region the share of opaque hits whose canonical point lies deeper than
`--deep` (world units) inside the canonical model's outer shell (its largest connected component:
without eyeballs and teeth, whose own insides would read as outside; a root of the inverse warp far
from any surface the model has; `outside` = pixels beyond the model's silhouette).

    python scripts/correspondence_check.py --workdir runs/synthetic --frames 6 --ref-frames 24
"""
from __future__ import annotations

import argparse
import copy
import math

import torch
from tqdm.auto import tqdm

from train.fields.mesh_distance import mesh_signed_distance
from train.fields.prior import vertex_normals
from train.model import load_stage1, render_frames
from train.region_error import class_map
from train.render.frames import load_frames
from train.synth.render import layer_fragments

REGIONS = ("skin", "nose", "neck", "lips", "scalp", "eyes", "brows", "teeth", "mouth_interior")


def true_canonical(flame, canonical_vertices: torch.Tensor, canonical_normals: torch.Tensor, frames,
                   i: int) -> tuple[torch.Tensor, ...]:
    """Frame i -> flat pixel ids (P,), the true canonical point (P, 3), camera distance (P,) and
    canonical unit normal (P, 3, from the vertices' `canonical_normals`) of the morphable model's
    visible surface."""
    verts = flame(frames.expression[i : i + 1].cpu().float(), frames.pose[i : i + 1].cpu().float()).vertices.float()
    w2c = torch.linalg.inv(frames.c2w[i].cpu().float())
    attr = torch.cat([canonical_vertices.cpu()[None].float(), verts, canonical_normals.cpu()[None].float()], -1)
    pix, _, ip = layer_fragments(verts, flame.faces.to(torch.int32).cpu(), attr, frames.K[i].cpu().numpy(), w2c,
                                 (frames.height, frames.width))
    z = -(ip[:, 3:6] @ w2c[2, :3] + w2c[2, 3])
    return pix, ip[:, :3], z, torch.nn.functional.normalize(ip[:, 6:9], dim=-1)


def outer_shell(verts: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mesh's largest connected component (by vertices) as its own (verts, faces)."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    f = faces.long().cpu().numpy()
    n = verts.shape[0]
    i, j = f.reshape(-1), np.roll(f, 1, axis=1).reshape(-1)
    _, label = connected_components(coo_matrix((np.ones(i.size), (i, j)), shape=(n, n)), directed=False)
    keep = f[label[f[:, 0]] == np.bincount(label).argmax()]
    used = np.unique(keep)
    remap = np.full(n, -1)
    remap[used] = np.arange(used.size)
    return verts[torch.as_tensor(used, device=verts.device)], torch.as_tensor(remap[keep], device=verts.device)


def offsets(model, flame, frames, i: int, canonical_normals: torch.Tensor):
    """Frame i's visible model pixels: flat ids (P,), x_t (P, 3), offset x_c - x_t (P, 3), pixels per
    canonical unit (P,), opaque hit (P,), the canonical normal at x_t (P, 3); and the whole render
    (`render_frames` with opaque hits)."""
    pix, xt, z, nt = true_canonical(flame, model.canonical_vertices, canonical_normals, frames, i)
    r = render_frames(model, frames.K[i : i + 1], frames.c2w[i : i + 1], frames.expression[i : i + 1],
                      frames.pose[i : i + 1], frames.width, frames.height, opaque_hits=True)
    xc, hit = r["x_c0"].reshape(-1, 3).cpu()[pix], r["hit0"].reshape(-1).cpu()[pix]
    return pix, xt, xc - xt, float(frames.K[i][0, 0].abs()) / z, hit, nt, r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", required=True, help="stage-1 run folder (with train/config.yaml, train/checkpoint.pt)")
    ap.add_argument("--frames", type=int, default=6, help="frames of each split to score, spread over the video")
    ap.add_argument("--ref-frames", type=int, default=24, help="training frames whose offsets make the reference")
    ap.add_argument("--res", type=int, default=64, help="lattice resolution of the reference offsets")
    ap.add_argument("--deep", type=float, default=0.03, help="depth (world units) inside the canonical outer shell counted as deep")
    args = ap.parse_args()
    if min(args.frames, args.ref_frames, args.res) < 1:
        ap.error("--frames, --ref-frames and --res must be >= 1")
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cfg, model = load_stage1(args.workdir, dev)
    flame = copy.deepcopy(model.flame).to("cpu")
    lo, hi = (t.cpu() for t in model.bbox())

    def voxel(x: torch.Tensor) -> torch.Tensor:
        v = ((x - lo) / (hi - lo) * args.res).long().clamp(0, args.res - 1)
        return (v[:, 0] * args.res + v[:, 1]) * args.res + v[:, 2]

    train = load_frames(cfg, cfg.data.train_videos, cfg.data.train_subsample, dev, progress=False)
    test = load_frames(cfg, cfg.data.test_videos, cfg.data.test_subsample, dev, progress=False)
    step = train.n / args.ref_frames
    ref = [int(step * k) for k in range(args.ref_frames)]
    scored_train = [int(step * (k + 0.5)) for k in torch.linspace(0, args.ref_frames - 1, args.frames).round().long().tolist()]
    scored_test = torch.linspace(0, test.n - 1, args.frames).round().long().unique().tolist()
    normals = vertex_normals(model.canonical_vertices.float(), model.flame.faces.long())
    total = torch.zeros(args.res ** 3, 3)
    count = torch.zeros(args.res ** 3)
    for i in tqdm(ref, desc="reference offsets", leave=False):
        _, xt, off, _, hit, _, _ = offsets(model, flame, train, i, normals)
        v = voxel(xt[hit])
        total.index_add_(0, v, off[hit])
        count.index_add_(0, v, torch.ones(v.shape[0]))
    mean = total / count.clamp_min(1)[:, None]
    print(f"{args.workdir}: the opaque hit's canonical offset from the model's own surface; reference: "
          f"{len(ref)} training frames on a {args.res}^3 lattice; scored: {args.frames} frames a split")
    print("split  region     pixels   no-hit  no-ref   |offset| px mean   residual px mean  median   p90"
          "   along normal px p10 / p50 / p90")
    shell_v, shell_f = outer_shell(model.canonical_vertices, model.flame.faces)
    shell_n = vertex_normals(shell_v, shell_f)
    cover_rows = []
    for split, frames, idx in (("train", train, scored_train), ("test", test, scored_test)):
        acc: dict[str, list] = {}
        cover = {"err": 0.0, "spurious": 0.0, "missing": 0.0, "n": 0, "n_spurious": 0}
        deep: dict[str, list[int]] = {}
        for i in tqdm(idx, desc=f"scoring {split}", leave=False):
            pix, xt, off, px, hit, nt, r = offsets(model, flame, frames, i, normals)
            cls, names = class_map(flame, frames.K[i].cpu(), frames.c2w[i].cpu(), frames.expression[i].cpu(),
                                   frames.pose[i].cpu(), frames.height, frames.width, 2)
            gt, mask = frames.target(i)
            err = (r["rgb"][0].reshape(-1, 3) - gt.reshape(-1, 3).to(r["rgb"])).pow(2).mean(-1).cpu()
            alpha, m = r["alpha"][0].reshape(-1).cpu(), mask.reshape(-1).float().cpu()
            spurious, missing = (alpha > 0.5) & (m < 0.01), (alpha < 0.5) & (m > 0.99)
            cover["err"] += float(err.sum())
            cover["spurious"] += float(err[spurious].sum())
            cover["missing"] += float(err[missing].sum())
            cover["n"] += err.numel()
            cover["n_spurious"] += int(spurious.sum())
            hit_all = r["hit0"].reshape(-1).to(model.canonical_vertices.device)
            sd = torch.full(hit_all.shape, float("nan"))
            sd[hit_all.cpu()] = mesh_signed_distance(r["x_c0"].reshape(-1, 3)[hit_all], shell_v, shell_f, shell_n).cpu()
            flat = cls.reshape(-1)
            for k, name in enumerate(names):
                h = (flat == k) & hit_all.cpu()
                if h.any():
                    d = deep.setdefault(name, [0, 0])
                    d[0] += int(h.sum())
                    d[1] += int((sd[h] < -args.deep).sum())
            v = voxel(xt)
            seen = count[v] > 0
            res = (off - mean[v]).norm(dim=-1) * px
            c = flat[pix]
            for name in REGIONS:
                if name not in names:
                    continue
                sel = c == names.index(name)
                sh = sel & hit
                row = acc.setdefault(name, [0, 0, 0, [], [], []])
                row[0] += int(sel.sum())
                row[1] += int((sel & ~hit).sum())
                row[2] += int((sh & ~seen).sum())
                row[3].append(off[sh].norm(dim=-1) * px[sh])
                row[4].append(res[sh & seen])
                row[5].append((off[sh] * nt[sh]).sum(-1) * px[sh])
        for name, (n, nh, ns, raw, resid, normal) in acc.items():
            raw, resid, normal = torch.cat(raw).double(), torch.cat(resid).double(), torch.cat(normal).double()
            if resid.numel() == 0:
                continue
            print(f"{split:6s} {name:9s} {n:7d}   {nh / max(n, 1):.3f}   {ns / max(n, 1):.3f}        {float(raw.mean()):7.3f}"
                  f"            {float(resid.mean()):7.3f}  {float(resid.median()):7.3f}  {float(torch.quantile(resid, 0.9)):7.3f}"
                  "   " + " / ".join(f"{float(q):6.2f}" for q in torch.quantile(normal, normal.new_tensor([0.1, 0.5, 0.9]))))
        cover_rows.append((split, cover, deep))
    print(f"coverage: share of the error on spurious (model alpha > 0.5, GT mask < 0.01) / missing (the reverse) pixels; "
          f"opaque hits deeper than {args.deep} inside the canonical outer shell, per region")
    for split, c, deep in cover_rows:
        psnr = -10.0 * math.log10(max(c["err"] / max(c["n"], 1), 1e-12))
        print(f"{split:6s} PSNR {psnr:6.2f}  spurious {c['n_spurious'] / max(c['n'], 1) * 100:.3f}% px, "
              f"{c['spurious'] / max(c['err'], 1e-12) * 100:.1f}% of the error; missing {c['missing'] / max(c['err'], 1e-12) * 100:.1f}%")
        print(f"{split:6s} deep hits: " + ", ".join(f"{k} {v[1] / v[0]:.3f}" for k, v in deep.items()))


if __name__ == "__main__":
    main()
