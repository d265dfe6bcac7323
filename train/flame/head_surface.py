"""The procedural head's skin surface: a lofted grid of rings with a mouth slit.

Each ring is a super-ellipse (flat face, rounder skull) whose size and height come from a
profile table sampled at feature heights (crown, forehead, brow, eye, ..., neck base); rings
between those are a shape-preserving spline, denser over the face. Columns are denser at the
front. One ring sits exactly at the mouth line; across the mouth it is doubled (upper and lower
lip rows are separate vertices, shared only at the two corners), leaving a slit whose boundary
loop the mouth cavity attaches to. Facial features are smooth displacement bumps.

Units are metres, y up, the face looks towards +z, subject's left is +x (FLAME's axes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

# profile control points: y_front, y_back, half-width a, front depth zf, back depth zb, exponent n
PROFILE = np.array(
    [
        [0.121, 0.121, 0.000, 0.000, 0.000, 2.2],  # 0 crown
        [0.112, 0.110, 0.040, 0.038, 0.048, 2.2],  # 1 top
        [0.092, 0.088, 0.063, 0.066, 0.080, 2.3],  # 2 upper forehead
        [0.062, 0.055, 0.074, 0.083, 0.095, 2.4],  # 3 forehead
        [0.036, 0.025, 0.077, 0.089, 0.099, 2.6],  # 4 brow
        [0.020, 0.005, 0.077, 0.086, 0.097, 2.7],  # 5 eye
        [0.001, -0.015, 0.075, 0.087, 0.092, 2.7],  # 6 cheekbone
        [-0.022, -0.035, 0.071, 0.088, 0.084, 2.6],  # 7 nose base
        [-0.045, -0.050, 0.066, 0.089, 0.074, 2.5],  # 8 mouth line
        [-0.060, -0.060, 0.061, 0.087, 0.066, 2.4],  # 9 lower lip
        [-0.080, -0.070, 0.055, 0.080, 0.060, 2.3],  # 10 chin
        [-0.093, -0.080, 0.050, 0.058, 0.056, 2.2],  # 11 under the chin
        [-0.100, -0.092, 0.049, 0.036, 0.056, 2.1],  # 12 throat
        [-0.125, -0.115, 0.052, 0.040, 0.060, 2.0],  # 13 neck
        [-0.165, -0.165, 0.058, 0.050, 0.068, 2.0],  # 14 neck base
    ]
)
T_MOUTH = 8.0
T_MAX = float(len(PROFILE) - 1)
MOUTH_HALF_WIDTH = 0.024
EYE_RADIUS = 0.0125
EYE_XY = (0.031, 0.021)  # |x|, y of the eyeball centres


@dataclass
class Surface:
    """The skin grid. Per-vertex arrays have length V_s."""

    vertices: np.ndarray  # (V_s, 3)
    faces: np.ndarray  # (F_s, 3) counter-clockwise seen from outside
    t: np.ndarray  # (V_s,) profile parameter (0 crown .. T_MAX neck base)
    t_side: np.ndarray  # (V_s,) t with the lip rows pushed half a ring apart (for jaw weights)
    phi: np.ndarray  # (V_s,) column angle, 0 at the front midline, +x for phi > 0
    base: np.ndarray  # (V_s, 3) positions before feature bumps
    upper_row: np.ndarray  # (L_u,) vertex ids of the upper-lip row, corner to corner (increasing x)
    lower_row: np.ndarray  # (L_u,) vertex ids of the lower-lip row (corners shared with upper_row)
    eye_centres: np.ndarray  # (2, 3) left (+x), right (-x)
    dt_face: float  # ring spacing in t over the face


def _gauss(d2):
    return np.exp(-0.5 * d2)


def _ring_params(n_rings: int) -> np.ndarray:
    """Ring t values: denser over the face (t in [3, 11.5]) and the neck; one ring exactly at the mouth."""
    fine = np.linspace(0.0, T_MAX, 4001)
    dens = 1.0 + 2.6 * np.exp(-0.5 * ((fine - 7.2) / 2.6) ** 4) + 1.3 / (1.0 + np.exp(-(fine - 12.0) / 0.4))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(fine))])
    cdf /= cdf[-1]
    t = np.interp(np.linspace(0.0, 1.0, n_rings), cdf, fine)
    t[np.argmin(np.abs(t - T_MOUTH))] = T_MOUTH
    t[0] = 0.22  # the crown pole is added separately above the first ring
    return t


def _column_angles(n_cols: int) -> np.ndarray:
    u = np.linspace(-np.pi, np.pi, n_cols, endpoint=False)
    return u - 0.55 * np.sin(u)  # denser at the front (phi = 0 is a column)


def _base_positions(t: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Super-ellipse rings: t (R,), phi (C,) -> (R, C, 3)."""
    prof = PchipInterpolator(np.arange(len(PROFILE), dtype=float), PROFILE, axis=0)(t)  # (R, 6)
    yf, yb, a, zf, zb, n = (prof[:, i : i + 1] for i in range(6))
    s, c = np.sin(phi)[None], np.cos(phi)[None]
    e = 2.0 / n
    x = a * np.sign(s) * np.abs(s) ** e
    z = np.where(c >= 0, zf, zb) * np.sign(c) * np.abs(c) ** e
    w = 0.5 * (1.0 + c)
    y = yb + (yf - yb) * w
    return np.stack([x, np.broadcast_to(y, x.shape), z], axis=-1)


