"""Stage 2 core: a `BakeSource` -> the artifact's layers (meshes, attributes, textures).

For every level l_i (inner -> outer): marching cubes of the coarse-to-fine lattice, cleanup,
decimation, outward winding, UV unwrapping with seam splitting, per-vertex attributes in
original space, and textures baked in UV space, quantised to uint8 by rounding.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from bake import meshing
from bake.attributes import vertex_attributes
from bake.config import BakeConfig
from bake.levelset import LevelGrid, evaluate_coarse_to_fine, marching_cubes, smooth
from bake.reach import Reachability, drop_unreached, reach_lattice
from bake.texture import bake_textures
from bake.uv import UVMesh, unwrap
from export.artifact import Layer
from train.conventions import srgb_to_uint8


@dataclass
class LayerReport:
    level: float
    mc_faces: int
    faces: int
    vertices: int
    charts: int
    uv_padding: int
    atlas_utilization: float
    boundary_length: float
    disagreeing_faces: int
    unreached_faces: int
    canonical_vertices: np.ndarray = field(repr=False)  # (V', 3) float32, split like the artifact
    seconds: float = 0.0

    def summary(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "canonical_vertices"}


def level_grid(source, cfg: BakeConfig, device, progress: bool = True) -> LevelGrid:
    """The manifold on the coarse-to-fine lattice over source.bbox()."""
    lo, hi = (t.detach().float().cpu().numpy() for t in source.bbox())
    bar = tqdm(desc="level sets: field queries", unit="pt", unit_scale=True, disable=not progress, leave=False)
    grid = evaluate_coarse_to_fine(
        lambda x: source.manifold(x), lo, hi, source.levels.detach().cpu().numpy(), cfg.mc_resolution,
        cfg.mc_coarse_resolution, cfg.mc_lipschitz, cfg.chunk, device, progress=bar.update,
    )
    bar.close()
    return smooth(grid, cfg.mc_smoothing)


@dataclass
class LevelMesh:
    """Geometry of one level before the fields are queried (numpy only, picklable)."""

    index: int
    level: float
    v: np.ndarray  # (V, 3) float64 canonical
    f: np.ndarray  # (F, 3) int64, counter-clockwise from outside
    uvm: UVMesh
    mc_faces: int
    disagreeing: int
    boundary: float
    seconds: float
    unreached: int = 0  # marching-cubes faces dropped as unreached by stage 1 (`bake.reach`)


def grid_gradient(grid: LevelGrid, x: np.ndarray) -> np.ndarray:
    """d s / d x at points x (N, 3) by central differences of the trilinear lattice."""
    scale = grid.resolution / (grid.hi - grid.lo)
    idx = grid.to_lattice(x)
    g = np.empty_like(idx)
    for a in range(3):
        d = np.zeros(3)
        d[a] = 0.5
        g[:, a] = (grid.sample(idx + d) - grid.sample(idx - d)) * scale[a]
    return g


def level_mesh(grid: LevelGrid, index: int, level: float, cfg: BakeConfig, reach: LevelGrid | None = None) -> LevelMesh:
    """Marching cubes, cleanup, decimation, outward winding and UV atlas of one level set; with a
    `bake.reach.reach_lattice`, faces stage 1 cannot reach are dropped before decimation."""
    t0 = time.perf_counter()
    v, f = marching_cubes(grid, level)
    if len(f) == 0:
        raise RuntimeError(f"level {index} (s = {level:.4f}) has no surface inside the bake box; is stage 1 trained?")
    mc_faces = len(f)
    v, f = meshing.remove_degenerate(v, f)
    v, f = meshing.keep_main_components(v, f, cfg.min_component_fraction)
    unreached = 0
    if reach is not None:
        drop = drop_unreached(v, f, reach)
        if drop.any():
            n = len(f)
            v, f = meshing.keep_main_components(*meshing.compact(v, f[~drop]), cfg.min_component_fraction)
            unreached = n - len(f)
    v, f = meshing.decimate(v, f, cfg.faces_per_layer, back_density=cfg.back_density)
    v, f = meshing.remove_degenerate(v, f)
    f, disagreeing = meshing.orient_outward(v, f, grid_gradient(grid, v[f].mean(1)))
    uvm = unwrap(v, f, cfg.texture_size, cfg.uv_padding)
    return LevelMesh(index, level, v, f, uvm, mc_faces, disagreeing, meshing.boundary_length(v, f), time.perf_counter() - t0,
                     unreached)


def _level_mesh_job(args) -> LevelMesh:
    """Process-pool entry: the lattice arrives as a memory-mapped .npy file."""
    path, lo, hi, index, level, cfg, reach = args
    grid = LevelGrid(np.load(path, mmap_mode="r"), lo, hi, 0)
    return level_mesh(grid, index, level, cfg, reach)


def level_meshes(grid: LevelGrid, levels: list[float], cfg: BakeConfig, progress: bool = True,
                 reach: LevelGrid | None = None) -> list[LevelMesh]:
    """`level_mesh` for every level, in parallel processes when cfg.workers allows (CPU-bound)."""
    workers = cfg.workers or min(len(levels), max(1, (os.cpu_count() or 1) // 2), 8)
    bar = tqdm(total=len(levels), desc="layer meshes", disable=not progress)
    if workers <= 1 or len(levels) <= 1:
        out = []
        for i, lv in enumerate(levels):
            out.append(level_mesh(grid, i, lv, cfg, reach))
            bar.update()
        bar.close()
        return out
    with tempfile.TemporaryDirectory(prefix="hb-grid-") as tmp:
        path = os.path.join(tmp, "grid.npy")
        np.save(path, grid.values)
        jobs = [(path, grid.lo, grid.hi, i, lv, cfg, reach) for i, lv in enumerate(levels)]
        ctx = multiprocessing.get_context("spawn")  # no fork of a CUDA-initialised parent
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            out = []
            for m in pool.map(_level_mesh_job, jobs):
                out.append(m)
                bar.update()
    bar.close()
    return out


@torch.no_grad()
def texture_layer(source, lm: LevelMesh, cfg: BakeConfig, device, backend: str) -> tuple[Layer, LayerReport]:
    """Per-vertex attributes and textures of one level mesh -> (artifact Layer, report)."""
    t0 = time.perf_counter()
    uvm = lm.uvm
    xc = torch.as_tensor(lm.v, dtype=torch.float32, device=device)
    attrs = vertex_attributes(source, xc, cfg.chunk)
    attrs = {k: a[uvm.vmapping] for k, a in attrs.items()}
    xc_split = xc[torch.as_tensor(uvm.vmapping, device=device)]
    tex = bake_textures(
        source, xc_split, torch.as_tensor(uvm.faces, device=device), torch.as_tensor(uvm.uvs, device=device),
        cfg.texture_size, cfg.supersample, opaque=lm.index == 0, dilation=cfg.dilation, chunk=cfg.chunk, backend=backend,
    )
    arrays = dict(
        vertices=attrs["vertices"],
        faces=uvm.faces.astype(np.int32),
        uvs=uvm.uvs,
        normals=attrs["normals"],
        expr_basis=attrs["expr_basis"],
        pose_basis=attrs["pose_basis"],
        skin_weights=attrs["skin_weights"],
        pos_texture=srgb_to_uint8(tex.pos),
        radiance=srgb_to_uint8(tex.radiance),
        **{k: attrs[k] for k in ("normal_expr", "normal_pose") if k in attrs},
    )
    report = LayerReport(
        level=lm.level, mc_faces=lm.mc_faces, faces=len(uvm.faces), vertices=len(uvm.vmapping), charts=uvm.n_charts,
        uv_padding=uvm.padding, atlas_utilization=uvm.utilization, boundary_length=lm.boundary,
        disagreeing_faces=lm.disagreeing, unreached_faces=lm.unreached, canonical_vertices=xc_split.cpu().numpy(),
        seconds=lm.seconds + time.perf_counter() - t0,
    )
    return Layer(f"layer{lm.index}", lm.level, lm.index == 0, arrays), report


def bake_layers(source, cfg: BakeConfig, device="cpu", backend: str = "auto", progress: bool = True,
                reach: Reachability | None = None):
    """All levels of `source`, inner -> outer -> (layers, reports, grid). With `reach` (and
    cfg.reach_frames > 0), faces stage 1 cannot reach are dropped (`bake.reach`)."""
    grid = level_grid(source, cfg, device, progress)
    levels = [float(l) for l in source.levels]
    q = None
    if reach is not None and cfg.reach_frames > 0:
        q = reach_lattice(grid, levels, reach, cfg.reach_min_fraction, cfg.reach_band)
    meshes = level_meshes(grid, levels, cfg, progress, q)
    layers, reports = [], []
    for lm in tqdm(meshes, desc="attributes + textures", disable=not progress):
        layer, rep = texture_layer(source, lm, cfg, device, backend)
        layers.append(layer)
        reports.append(rep)
    return layers, reports, grid
