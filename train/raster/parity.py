"""Reference (pure torch) vs nvdiffrast on the same inputs: errors and timings.

    python -m train.raster.parity --out runs/gpu/raster_parity.json   # needs CUDA + nvdiffrast
    python -m train.raster.parity --cpu-bench                         # reference timings, CPU only

Used by `tests/train/test_raster_parity.py` (which asserts tolerances) and
`scripts/gpu/raster_parity.sh` (which writes the numbers for the report). The reference runs on
the CPU, exactly as CPU machines run it; nvdiffrast on the GPU. Gradients are compared by pushing
the same random cotangent through both, restricted to pixels where both picked the same triangle.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from train.conventions import gl_projection
from train.raster import reference, sampling


def uv_sphere(n_lat: int, n_lon: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed-ish UV sphere of radius 1: verts (V,3) float64, faces (F,3) int32, F = 2 n_lon (n_lat-1)."""
    th = torch.linspace(0, math.pi, n_lat, dtype=torch.float64)
    ph = torch.linspace(0, 2 * math.pi, n_lon + 1, dtype=torch.float64)[:-1]
    T, P = torch.meshgrid(th, ph, indexing="ij")
    v = torch.stack([T.sin() * P.cos(), T.cos(), T.sin() * P.sin()], -1).reshape(-1, 3)
    i = torch.arange(n_lat - 1)[:, None]
    j = torch.arange(n_lon)[None, :]
    a, b = i * n_lon + j, i * n_lon + (j + 1) % n_lon
    c, d = a + n_lon, b + n_lon
    f = torch.stack([torch.stack([a, b, c], -1), torch.stack([b, d, c], -1)], 2).reshape(-1, 3)
    return v, f.int()


def sphere_clip(res: int, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A bumpy sphere seen by an IMavatar-style camera, `batch` random rotations -> clip (B,V,4) float32."""
    g = torch.Generator().manual_seed(seed)
    v, f = uv_sphere(101, 100)
    v = v * (1 + 0.08 * torch.sin(5 * v[:, :1]) * torch.cos(4 * v[:, 1:2]))
    K = np.array([[-4.0 * res, 0, 0.5 * res], [0, 4.0 * res, 0.5 * res], [0, 0, 1]])
    P = torch.from_numpy(gl_projection(K, res, res))
    out = []
    for _ in range(batch):
        q, _r = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
        cam = v @ q.T * 0.4 + torch.tensor([0.05, -0.03, -4.0], dtype=torch.float64)
        out.append(torch.cat([cam, torch.ones(len(cam), 1, dtype=torch.float64)], 1) @ P.T)
    return torch.stack(out).float(), f


def triangle_soup(n: int, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random overlapping triangles with perspective (w in [0.6, 1.8]) -> clip (B,3n,4), faces (n,3)."""
    g = torch.Generator().manual_seed(seed)
    centre = (torch.rand(batch, n, 1, 2, generator=g) * 2.2 - 1.1).expand(batch, n, 3, 2)
    xy = centre + (torch.rand(batch, n, 3, 2, generator=g) - 0.5) * 0.35
    z = torch.rand(batch, n, 3, 1, generator=g) * 1.9 - 0.95
    w = torch.rand(batch, n, 3, 1, generator=g) * 1.2 + 0.6
    pos = torch.cat([xy * w, z * w, w], -1).reshape(batch, 3 * n, 4)
    return pos, torch.arange(3 * n, dtype=torch.int32).reshape(n, 3)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-12))


