"""UV unwrapping with xatlas: charts packed into one square atlas, vertices split at seams.

The artifact stores one index buffer for every attribute, so a vertex on a UV seam becomes one
vertex per chart (`vmapping` says which original vertex each new one copies).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xatlas


@dataclass
class UVMesh:
    """A mesh split at UV seams."""

    vmapping: np.ndarray  # (V',) int64: source vertex of each split vertex
    faces: np.ndarray  # (F, 3) int64 into the split vertices, same order and winding as the input
    uvs: np.ndarray  # (V', 2) float32 in [0, 1]; u along texture columns, v along rows
    n_charts: int
    padding: int  # texels between charts actually used
    utilization: float  # fraction of the atlas covered by charts


def unwrap(vertices: np.ndarray, faces: np.ndarray, texture_size: int, padding: int = 4, seed_iterations: int = 4) -> UVMesh:
    """Unwrap (V, 3), (F, 3) into a `texture_size`^2 atlas with `padding` texels between charts.

    xatlas' `bilinear` packing keeps a whole texel of margin around each chart so that bilinear
    taps of one chart never reach another; `padding` adds room for the texel dilation of
    `bake.texture` (>= 2 recommended).
    """
    if texture_size <= 0:
        raise ValueError(f"texture_size must be positive; got {texture_size}")
    # many small charts may not fit a small texture with wide gutters: narrow them step by step
    for pad in range(max(int(padding), 1), 0, -1):
        try:
            return _unwrap(vertices, faces, texture_size, pad, seed_iterations)
        except _PackingFailed:
            continue
    raise RuntimeError(
        f"xatlas could not pack the {len(faces)}-face mesh's charts into {texture_size}^2 texels even with "
        "1-texel padding; raise bake.texture_size or lower bake.faces_per_layer"
    )


class _PackingFailed(RuntimeError):
    pass


def _unwrap(vertices: np.ndarray, faces: np.ndarray, texture_size: int, padding: int, seed_iterations: int) -> UVMesh:
    co = xatlas.ChartOptions()
    co.max_iterations = seed_iterations
    # pack into one atlas of unbounded size, then rescale the charts (texels per unit) until
    # that atlas fits the texture; padding is in texels, so a few passes converge
    tpu, best = 0.0, None  # tpu 0: xatlas' own estimate for the first pass
    for _ in range(12):
        atlas = xatlas.Atlas()
        atlas.add_mesh(np.ascontiguousarray(vertices, np.float32), np.ascontiguousarray(faces, np.uint32))
        po = xatlas.PackOptions()
        po.padding = int(padding)
        po.resolution = 0
        po.texels_per_unit = float(tpu)
        po.bilinear = True
        po.rotate_charts = True
        atlas.generate(co, po)
        side = max(atlas.width, atlas.height)
        if atlas.atlas_count == 1 and side <= texture_size and (best is None or side > best[1]):
            best = (atlas, side)
        if best is not None and best[1] >= 0.93 * texture_size:
            break
        tpu = atlas.texels_per_unit * 0.985 * texture_size / side
    if best is None:
        raise _PackingFailed(texture_size)
    atlas = best[0]
    w, h = atlas.width, atlas.height
    vmapping, idx, uvs = atlas[0]
    new_faces = idx.astype(np.int64)
    # xatlas keeps face order; check the winding survived (it only splits vertices)
    if not np.array_equal(vmapping[new_faces], faces):
        raise RuntimeError("xatlas changed the face order or winding")
    # the binding normalises by the atlas' own (w, h); re-express in the square texture
    uvs = uvs * np.array([w, h], np.float64) / texture_size
    return UVMesh(vmapping.astype(np.int64), new_faces, np.clip(uvs, 0.0, 1.0).astype(np.float32), int(atlas.chart_count), padding, float(np.mean(atlas.utilization)) * w * h / texture_size**2)
