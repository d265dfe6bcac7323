"""The procedural head's inner parts: eyeballs, upper/lower teeth and the mouth cavity.

Every part is a closed surface, outward-facing (the cavity continues the skin through the
mouth slit, so skin + cavity is one closed surface). Each builder returns vertices, faces (local
indices, or global ones for the cavity, which shares the slit loop with the skin) and a smooth
(V, 2) parametrisation in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Part:
    vertices: np.ndarray  # (N, 3)
    faces: np.ndarray  # (F, 3); local indices unless noted
    uv: np.ndarray  # (N, 2)
    extra: dict  # part-specific per-vertex data


def eyeball(centre: np.ndarray, radius: float, n_rings: int = 12, n_cols: int = 16) -> Part:
    """UV sphere with its poles on the z axis: the iris is the cap around +z.

    uv: a polar map centred on the iris, (0.5, 0.5) = pupil centre, radius 0.5 = back pole.
    extra['polar']: (N,) angle from +z in radians (iris: polar < ~0.55).
    """
    theta = np.arange(1, n_rings + 1) * np.pi / (n_rings + 1)  # symmetric about the equator
    psi = np.arange(n_cols) * 2 * np.pi / n_cols
    th, ps = np.meshgrid(theta, psi, indexing="ij")
    dirs = np.stack([np.sin(th) * np.cos(ps), np.sin(th) * np.sin(ps), np.cos(th)], -1).reshape(-1, 3)
    dirs = np.concatenate([[[0.0, 0.0, 1.0]], dirs, [[0.0, 0.0, -1.0]]])
    polar = np.concatenate([[0.0], th.reshape(-1), [np.pi]])
    azim = np.concatenate([[0.0], ps.reshape(-1), [0.0]])
    ids = np.arange(n_rings * n_cols).reshape(n_rings, n_cols) + 1
    last = n_rings * n_cols + 1
    jn = (np.arange(n_cols) + 1) % n_cols
    faces = [np.stack([np.zeros(n_cols, int), ids[0], ids[0, jn]], 1)]
    for i in range(n_rings - 1):
        a, b, c, d = ids[i], ids[i, jn], ids[i + 1, jn], ids[i + 1]
        faces += [np.stack([a, d, c], 1), np.stack([a, c, b], 1)]
    faces.append(np.stack([ids[-1], np.full(n_cols, last), ids[-1, jn]], 1))
    faces = np.concatenate(faces)
    # orient outward: +z pole fan (0, ring[j], ring[j+1]) with psi increasing is CCW from outside
    v = centre + radius * dirs
    r = 0.5 * polar / np.pi
    uv = np.stack([0.5 + r * np.cos(azim), 0.5 + r * np.sin(azim)], -1)
    return Part(v, _orient_outward(v, faces, centre), uv, {"polar": polar})


def _orient_outward(v: np.ndarray, faces: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Flip all faces if the (star-shaped) part's signed volume about `centre` is negative."""
    p = v - centre
    vol = np.einsum("ij,ij->i", p[faces[:, 0]], np.cross(p[faces[:, 1]], p[faces[:, 2]])).sum()
    return faces if vol > 0 else faces[:, ::-1].copy()


def teeth_arch(front_z: float, y_gum: float, y_edge: float, half_width: float, depth: float,
               thickness: float, curve: float = 0.0, n_arc: int = 25, n_sec: int = 8) -> Part:
    """A closed horseshoe slab (a row of teeth) between the gum line and the biting edge.

    `curve` lifts the biting edge towards the gum at the back (the occlusal curve), so upper and
    lower molars meet instead of overlapping.

    The arch runs x = half_width sin(s), z = front_z - depth (1 - cos s), s in [-1.25, 1.25];
    molars at the back are thicker and shorter; the biting edge is scalloped so individual
    teeth read. uv: (arc position, section angle). extra['arc']: (N,) arc parameter in [-1, 1].
    """
    s = np.linspace(-1.25, 1.25, n_arc)
    cx, cz = half_width * np.sin(s), front_z - depth * (1.0 - np.cos(s))
    tx, tz = half_width * np.cos(s), depth * np.sin(s)  # tangent (x, z)
    tn = np.hypot(tx, tz)
    nx, nz = tz / tn, tx / tn  # horizontal normal pointing out of the arch (towards the lips)
    back = np.abs(s) / 1.25
    thick = thickness * (1.0 + 0.6 * back**2)
    scallop = 0.0012 * np.abs(np.sin(np.pi * 3.5 * s / 1.25)) ** 0.5
    ang = np.linspace(0.0, 2 * np.pi, n_sec, endpoint=False) + np.pi / n_sec
    ex = np.sign(np.cos(ang)) * np.abs(np.cos(ang)) ** 0.5  # squircle: a rounded rectangle
    ey = np.sign(np.sin(ang)) * np.abs(np.sin(ang)) ** 0.5
    up = np.sign(y_gum - y_edge)  # +1: gum above the edge (upper teeth)
    verts, arc = [], []
    for k in range(n_arc):
        h = abs(y_gum - y_edge) * (1.0 - 0.25 * back[k] ** 2)
        edge = y_edge + up * curve * back[k] ** 2
        yy = edge + up * 0.5 * h * (1.0 + ey)
        off = 0.5 * thick[k] * ex
        yy = np.where(ey * up < -0.5, yy + up * scallop[k], yy)  # edge vertices between teeth recede
        verts.append(np.stack([cx[k] + off * nx[k], yy, cz[k] + off * nz[k]], -1))
        arc.append(np.full(n_sec, s[k] / 1.25))
    v = np.concatenate(verts)
    arc = np.concatenate(arc)
    ends = np.array([[cx[0], v[:n_sec, 1].mean(), cz[0]], [cx[-1], v[-n_sec:, 1].mean(), cz[-1]]])
    v = np.concatenate([v, ends])
    ids = np.arange(n_arc * n_sec).reshape(n_arc, n_sec)
    jn = (np.arange(n_sec) + 1) % n_sec
    faces = []
    for k in range(n_arc - 1):
        a, b, c, d = ids[k], ids[k, jn], ids[k + 1, jn], ids[k + 1]
        faces += [np.stack([a, b, c], 1), np.stack([a, c, d], 1)]
    e0, e1 = n_arc * n_sec, n_arc * n_sec + 1
    faces.append(np.stack([np.full(n_sec, e0), ids[0, jn], ids[0]], 1))
    faces.append(np.stack([np.full(n_sec, e1), ids[-1], ids[-1, jn]], 1))
    faces = _orient_slab(v, np.concatenate(faces))
    arc = np.concatenate([arc, [-1.0, 1.0]])
    uv = np.stack([0.5 + 0.5 * arc, np.concatenate([np.tile(ang / (2 * np.pi), n_arc), [0.5, 0.5]])], -1)
    return Part(v, faces, uv, {"arc": arc})