def compare_raster(pos: torch.Tensor, tri: torch.Tensor, res: tuple[int, int], seed: int) -> dict:
    """Rasterize + interpolate with both backends; errors on agreeing pixels and gradients."""
    from train.raster import nvdiff

    g = torch.Generator().manual_seed(seed)
    attr = torch.rand(pos.shape[1], 4, generator=g) * 2 - 1
    pos_r, attr_r = pos.clone().requires_grad_(True), attr.clone().requires_grad_(True)
    pos_n, attr_n = pos.cuda().requires_grad_(True), attr.cuda().requires_grad_(True)
    rast_r = reference.rasterize(pos_r, tri, res)
    rast_n = nvdiff.rasterize(pos_n, tri.cuda(), res)
    out_r = reference.interpolate(attr_r, rast_r, tri)
    out_n = nvdiff.interpolate(attr_n, rast_n, tri.cuda())
    id_r, id_n = rast_r[..., 3].detach(), rast_n[..., 3].detach().cpu()
    same = (id_r == id_n) & (id_r > 0)
    cot = torch.randn(out_r.shape, generator=g) * same[..., None]
    (out_r * cot).sum().backward()
    (out_n * cot.cuda()).sum().backward()
    rr, rn = rast_r.detach(), rast_n.detach().cpu()
    return {
        "pixels": int(id_r.numel()),
        "covered_ref": int((id_r > 0).sum()),
        "coverage_diff_frac": float(((id_r > 0) != (id_n > 0)).float().mean()),
        "triangle_id_diff_frac": float((id_r != id_n).float().mean()),
        "bary_max_abs": float((rr[..., :2] - rn[..., :2]).abs()[same].max()),
        "zw_max_abs": float((rr[..., 2] - rn[..., 2]).abs()[same].max()),
        "attr_max_abs": float((out_r.detach() - out_n.detach().cpu()).abs()[same].max()),
        "grad_attr_rel": _rel(attr_r.grad, attr_n.grad.cpu()),
        "grad_pos_rel": _rel(pos_r.grad, pos_n.grad.cpu()),
    }


def compare_antialias(pos: torch.Tensor, tri: torch.Tensor, res: tuple[int, int], seed: int) -> dict:
    """Antialias on nvdiffrast's own raster output (so both see the same triangle ids)."""
    from train.raster import nvdiff
    from train.raster.antialiasing import antialias

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        rast = nvdiff.rasterize(pos.cuda(), tri.cuda(), res)
        attr = torch.rand(pos.shape[1], 3, generator=g)
        color = nvdiff.interpolate(attr.cuda(), rast, tri.cuda()).cpu()
        color = color + (rast[..., 3:4].cpu() == 0) * torch.tensor([0.2, 0.5, 0.9])  # a background colour
    c_r, p_r = color.clone().requires_grad_(True), pos.clone().requires_grad_(True)
    c_n, p_n = color.cuda().requires_grad_(True), pos.cuda().requires_grad_(True)
    out_r = antialias(c_r, rast.cpu(), p_r, tri)
    out_n = nvdiff.antialias(c_n, rast, p_n, tri.cuda())
    cot = torch.randn(out_r.shape, generator=g)
    (out_r * cot).sum().backward()
    (out_n * cot.cuda()).sum().backward()
    changed = (out_n.detach().cpu() != color).any(-1)
    return {
        "pixels_changed_nvdiffrast": int(changed.sum()),
        "pixels_changed_reference": int((out_r.detach() != color).any(-1).sum()),
        "max_abs": float((out_r.detach() - out_n.detach().cpu()).abs().max()),
        "grad_color_rel": _rel(c_r.grad, c_n.grad.cpu()),
        "grad_pos_rel": _rel(p_r.grad, p_n.grad.cpu()),
    }


def compare_texture(seed: int) -> dict:
    """Texture sampling, every filter/boundary mode, values and (linear) gradients."""
    from train.raster import nvdiff

    g = torch.Generator().manual_seed(seed)
    tex = torch.rand(2, 37, 53, 3, generator=g)
    uv = torch.rand(2, 64, 48, 2, generator=g) * 1.4 - 0.2
    out = {}
    for filt in sampling.FILTER_MODES:
        for bnd in sampling.BOUNDARY_MODES:
            t_r, u_r = tex.clone().requires_grad_(True), uv.clone().requires_grad_(True)
            t_n, u_n = tex.cuda().requires_grad_(True), uv.cuda().requires_grad_(True)
            a = sampling.texture(t_r, u_r, filt, bnd)
            b = nvdiff.texture(t_n, u_n, filt, bnd)
            cot = torch.randn(a.shape, generator=g)
            (a * cot).sum().backward()
            (b * cot.cuda()).sum().backward()
            key = f"{filt}_{bnd}"
            out[f"{key}_max_abs"] = float((a.detach() - b.detach().cpu()).abs().max())
            out[f"{key}_grad_tex_rel"] = _rel(t_r.grad, t_n.grad.cpu())
            if filt == "linear":
                out[f"{key}_grad_uv_rel"] = _rel(u_r.grad, u_n.grad.cpu())
    return out