def feature_offsets(p: np.ndarray) -> np.ndarray:
    """Smooth facial-feature displacements (N, 3) at base positions p (N, 3)."""
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    front = 1.0 / (1.0 + np.exp(-z / 0.01))
    d = np.zeros_like(p)
    # nose: protrusion along +z, bridge -> tip -> base, widening towards the alae
    ys = np.array([0.034, 0.022, 0.008, -0.004, -0.011, -0.017, -0.023])
    ps = np.array([0.002, 0.006, 0.013, 0.021, 0.024, 0.016, 0.002])
    ws = np.array([0.008, 0.0065, 0.0065, 0.008, 0.0095, 0.011, 0.012])
    prot = np.interp(-y, -ys, ps, left=0.002, right=0.0) * (y > -0.026) * np.clip((y + 0.026) / 0.003, 0, 1)
    prot *= np.where(y > 0.034, np.exp(-0.5 * ((y - 0.034) / 0.006) ** 2), 1.0)
    width = np.interp(-y, -ys, ws)
    d[:, 2] += front * prot * _gauss((x / width) ** 2)
    for sx in (-1.0, 1.0):  # alae (nostril wings)
        d[:, 2] += front * 0.006 * _gauss(((x - sx * 0.013) / 0.005) ** 2 + ((y + 0.016) / 0.005) ** 2)
    # brow ridge and forehead
    d[:, 2] += front * 0.006 * _gauss(((y - 0.037) / 0.007) ** 2 + (x / 0.045) ** 2)
    for sx in (-1.0, 1.0):  # cheekbones (the eye sockets are shaped around the eyeballs later)
        d[:, 2] += front * 0.005 * _gauss(((x - sx * 0.045) / 0.014) ** 2 + ((y + 0.004) / 0.012) ** 2)
    # lips (upper and lower bumps), philtrum groove, chin
    lip_x = _gauss((x / 0.019) ** 4)
    d[:, 2] += front * 0.0065 * lip_x * _gauss(((y + 0.0395) / 0.0045) ** 2)
    d[:, 2] += front * 0.0070 * lip_x * _gauss(((y + 0.0515) / 0.0055) ** 2)
    d[:, 2] -= front * 0.0015 * _gauss((x / 0.003) ** 2 + ((y + 0.032) / 0.005) ** 2)
    d[:, 2] -= front * 0.003 * _gauss((x / 0.02) ** 2 + ((y + 0.062) / 0.004) ** 2)  # labiomental fold
    d[:, 2] += front * 0.008 * _gauss((x / 0.017) ** 2 + ((y + 0.076) / 0.009) ** 2)
    # ears: flaps sticking out sideways, behind the jaw hinge
    side = np.sign(x) * (np.abs(x) > 0.03)
    d[:, 0] += side * 0.017 * ear_mask(p)
    # the concha: a bowl in front of the rim, opening towards the face
    d[:, 0] -= side * 0.008 * _gauss(((y - 0.004) / 0.008) ** 2 + ((z + 0.009) / 0.0055) ** 2)
    return d


def ear_mask(p: np.ndarray) -> np.ndarray:
    """(N,) in [0, 1]: how much a base position belongs to an ear."""
    y, z = p[:, 1], p[:, 2]
    return np.exp(-((((y - 0.010) / 0.026) ** 2 + ((z + 0.014) / 0.013) ** 2) ** 2)) * (np.abs(p[:, 0]) > 0.03)


