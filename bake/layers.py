"""Stage 2 core: a `BakeSource` -> the artifact's layers (meshes, attributes, textures).

For every level l_i (inner -> outer): marching cubes of the coarse-to-fine lattice, cleanup,
decimation, outward winding, UV unwrapping with seam splitting, per-vertex attributes in
original space, and textures baked in UV space, quantised to uint8 by rounding.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from bake import meshing
from bake.attributes import vertex_attributes
from bake.config import BakeConfig
from bake.levelset import LevelGrid, evaluate_coarse_to_fine, marching_cubes
from bake.texture import bake_textures
from bake.uv import unwrap
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
    return grid


@torch.no_grad()
def bake_layer(source, grid: LevelGrid, index: int, cfg: BakeConfig, device, backend: str) -> tuple[Layer, LayerReport]:
    """One level set -> (artifact Layer, report)."""
    t0 = time.perf_counter()
    level = float(source.levels[index])
    v, f = marching_cubes(grid, level)
    if len(f) == 0:
        raise RuntimeError(f"level {index} (s = {level:.4f}) has no surface inside the bake box; is stage 1 trained?")
    mc_faces = len(f)
    v, f = meshing.remove_degenerate(v, f)
    v, f = meshing.keep_main_components(v, f, cfg.min_component_fraction)
    v, f = meshing.decimate(v, f, cfg.faces_per_layer, back_density=cfg.back_density)
    v, f = meshing.remove_degenerate(v, f)
    centroids = torch.as_tensor(v[f].mean(1), dtype=torch.float32, device=device)
    n_out = torch.cat([source.manifold_normal(c) for c in centroids.split(cfg.chunk)]).cpu().numpy()
    f, flipped = meshing.orient_outward(v, f, n_out)
    uvm = unwrap(v, f, cfg.texture_size, cfg.uv_padding)
    xc = torch.as_tensor(v, dtype=torch.float32, device=device)
    attrs = vertex_attributes(source, xc, cfg.chunk)
    attrs = {k: a[uvm.vmapping] for k, a in attrs.items()}
    xc_split = xc[torch.as_tensor(uvm.vmapping, device=device)]
    faces_t = torch.as_tensor(uvm.faces, device=device)
    tex = bake_textures(
        source, xc_split, faces_t, torch.as_tensor(uvm.uvs, device=device), cfg.texture_size, cfg.supersample,
        opaque=index == 0, dilation=cfg.dilation, chunk=cfg.chunk, backend=backend,
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
    )
    report = LayerReport(
        level=level, mc_faces=mc_faces, faces=len(uvm.faces), vertices=len(uvm.vmapping), charts=uvm.n_charts, uv_padding=uvm.padding,
        atlas_utilization=uvm.utilization, boundary_length=meshing.boundary_length(v, f), disagreeing_faces=flipped,
        canonical_vertices=xc_split.cpu().numpy(), seconds=time.perf_counter() - t0,
    )
    return Layer(f"layer{index}", level, index == 0, arrays), report


def bake_layers(source, cfg: BakeConfig, device="cpu", backend: str = "auto", progress: bool = True):
    """All levels of `source`, inner -> outer -> (layers, reports, grid)."""
    grid = level_grid(source, cfg, device, progress)
    layers, reports = [], []
    for i in tqdm(range(len(source.levels)), desc="bake layers", disable=not progress):
        layer, rep = bake_layer(source, grid, i, cfg, device, backend)
        layers.append(layer)
        reports.append(rep)
    return layers, reports, grid