def _time(fn, n: int, cuda: bool) -> float:
    ts = []
    for _ in range(n):
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def timings() -> dict:
    """Median seconds for one 512x512 rasterize of the ~20k-triangle sphere (batch 1)."""
    from train.raster import nvdiff

    pos, tri = sphere_clip(512, 1, 7)
    pc, tc = pos.cuda(), tri.cuda()
    nvdiff.rasterize(pc, tc, (512, 512))
    reference.rasterize(pc, tc, (512, 512))
    return {
        "faces": int(tri.shape[0]),
        "reference_cpu_s": _time(lambda: reference.rasterize(pos, tri, (512, 512)), 5, False),
        "reference_cuda_s": _time(lambda: reference.rasterize(pc, tc, (512, 512)), 10, True),
        "nvdiffrast_cuda_s": _time(lambda: nvdiff.rasterize(pc, tc, (512, 512)), 20, True),
    }


def cpu_bench(repeats: int = 5) -> dict:
    """Reference timings on the CPU (median wall and process seconds) for the ~20k-face sphere."""
    out = {"threads": torch.get_num_threads()}
    for res in (64, 256, 512):
        pos, tri = sphere_clip(res, 1, 7)
        attr = torch.rand(pos.shape[1], 3)
        walls, cpus = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            reference.rasterize(pos, tri, (res, res))
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        p, a = pos.clone().requires_grad_(True), attr.clone().requires_grad_(True)
        t0 = time.perf_counter()
        reference.interpolate(a, reference.rasterize(p, tri, (res, res)), tri).sum().backward()
        out[f"{res}px"] = {
            "faces": int(tri.shape[0]),
            "rasterize_wall_s": statistics.median(walls),
            "rasterize_cpu_s": statistics.median(cpus),
            "raster_interp_backward_wall_s": time.perf_counter() - t0,
        }
    return out


def measure(seed: int = 0) -> dict:
    """All parity numbers (needs CUDA and nvdiffrast)."""
    from train.raster import nvdiff

    nvdiff.load_nvdiffrast()  # raises NvdiffrastUnavailable with the reason
    results = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    cases = {
        "sphere_512": (*sphere_clip(512, 2, seed), (512, 512)),
        "sphere_64": (*sphere_clip(64, 2, seed + 1), (64, 64)),
        "soup_96x128": (*triangle_soup(3000, 2, seed + 2), (96, 128)),
    }
    for name, (pos, tri, res) in cases.items():
        results[name] = compare_raster(pos, tri, res, seed)
    results["texture"] = compare_texture(seed)
    for name in ("sphere_64", "soup_96x128"):
        pos, tri, res = cases[name]
        results[f"antialias_{name}"] = compare_antialias(pos, tri, res, seed)
    # the reference on CUDA tensors must agree with itself on the CPU (a failure here is recorded,
    # not raised, so the nvdiffrast numbers above are kept)
    try:
        pos, tri = sphere_clip(128, 1, seed + 3)
        a = reference.rasterize(pos, tri, (128, 128))
        b = reference.rasterize(pos.cuda(), tri.cuda(), (128, 128)).cpu()
        results["reference_cpu_vs_cuda"] = {
            "triangle_id_diff_frac": float((a[..., 3] != b[..., 3]).float().mean()),
            "bary_max_abs": float((a[..., :2] - b[..., :2]).abs().max()),
        }
    except Exception as exc:  # noqa: BLE001 - reported in the results
        results["reference_cpu_vs_cuda"] = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        results["timing_512_sphere"] = timings()
    except Exception as exc:  # noqa: BLE001
        results["timing_512_sphere"] = {"error": f"{type(exc).__name__}: {exc}"}
    return results


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here (and a .txt beside it)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cpu-bench", action="store_true", help="only time the reference on the CPU (no CUDA needed)")
    args = ap.parse_args(argv)
    res = cpu_bench() if args.cpu_bench else measure(args.seed)
    text = json.dumps(res, indent=1)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(args.out)


if __name__ == "__main__":
    main()
