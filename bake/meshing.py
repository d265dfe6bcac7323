"""Mesh cleanup for baked layers: components, degenerate faces, decimation, orientation.

All functions take and return numpy (vertices (V, 3) float64, faces (F, 3) int64).
"""

from __future__ import annotations

import numpy as np
import pymeshlab
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def face_areas(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """(F,) triangle areas."""
    return 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)


def remove_degenerate(v: np.ndarray, f: np.ndarray, eps: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Drop faces with repeated indices or (near-)zero area, duplicate faces, unreferenced vertices."""
    ok = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])
    f = f[ok]
    f = f[face_areas(v, f) > eps]
    _, first = np.unique(np.sort(f, axis=1), axis=0, return_index=True)
    f = f[np.sort(first)]
    return compact(v, f)


def compact(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove unreferenced vertices and renumber faces."""
    used = np.unique(f)
    remap = np.full(len(v), -1, np.int64)
    remap[used] = np.arange(len(used))
    return v[used], remap[f]


def components(f: np.ndarray, n_vertices: int) -> np.ndarray:
    """Connected component label per face (faces sharing a vertex are connected)."""
    if len(f) == 0:
        return np.zeros(0, np.int64)
    rows = np.repeat(np.arange(len(f)), 3)
    inc = coo_matrix((np.ones(rows.size), (rows, f.reshape(-1))), shape=(len(f), n_vertices)).tocsr()
    _, vlabel = connected_components(inc.T @ inc, directed=False)
    return vlabel[f[:, 0]]


def keep_main_components(v: np.ndarray, f: np.ndarray, min_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Keep the largest component (by area) and every component with >= min_fraction of its area.

    min_fraction >= 1 keeps only the largest (BakedAvatar's choice); a smaller value keeps
    meaningful separate parts (eyeballs, teeth) and drops marching-cubes specks.
    """
    if len(f) == 0:
        return v, f
    lab = components(f, len(v))
    area = np.bincount(lab, weights=face_areas(v, f))
    keep = area >= min(min_fraction, 1.0) * area.max()
    return compact(v, f[keep[lab]])


def boundary_edges(f: np.ndarray) -> np.ndarray:
    """Edges (E, 2) used by exactly one face (the mesh boundary)."""
    e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    uniq, count = np.unique(e, axis=0, return_counts=True)
    return uniq[count == 1]


def boundary_length(v: np.ndarray, f: np.ndarray) -> float:
    b = boundary_edges(f)
    return float(np.linalg.norm(v[b[:, 0]] - v[b[:, 1]], axis=1).sum()) if len(b) else 0.0


def orient_outward(v: np.ndarray, f: np.ndarray, outward_normals: np.ndarray) -> tuple[np.ndarray, int]:
    """Make faces counter-clockwise seen from outside, one connected component at a time.

    outward_normals (F, 3): the field's outward direction at each face (e.g. grad s at the
    centroid). Marching cubes and edge collapses keep a component's winding consistent, so a
    component is reversed as a whole when most of its area disagrees (single faces are never
    flipped: that would break the consistency around a noisy gradient). Returns (faces, number
    of faces still disagreeing, e.g. folds left by decimation).
    """
    p = v[f]
    fn = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    dot = (fn * outward_normals).sum(1)
    lab = components(f, len(v))
    area = np.linalg.norm(fn, axis=1)
    vote = np.bincount(lab, weights=np.sign(dot) * area)
    flip = vote[lab] < 0
    f = f.copy()
    f[flip] = f[flip][:, ::-1]
    dot[flip] = -dot[flip]
    return f, int((dot < 0).sum())


def decimate(
    v: np.ndarray,
    f: np.ndarray,
    target_faces: int,
    back_density: float = 1.0,
    back_direction=(0.0, 0.0, -1.0),
    back_cos: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Quadric edge-collapse decimation (pymeshlab) to about `target_faces` faces.

    With back_density < 1, faces whose normal points along `back_direction` (cosine > back_cos;
    the back of the head, away from the camera at +z) keep about back_density times the face
    density of the rest: the whole mesh is first decimated to leave room in the budget, then
    only the back faces are collapsed (pymeshlab's selected-only collapse, whose `targetperc`
    is the fraction of the whole mesh's faces that the selection keeps), then a final pass
    enforces the budget.
    """
    if not 0.0 < back_density <= 1.0:
        raise ValueError(f"back_density must be in (0, 1]; got {back_density}")
    if len(f) <= target_faces and back_density >= 1.0:
        return v, f
    ms = pymeshlab.MeshSet()
    ms.add_mesh(pymeshlab.Mesh(vertex_matrix=v.astype(np.float64), face_matrix=f.astype(np.int32)))
    common = dict(qualitythr=0.3, preservenormal=True, optimalplacement=True, planarquadric=True, autoclean=True)
    d = np.asarray(back_direction, np.float64)
    d /= np.linalg.norm(d)
    frac = float(_back_mask(v, f, d, back_cos).mean()) if back_density < 1.0 else 0.0
    first = int(round(target_faces / (1.0 - (1.0 - back_density) * frac)))
    if len(f) > first:
        ms.meshing_decimation_quadric_edge_collapse(targetfacenum=first, **common)
    if frac > 0:
        m = ms.current_mesh()
        sel = _back_mask(m.vertex_matrix(), m.face_matrix(), d, back_cos).astype(np.float64)
        ms.add_mesh(pymeshlab.Mesh(vertex_matrix=m.vertex_matrix(), face_matrix=m.face_matrix(), f_scalar_array=sel))
        ms.compute_selection_by_scalar_per_face(minq=0.5, maxq=1.5)
        keep = back_density * float(sel.sum()) / max(len(sel), 1)
        ms.meshing_decimation_quadric_edge_collapse(targetperc=keep, selected=True, **common)
        ms.set_selection_none()
        if ms.current_mesh().face_number() > 1.02 * target_faces:
            ms.meshing_decimation_quadric_edge_collapse(targetfacenum=target_faces, **common)
    ms.meshing_remove_unreferenced_vertices()
    m = ms.current_mesh()
    return m.vertex_matrix().astype(np.float64), m.face_matrix().astype(np.int64)


def _back_mask(v: np.ndarray, f: np.ndarray, d: np.ndarray, cos: float) -> np.ndarray:
    p = v[f]
    n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-20)
    return n @ d > cos
