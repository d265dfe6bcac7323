"""Where the stage-1 error is, region by region: `python -m train.region_error -c configs/synthetic.yaml`.

For subjects rendered from a morphable model that carries region labels (the built-in procedural
head), every pixel of a frame is classed by the model's own geometry at that frame: the region
of the nearest front-facing model triangle (skin, lips, eyes, ...), `edge` (within `--edge-px`
pixels of the model's silhouette) or `outside` (not covered by the model: hair beyond the scalp
and background). Per class it reports the share of pixels, the share of the squared error, the
PSNR inside the class and the frame PSNR if that class were perfect ("PSNR w/o"), for the model
as trained and for eval-time variants (`--variants`): the mean of the K bases (`--mean-bases` of
`train.eval`), the morphable model's normals in the shading, outer layers cleared except over the
scalp, other ray-refinement or Newton settings.
Writes `<workdir>/eval/region_error_<split>.json` and, for the first frame, a heat map
(`region_error_<split>.png`: ground truth | render | |error| x4 | class map).

On the synthetic subject the model is the ground-truth geometry, so the classes are exact; on
real data the classes follow the fitted model and are approximate.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

from train.configlib import add_override_args, atomic_write_text, overrides_of

EDGE, OUTSIDE = "edge", "outside"


@torch.no_grad()
def class_map(flame, K: torch.Tensor, c2w: torch.Tensor, expression: torch.Tensor, pose: torch.Tensor,
              height: int, width: int, edge_px: int) -> tuple[torch.Tensor, list[str]]:
    """(H, W) long class ids and their names for one frame (CPU tensors in, CPU out).

    Classes: the morphable model's regions, then `edge`, then `outside`."""
    from train.synth.render import face_regions, layer_fragments

    names = list(getattr(flame, "region_names", None) or [])
    regions = getattr(flame, "vertex_regions", None)
    if not names or regions is None:
        raise ValueError("the morphable model has no region labels (region_error needs the procedural head "
                         "or a model with hb_vertex_regions / hb_region_names)")
    verts = flame(expression[None].float(), pose[None].float()).vertices.float().cpu()
    faces = flame.faces.to(torch.int32).cpu()
    w2c = torch.linalg.inv(c2w.float().cpu())
    pix, tid, _ = layer_fragments(verts, faces, verts, K.cpu().numpy(), w2c, (height, width))
    fr = face_regions(regions.long().cpu(), faces)
    n_edge, n_out = len(names), len(names) + 1
    cls = torch.full((height * width,), n_out, dtype=torch.long)
    cls[pix] = fr[tid.long()]
    cov = torch.zeros(1, 1, height, width)
    cov.view(-1)[pix] = 1.0
    k = 2 * edge_px + 1
    dil = F.max_pool2d(cov, k, 1, edge_px)
    ero = -F.max_pool2d(-cov, k, 1, edge_px)
    band = (dil - ero)[0, 0].reshape(-1) > 0.5
    cls[band] = n_edge
    return cls.reshape(height, width), names + [EDGE, OUTSIDE]


def _psnr_of(mse: float) -> float:
    return float("inf") if mse <= 0 else -10.0 * math.log10(mse)


def _strict_json(obj):
    """`obj` with non-finite floats (the inf PSNR of a class without error) as None: strict JSON."""
    if isinstance(obj, dict):
        return {k: _strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict_json(v) for v in obj]
    return None if isinstance(obj, float) and not math.isfinite(obj) else obj


FRINGE_PX = (0, 9, 18, 27, 36, 60)  # bin edges (pixels off the model's silhouette); shells at ~9/18/27/36 px at 512


def units_per_pixel(K: torch.Tensor, c2w: torch.Tensor) -> float:
    """World units one pixel spans at the depth of the world origin (the head), approximately."""
    return float(c2w[:3, 3].norm()) / float(K[1, 1].abs())