def _orient_slab(v: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Closed surface: flip if the signed volume is negative."""
    vol = np.einsum("ij,ij->i", v[faces[:, 0]], np.cross(v[faces[:, 1]], v[faces[:, 2]])).sum()
    return faces if vol > 0 else faces[:, ::-1].copy()


# cavity rings: depth behind the lips, half-height at the centre, width factor
CAVITY_DEPTH = np.array([0.004, 0.010, 0.018, 0.027, 0.036, 0.043])
CAVITY_HALF_H = np.array([0.006, 0.012, 0.0155, 0.0165, 0.0155, 0.011])
CAVITY_WIDEN = np.array([1.05, 1.15, 1.25, 1.3, 1.25, 1.1])


def mouth_cavity(skin: np.ndarray, upper_row: np.ndarray, lower_row: np.ndarray, first_id: int) -> Part:
    """Pocket behind the slit: rings shrink-wrapped from the slit loop inwards, closed at the back.

    `skin` (V_s, 3) holds the slit loop's vertices; `upper_row`/`lower_row` (L,) their ids
    (corners shared). The returned faces use global ids: loop vertices keep theirs, new
    vertices start at `first_id`. extra: 'side' (+1 upper, -1 lower, 0 corner), 'q' (lateral,
    -1..1), 'depth' (m behind the lips), 'loop' (loop vertex ids, ring 0).
    """
    loop = np.concatenate([upper_row, lower_row[-2:0:-1]])  # upper left->right, lower right->left
    L = len(loop)
    nu = len(upper_row)
    side = np.concatenate([np.zeros(1), np.ones(nu - 2), np.zeros(1), -np.ones(nu - 2)])
    p0 = skin[loop]
    w = max(float(np.abs(p0[:, 0]).max()), 1e-6)
    q = np.clip(p0[:, 0] / w, -1.0, 1.0)
    y_mid = float(p0[[0, nu - 1], 1].mean())
    profile = np.sqrt(np.clip(1.0 - np.abs(q) ** 4, 0.0, 1.0))
    rings = []
    for d, h, wf in zip(CAVITY_DEPTH, CAVITY_HALF_H, CAVITY_WIDEN):
        ring = np.stack([p0[:, 0] * wf, y_mid + (p0[:, 1] - y_mid) + side * h * profile, p0[:, 2] - d], -1)
        rings.append(ring)
    end = np.array([[0.0, y_mid, float(p0[:, 2].max()) - CAVITY_DEPTH[-1] - 0.004]])
    verts = np.concatenate(rings + [end])
    K = len(rings)
    rid = [loop] + [first_id + k * L + np.arange(L) for k in range(K)]
    end_id = first_id + K * L
    ln = (np.arange(L) + 1) % L
    faces = []
    for k in range(K):  # each loop edge used reversed w.r.t. the skin's use of it
        a, b = rid[k], rid[k + 1]
        faces += [np.stack([a[ln], a, b], 1), np.stack([a[ln], b, b[ln]], 1)]
    faces.append(np.stack([rid[K][ln], rid[K], np.full(L, end_id)], 1))
    faces = np.concatenate(faces)
    depth = np.concatenate([np.repeat(CAVITY_DEPTH, L), [CAVITY_DEPTH[-1] + 0.004]])
    sides = np.concatenate([np.tile(side, K), [0.0]])
    qs = np.concatenate([np.tile(q, K), [0.0]])
    loop_pos = np.concatenate([np.tile(np.arange(L) / L, K), [0.0]])
    uv = np.stack([loop_pos, depth / depth.max()], -1)
    return Part(verts, faces, uv, {"side": sides, "q": qs, "depth": depth, "loop": loop,
                                   "loop_side": side, "loop_q": q})
