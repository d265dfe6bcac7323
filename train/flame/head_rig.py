"""Rig of the procedural head: joints + regressor, skinning weights, pose correctives, regions.

All fields are smooth functions of the template positions and of a few per-vertex tags
(which part a vertex belongs to, which side of the mouth line it is on).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

ROOT, NECK, JAW, EYE_L, EYE_R = range(5)
# designed joint positions (metres): root near the neck base, neck at the skull base,
# jaw hinge below/behind the ears on the midline; eyes come from the eyeball centres
JOINT_TARGETS = {ROOT: (0.0, -0.13, -0.012), NECK: (0.0, -0.055, -0.02), JAW: (0.0, -0.03, -0.01)}
REGION_NAMES = ["skin", "lips", "brows", "eyes", "teeth", "mouth_interior", "scalp", "neck", "ears", "nose"]
KINTREE = np.array([[2**32 - 1, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.int64)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def gauss(d2):
    return np.exp(-0.5 * d2)


def jaw_side(t_side: np.ndarray, x: np.ndarray, t_mouth: float, mouth_half_width: float) -> np.ndarray:
    """How much a skin vertex is 'below the mouth line' (0 above .. 1 below), smooth in space.

    Sharp across the slit's centre (the lip rows are a virtual half ring apart), broad beyond the
    mouth corners so the cheeks blend between head and jaw.
    """
    r = np.abs(x) / mouth_half_width
    tau = 0.02 + 0.28 * np.clip(r, 0.0, 1.4) ** 4
    return sigmoid((t_side - t_mouth) / tau)


def jaw_region(p: np.ndarray) -> np.ndarray:
    """(N,) the part of the lower face the jaw carries: in front of the hinge, above the throat."""
    front = sigmoid((p[:, 2] - 0.004) / 0.02)
    above_throat = sigmoid((p[:, 1] + 0.098) / 0.012)
    below_cheeks = sigmoid((-0.015 - p[:, 1]) / 0.01)
    return front * above_throat * below_cheeks


def root_weight(p: np.ndarray) -> np.ndarray:
    """Lower neck follows the root, upper neck and head the neck joint."""
    return sigmoid((-0.125 - p[:, 1]) / 0.014)


def skinning_weights(p: np.ndarray, jaw_w: np.ndarray, part: np.ndarray, eye_side: np.ndarray) -> np.ndarray:
    """(N, 5) weights from positions, the jaw share (N,), part tags and eye side (+1 left)."""
    w = np.zeros((len(p), 5))
    wr = root_weight(p)
    wj = jaw_w * (1.0 - wr)
    w[:, ROOT] = wr
    w[:, JAW] = wj
    w[:, NECK] = 1.0 - wr - wj
    eye = part == 3
    w[eye] = 0.0
    w[eye & (eye_side > 0), EYE_L] = 1.0
    w[eye & (eye_side < 0), EYE_R] = 1.0
    return w


def regress(vertices: np.ndarray, candidates: np.ndarray, target, ridge: float = 3e-3) -> np.ndarray:
    """Non-negative, sum-to-one weights over `candidates` whose average is ~`target` (3,).

    A small ridge term spreads the weights over many vertices (like FLAME's regressor).
    """
    P = vertices[candidates].T  # (3, n)
    n = P.shape[1]
    A = np.concatenate([P, 10.0 * np.ones((1, n)), ridge * np.eye(n)])
    b = np.concatenate([np.asarray(target, float), [10.0], np.zeros(n)])
    w, _ = nnls(A, b, maxiter=50 * n)
    return w / w.sum()


def joint_regressor(v: np.ndarray, part: np.ndarray, eye_side: np.ndarray, face_mask: np.ndarray) -> np.ndarray:
    """(5, V) regressor: root/neck/jaw from skin vertices around them, eyes = eyeball means.

    `face_mask` (V,) excludes vertices that expressions move a lot (lips, chin)."""
    V = len(v)
    J = np.zeros((5, V))
    skin = part == 0
    y, z = v[:, 1], v[:, 2]
    sets = {
        ROOT: np.where(skin & (np.abs(y + 0.13) < 0.012))[0],
        NECK: np.where(skin & (np.abs(y + 0.055) < 0.012) & (z < 0.02) & ~face_mask)[0],
        JAW: np.where(skin & (np.abs(y + 0.03) < 0.012) & (z < 0.02) & ~face_mask)[0],
    }
    for j, cand in sets.items():
        J[j, cand] = regress(v, cand, JOINT_TARGETS[j])
    for j, s in ((EYE_L, 1.0), (EYE_R, -1.0)):
        ids = np.where((part == 3) & (eye_side == s))[0]
        J[j, ids] = 1.0 / len(ids)
    return J


def lid_masks(p: np.ndarray, eye_centres: np.ndarray, radius: float):
    """(upper, lower) eyelid masks per eye: lists of (N,) arrays, index 0 = left (+x)."""
    up, low = [], []
    for c in eye_centres:
        dx, dy = (p[:, 0] - c[0]) / 0.014, p[:, 1] - c[1]
        front = sigmoid((p[:, 2] - c[2]) / 0.003)
        up.append(front * gauss(dx**2 + ((dy - 0.009) / 0.005) ** 2))
        low.append(front * gauss(dx**2 + ((dy + 0.009) / 0.005) ** 2))
    return up, low


def pose_correctives(p: np.ndarray, part: np.ndarray, jaw_w: np.ndarray, eye_centres: np.ndarray,
                     radius: float) -> np.ndarray:
    """(V, 3, 36) posedirs. Entry of joint j (1..4), matrix element (r, c): 9 (j-1) + 3 r + c.

    * neck nod (R[2,1] = sin of the x rotation): the front of the neck bulges when nodding down;
    * neck turn (R[0,2]): the side of the neck bulges towards the turn;
    * jaw opening (R[2,1]): cheeks draw in, the soft tissue under the chin stretches down;
    * eye gaze down (R[2,1]) / sideways (R[0,2]): the upper lids follow the eyes.
    """
    V = len(p)
    P = np.zeros((V, 3, 36))
    skin = part == 0
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    neck_front = skin * gauss(((y + 0.105) / 0.015) ** 2 + (x / 0.03) ** 2) * sigmoid((z - 0.01) / 0.006)
    P[:, 2, 9 * 0 + 3 * 2 + 1] = 0.014 * neck_front
    P[:, 1, 9 * 0 + 3 * 2 + 1] = -0.004 * neck_front
    neck_side = skin * gauss(((y + 0.11) / 0.02) ** 2) * sigmoid((np.abs(x) - 0.03) / 0.006) * sigmoid(z / 0.01)
    P[:, 0, 9 * 0 + 3 * 0 + 2] = 0.008 * neck_side * np.sign(x) * (x > 0)
    P[:, 2, 9 * 0 + 3 * 0 + 2] = 0.004 * neck_side * (x < 0)
    cheeks = skin * sum(gauss(((x - s * 0.04) / 0.013) ** 2 + ((y + 0.04) / 0.013) ** 2) for s in (-1, 1))
    P[:, 0, 9 * 1 + 3 * 2 + 1] = -0.006 * cheeks * np.sign(x)
    under_chin = skin * jaw_w * gauss(((y + 0.092) / 0.01) ** 2 + (x / 0.035) ** 2)
    P[:, 1, 9 * 1 + 3 * 2 + 1] = -0.006 * under_chin
    up, _ = lid_masks(p, eye_centres, radius)
    for k, j in ((0, 3), (1, 4)):
        lid = skin * up[k]
        P[:, 1, 9 * (j - 1) + 3 * 2 + 1] = -0.007 * lid
        P[:, 0, 9 * (j - 1) + 3 * 0 + 2] = 0.003 * lid
    return P


def regions(p_base: np.ndarray, p: np.ndarray, part: np.ndarray, phi: np.ndarray, ear: np.ndarray,
            nose: np.ndarray, y_mouth: float, mouth_half_width: float, eye_centres: np.ndarray) -> np.ndarray:
    """(V,) index into REGION_NAMES."""
    R = {n: i for i, n in enumerate(REGION_NAMES)}
    out = np.full(len(p), R["skin"])
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    skin = part == 0
    hairline = -0.045 + (0.078 + 0.045) * (0.5 * (1 + np.cos(phi))) ** 0.6
    scalp = skin & (p_base[:, 1] > hairline)
    out[scalp] = R["scalp"]
    out[skin & (y < -0.097) | skin & (z < -0.01) & (y < -0.06)] = R["neck"]
    out[skin & (ear > 0.35)] = R["ears"]
    out[skin & (nose > 0.0035) & (np.abs(x) < 0.022) & (y > -0.026) & (y < 0.028)] = R["nose"]
    for c in eye_centres:
        dx = (x - c[0]) / 0.021
        arch = 0.036 + 0.004 * np.cos(np.clip(dx, -1.5, 1.5))
        brow = skin & (z > 0.04) & (np.abs(dx) < 1.0) & (np.abs(y - arch) < 0.0045 * (1.2 - 0.5 * np.abs(dx)))
        out[brow] = R["brows"]
    up = (y - y_mouth) / 0.0085
    lo = (y - y_mouth) / 0.0115
    ell = (x / (mouth_half_width * 1.05)) ** 2 + np.where(y > y_mouth, up, lo) ** 2
    out[skin & (z > 0.05) & (ell < 1.0)] = R["lips"]
    out[part == 3] = R["eyes"]
    out[(part == 4) | (part == 6)] = R["teeth"]
    out[part == 5] = R["mouth_interior"]
    return out