def fringe_geometry(cls: torch.Tensor, names: list[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """cls (N, H, W) class ids (`class_map`) -> each pixel's distance in pixels to the nearest
    non-`outside` pixel, and (with a `scalp` class, else None) whether its nearest model region is
    the scalp (the `edge` band hides the regions under it): the hair beyond the scalp."""
    from scipy.ndimage import distance_transform_edt

    def dist_to(target):
        """Per frame, each pixel's distance to the nearest `target` pixel (inf in a frame without one)."""
        return torch.stack([torch.as_tensor(distance_transform_edt((~t).numpy()), dtype=torch.float32) if bool(t.any())
                            else torch.full(t.shape, float("inf")) for t in target])

    outside = names.index(OUTSIDE)
    dist = dist_to(cls != outside)
    if "scalp" not in names:
        return dist, None
    regions = (cls != outside) & (cls != names.index(EDGE)) if EDGE in names else cls != outside
    return dist, dist_to(cls == names.index("scalp")) <= dist_to(regions) + 0.5


def fringe_profile(err: torch.Tensor, gt_mask: torch.Tensor, alpha: torch.Tensor, cls: torch.Tensor,
                   names: list[str], units_per_px: float) -> list[dict]:
    """The `outside` pixels (hair beyond the scalp and background) binned by their distance in
    pixels from the nearest other pixel (the model's coverage widened by its silhouette band);
    `units_per_px` converts to world units at the head's depth (approximate). Per bin the pixel and error share, the mean ground-truth
    and rendered coverage and the mean coverage error. err, gt_mask, alpha, cls (N, H, W).

    `names` are the class names of `cls` (`class_map`). With a `scalp` class each bin is also split
    into the pixels whose nearest model region (the `edge` band hides the regions under it) is the
    scalp (the hair beyond it) and the rest (beyond the face, ears, neck): PSNR and pixel share of each."""
    outside = names.index(OUTSIDE)
    dist, beyond_scalp = fringe_geometry(cls, names)
    total, n = float(err.sum()), err.numel()
    edges = list(FRINGE_PX) + [float("inf")]
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (cls == outside) & (dist > lo) & (dist <= hi)
        cnt = int(m.sum())
        if cnt == 0:
            continue
        rows.append({"px": [lo, hi], "units": [lo * units_per_px, hi * units_per_px], "pixel_share": cnt / n,
                     "error_share": float(err[m].sum()) / total if total > 0 else 0.0,
                     "psnr_inside": _psnr_of(float(err[m].sum()) / cnt), "gt_alpha": float(gt_mask[m].mean()),
                     "alpha": float(alpha[m].mean()), "alpha_err": float((alpha[m] - gt_mask[m]).abs().mean())})
        if beyond_scalp is not None:
            sc, other = m & beyond_scalp, m & ~beyond_scalp
            rows[-1].update({"scalp_share": int(sc.sum()) / cnt,
                             "psnr_scalp": _psnr_of(float(err[sc].mean())) if bool(sc.any()) else None,
                             "psnr_other": _psnr_of(float(err[other].mean())) if bool(other.any()) else None})
    return rows


def format_fringe(rows: list[dict]) -> str:
    split = any("scalp_share" in r for r in rows)
    head = f"{'outside, px off':16s} {'units':>13s} {'pixels':>7s} {'err':>6s} {'PSNR':>6s} {'gt a':>6s} {'a':>6s} {'|da|':>6s}"
    lines = [head + (f" {'scalp':>6s} {'PSNR sc':>7s} {'PSNR else':>9s}" if split else "")]

    def fmt(v, w):
        return f"{v:{w}.2f}" if v is not None else f"{'-':>{w}s}"

    for r in rows:
        lo, hi = r["px"]
        ulo, uhi = r["units"]
        line = (f"{f'{lo:g}-{hi:g}':16s} {f'{ulo:.3f}-{uhi:.3f}':>13s} {100 * r['pixel_share']:6.2f}% "
                f"{100 * r['error_share']:5.1f}% {r['psnr_inside']:6.2f} {r['gt_alpha']:6.3f} {r['alpha']:6.3f} "
                f"{r['alpha_err']:6.3f}")
        if "scalp_share" in r:
            line += f" {100 * r['scalp_share']:5.1f}% {fmt(r['psnr_scalp'], 7)} {fmt(r['psnr_other'], 9)}"
        lines.append(line)
    return "\n".join(lines)


def summarise(err: torch.Tensor, cls: torch.Tensor, names: list[str]) -> dict:
    """err (N, H, W) per-pixel squared error (mean over RGB), cls (N, H, W) -> per-class table."""
    total, n = float(err.sum()), err.numel()
    out = {"psnr": _psnr_of(total / n), "classes": {}}
    for i, name in enumerate(names):
        m = cls == i
        cnt = int(m.sum())
        if cnt == 0:
            continue
        s = float(err[m].sum())
        out["classes"][name] = {"pixel_share": cnt / n, "error_share": s / total if total > 0 else 0.0,
                                "psnr_inside": _psnr_of(s / cnt), "psnr_without": _psnr_of((total - s) / n)}
    return out


class ModelNormals(torch.nn.Module):
    """Wraps the manifold field: its gradient is the morphable model's vertex normal at the nearest
    canonical vertex (an oracle for the shading's normal input; values of s are unchanged)."""

    def __init__(self, field: torch.nn.Module, verts: torch.Tensor, normals: torch.Tensor):
        super().__init__()
        self.field, self.verts, self.normals = field, verts, normals

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.field(x)

    def gradient(self, x: torch.Tensor, eps: float) -> torch.Tensor:
        from train.fields import nearest_vertex

        _, idx = nearest_vertex(x.reshape(-1, 3), self.verts)
        return self.normals[idx].reshape(x.shape)


class ClearOuter(torch.nn.Module):
    """Wraps the radiance field: alpha 0 wherever the nearest canonical model vertex is not in
    `keep` (regions; e.g. the scalp, where the hair is). The opaque layer is opaque regardless."""

    def __init__(self, field: torch.nn.Module, verts: torch.Tensor, vertex_keep: torch.Tensor):
        super().__init__()
        self.field, self.verts, self.vertex_keep = field, verts, vertex_keep

    def forward(self, x: torch.Tensor):
        from train.fields import nearest_vertex

        f_pos, bases, alpha = self.field(x)
        _, idx = nearest_vertex(x.reshape(-1, 3), self.verts)
        return f_pos, bases, alpha * self.vertex_keep[idx].reshape(alpha.shape).to(alpha.dtype)


VARIANTS = ("full", "mean-bases", "model-normals", "clear-outer", "refine-0", "refine-16", "newton-8")


def apply_variant(model, name: str):
    """Install one eval-time variant on the model; returns a function that undoes it."""
    from train.eval import MeanBases
    from train.fields import vertex_normals

    mc = model.cfg.model
    if name == "full":
        return lambda: None
    if name == "mean-bases":
        field = model.radiance_field
        model.radiance_field = MeanBases(field)
        return lambda: setattr(model, "radiance_field", field)
    if name == "model-normals":
        field = model.manifold_field
        v = model.canonical_vertices
        model.manifold_field = ModelNormals(field, v, vertex_normals(v, model.flame.faces.long()))
        return lambda: setattr(model, "manifold_field", field)
    if name == "clear-outer":
        names = list(getattr(model.flame, "region_names", None) or [])
        if "scalp" not in names:
            raise ValueError("variant clear-outer needs a model with a 'scalp' region")
        keep = (model.flame.vertex_regions.to(model.levels.device) == names.index("scalp")).float()
        field = model.radiance_field
        model.radiance_field = ClearOuter(field, model.canonical_vertices, keep)
        return lambda: setattr(model, "radiance_field", field)
    for key, attr in (("refine-", "refine_samples"), ("newton-", "newton_steps")):
        if name.startswith(key):
            old = getattr(mc, attr)
            setattr(mc, attr, int(name[len(key):]))
            return lambda: setattr(mc, attr, old)
    raise ValueError(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")


def region_error(cfg, split: str = "test", max_frames: int | None = 10, edge_px: int = 2, device=None,
                 progress: bool = True, variants: tuple[str, ...] = ("full", "mean-bases")) -> dict:
    """Render the first `max_frames` frames once per eval-time variant (`VARIANTS`: `full` is
    the model as trained); per-class error tables for each. Returns the result dict (also written
    as JSON beside a heat map of the first variant's first frame)."""
    from tqdm.auto import tqdm

    from train.model import load_stage1, render_frames
    from train.render.frames import load_frames
    from train.render.preview import save_png

    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    _, model = load_stage1(cfg.workdir, device)
    for v in variants:
        apply_variant(model, v)()  # fail on a bad name before rendering anything
    videos = cfg.data.test_videos if split == "test" else cfg.data.train_videos
    sub = cfg.data.test_subsample if split == "test" else cfg.data.train_subsample
    frames = load_frames(cfg, videos, sub, device, progress=progress, max_frames=max_frames)
    n = frames.n if max_frames is None else min(frames.n, max_frames)
    flame_cpu = copy.deepcopy(model.flame).to("cpu")
    errs = {v: [] for v in variants}
    masks, alphas = [], []
    classes, names, first = [], None, None
    for i in tqdm(range(n), desc=f"region error {split}", dynamic_ncols=True, disable=not progress):
        gt, gt_mask = frames.target(i)
        gt = gt.cpu()
        masks.append(gt_mask.cpu())
        cls, names = class_map(flame_cpu, frames.K[i], frames.c2w[i], frames.expression[i].cpu(),
                               frames.pose[i].cpu(), frames.height, frames.width, edge_px)
        classes.append(cls)
        for v in variants:
            undo = apply_variant(model, v)
            try:
                out = render_frames(model, frames.K[i : i + 1], frames.c2w[i : i + 1], frames.expression[i : i + 1],
                                    frames.pose[i : i + 1], frames.width, frames.height,
                                    background=tuple(cfg.data.background))
            finally:
                undo()
            pred = out["rgb"][0].clamp(0, 1).cpu()
            errs[v].append((pred - gt).pow(2).mean(-1))
            if v == variants[0]:
                alphas.append(out["alpha"][0].clamp(0, 1).cpu())
            if first is None:
                first = (gt, pred, cls)
    cls_all = torch.stack(classes)
    res = {"split": split, "frames": n, "edge_px": edge_px, "class_names": names, "variants": list(variants)}
    for v in variants:
        res[v] = summarise(torch.stack(errs[v]), cls_all, names)
    res["fringe"] = fringe_profile(torch.stack(errs[variants[0]]), torch.stack(masks), torch.stack(alphas), cls_all,
                                   names, units_per_pixel(frames.K[0], frames.c2w[0]))
    out_dir = cfg.workpath / "eval"
    atomic_write_text(out_dir / f"region_error_{split}.json", json.dumps(_strict_json(res), indent=2, allow_nan=False))
    if first is not None:
        gt, pred, cls = first
        heat = ((pred - gt).abs() * 4).clamp(0, 1)
        rng = np.random.default_rng(0)
        palette = torch.as_tensor(rng.uniform(0.15, 1.0, (len(names), 3)), dtype=torch.float32)
        palette[names.index(OUTSIDE)] = 0.0
        palette[names.index(EDGE)] = 1.0
        img = torch.cat([gt, pred, heat, palette[cls]], dim=1)
        save_png(out_dir / f"region_error_{split}.png", img.numpy())
    res["out_dir"] = str(out_dir)
    return res


def format_table(res: dict) -> str:
    """Per class: pixel share, then per variant error share and PSNR inside; last row PSNR without."""
    vs = res["variants"]
    lines = [f"{res['split']}, {res['frames']} frames: " + ", ".join(f"{v} {res[v]['psnr']:.2f} dB" for v in vs),
             f"{'class':16s} {'pixels':>7s} " + " ".join(f"{v[:14]:>14s} err/PSNR" for v in vs)
             + f" {'PSNR w/o (' + vs[0] + ')':>18s}"]
    for name, c in res[vs[0]]["classes"].items():
        cells = []
        for v in vs:
            cv = res[v]["classes"].get(name, {})
            cells.append(f"{100 * cv.get('error_share', 0):14.1f}% {cv.get('psnr_inside', float('nan')):7.2f}")
        lines.append(f"{name:16s} {100 * c['pixel_share']:6.2f}% " + " ".join(cells) + f" {c['psnr_without']:18.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.region_error", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--config", required=True, help="YAML config used for training")
    ap.add_argument("--split", choices=["test", "train"], default="test")
    ap.add_argument("--max-frames", type=int, default=10, help="first N frames (default 10)")
    ap.add_argument("--edge-px", type=int, default=2, help="half-width of the silhouette band in pixels")
    ap.add_argument("--variants", default="full,mean-bases",
                    help="comma-separated eval-time variants: " + ", ".join(VARIANTS) + " (full = as trained; "
                         "model-normals: the morphable model's normals feed the shading; clear-outer: outer "
                         "layers transparent except over the scalp; refine-N / newton-N: those model settings)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    add_override_args(ap, "workdir=runs/other")
    args = ap.parse_args(argv)
    from train.config import load_config
    from train.configlib import ConfigError

    if args.max_frames is not None and args.max_frames < 1:
        print("error: --max-frames must be >= 1", file=sys.stderr)
        return 2
    if args.edge_px < 0:
        print("error: --edge-px must be >= 0", file=sys.stderr)
        return 2
    try:
        cfg = load_config(args.config, overrides_of(args))
        res = region_error(cfg, args.split, args.max_frames, args.edge_px, progress=not args.quiet,
                           variants=tuple(v.strip() for v in args.variants.split(",") if v.strip()))
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(res))
    print(format_fringe(res["fringe"]))
    print(f"-> {res['out_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