def build_surface(n_rings: int = 64, n_cols: int = 64) -> Surface:
    """The skin grid with features, lip rows and eye sockets (see the module doc)."""
    t = _ring_params(n_rings)
    phi = _column_angles(n_cols)
    base = _base_positions(t, phi)  # (R, C, 3)
    R, C = base.shape[:2]
    i_m = int(np.argmin(np.abs(t - T_MOUTH)))
    dt_face = float(t[i_m + 1] - t[i_m])
    # slit columns: front, |x| below the mouth half-width (first/last ones are the corners)
    xm = base[i_m, :, 0]
    slit = np.where((np.abs(xm) <= MOUTH_HALF_WIDTH) & (np.cos(phi) > 0))[0]
    j0, j1 = int(slit.min()), int(slit.max())
    interior = np.arange(j0 + 1, j1)

    # vertex ids: crown pole, rings (row-major), doubled lip row, bottom cap centre
    ids = np.arange(R * C).reshape(R, C) + 1
    n = 1 + R * C
    lower_ids = ids[i_m].copy()
    lower_ids[interior] = n + np.arange(len(interior))
    n += len(interior)
    cap = n
    n += 1

    pos = np.zeros((n, 3))
    tv = np.zeros(n)
    ph = np.zeros(n)
    pos[ids.reshape(-1)] = base.reshape(-1, 3)
    tv[ids.reshape(-1)] = np.repeat(t, C)
    ph[ids.reshape(-1)] = np.tile(phi, R)
    crown = base[0].mean(axis=0)
    crown[1] = base[0, :, 1].max() + 0.0015
    pos[0], tv[0], ph[0] = crown, 0.0, 0.0
    pos[lower_ids[interior]] = base[i_m, interior]
    tv[lower_ids[interior]] = T_MOUTH
    ph[lower_ids[interior]] = phi[interior]
    bottom = base[-1].mean(axis=0)
    pos[cap], tv[cap], ph[cap] = bottom, T_MAX, 0.0
    side = np.zeros(n)
    side[ids[i_m, interior]] = -1.0  # upper lip row (virtually half a ring higher)
    side[lower_ids[interior]] = 1.0
    t_side = tv + 0.5 * side * dt_face

    base_all = pos.copy()
    pos = pos + feature_offsets(pos)
    # lip line: the lip rows meet (closed mouth, nothing shows through) slightly inside the lips
    for row in (ids[i_m, interior], lower_ids[interior]):
        x = pos[row, 0]
        pos[row, 2] -= 0.0012 * np.clip(1.0 - (x / MOUTH_HALF_WIDTH) ** 2, 0.0, 1.0)

    faces = []
    jn = (np.arange(C) + 1) % C
    faces.append(np.stack([np.zeros(C, int), ids[0], ids[0, jn]], 1))  # crown fan
    for i in range(R - 1):
        top = lower_ids if i == i_m else ids[i]  # below the mouth line, hang from the lower lip row
        a, b, c, d = top, top[jn], ids[i + 1, jn], ids[i + 1]
        faces.append(np.stack([a, d, c], 1))
        faces.append(np.stack([a, c, b], 1))
    faces.append(np.stack([ids[-1], np.full(C, cap), ids[-1, jn]], 1))  # bottom cap
    faces = np.concatenate(faces).astype(np.int64)

    upper_row = ids[i_m, j0 : j1 + 1]
    lower_row = lower_ids[j0 : j1 + 1]
    eye_centres = _eye_centres(pos)
    pos = _shape_eye_region(pos, eye_centres)
    return Surface(
        vertices=pos, faces=faces, t=tv, t_side=t_side, phi=ph, base=base_all,
        upper_row=upper_row, lower_row=lower_row, eye_centres=eye_centres, dt_face=dt_face,
    )


def _eye_centres(pos: np.ndarray) -> np.ndarray:
    """Eyeball centres (left +x first): the eyeball's front sits just behind the skin at EYE_XY."""
    out = []
    for sx in (1.0, -1.0):
        target = np.array([sx * EYE_XY[0], EYE_XY[1]])
        front = pos[pos[:, 2] > 0.03]
        near = front[np.linalg.norm(front[:, :2] - target, axis=1) < 0.004]
        out.append([target[0], target[1], float(near[:, 2].mean()) - 0.0005 - EYE_RADIUS])
    return np.array(out)


EYE_OPENING = (0.0105, 0.0046)  # half-width, half-height of the almond-shaped lid opening
LID_THICKNESS = 0.0012


def _shape_eye_region(pos: np.ndarray, eye_centres: np.ndarray) -> np.ndarray:
    """Lids wrap the eyeball (skin = sphere + lid thickness near the eye); inside the almond
    opening the skin is pulled behind the eyeball so the eye shows through."""
    pos = pos.copy()
    for c in eye_centres:
        dx, dy = pos[:, 0] - c[0], pos[:, 1] - c[1]
        r2 = dx**2 + dy**2
        front = pos[:, 2] > c[2]
        z_sphere = c[2] + np.sqrt(np.clip(EYE_RADIUS**2 - r2, 0.0, None))
        conform = front * np.exp(-0.5 * (r2 / 0.0085**2) ** 2)
        pos[:, 2] += conform * (z_sphere + LID_THICKNESS - pos[:, 2])
        w, h = EYE_OPENING
        # almond: pointed at the corners, fuller above the centre line
        hh = h * np.where(dy > 0, 1.0, 0.8) * np.sqrt(np.clip(1.0 - (dx / w) ** 2, 0.0, 1.0)) + 1e-4
        ell = np.maximum(np.abs(dx) / w, np.abs(dy) / hh)
        opening = front / (1.0 + np.exp(np.clip((ell - 1.0) / 0.08, -50.0, 50.0)))
        pos[:, 2] -= opening * (LID_THICKNESS + 0.004)
    return pos
