"""Expression basis and identity modes of the procedural head.

Each component is a smooth displacement field (metres per unit coefficient) built from
Gaussian masks around facial landmarks. A coefficient of 1 is a strong but plausible
expression; sensible values lie in about [-1, 1.5] (negative values give the opposite motion).
Teeth and eyeballs are rigid: only `jaw_open` moves the lower teeth (with the jaw); the mouth
cavity follows the lips with a falloff into the mouth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from train.flame.head_rig import gauss, sigmoid

EXPRESSION_NAMES = [
    "jaw_open", "smile", "lip_pucker", "lip_funnel", "mouth_left", "mouth_right", "brow_raise",
    "brow_furrow", "blink_left", "blink_right", "cheek_puff", "nose_wrinkle", "lip_press", "squint",
    "frown", "upper_lip_raise",
]
N_EXPRESSION_COLUMNS = 100  # like FLAME: columns 300..399 of shapedirs, unused ones zero
N_IDENTITY_COLUMNS = 300
JAW_OPEN_RADIANS = 0.12  # jaw_open = 1 rotates the jaw area this much about the hinge axis


@dataclass
class FaceFrame:
    """Geometry the fields are defined against."""

    y_mouth: float
    mouth_half_width: float
    z_mouth: float
    jaw_joint: np.ndarray  # (3,)
    eye_centres: np.ndarray  # (2, 3) left (+x), right (-x)
    eye_radius: float


def _lip_masks(p, f: FaceFrame, lower_side):
    x, y = p[:, 0], p[:, 1]
    front = sigmoid((p[:, 2] - (f.z_mouth - 0.02)) / 0.004)
    lips = front * gauss((x / (f.mouth_half_width * 0.95)) ** 4 + ((y - f.y_mouth) / 0.011) ** 2)
    return lips * (1.0 - lower_side), lips * lower_side, lips


def _corners(p, f: FaceFrame, sigma=0.011):
    x, y = p[:, 0], p[:, 1]
    front = sigmoid((p[:, 2] - 0.04) / 0.006)
    return [front * gauss(((x - s * f.mouth_half_width) / sigma) ** 2 + ((y - f.y_mouth) / sigma) ** 2) for s in (1, -1)]


def _blink(p, f: FaceFrame, k: int):
    """Lids close over eye k: skin near/inside the eyeball is pushed onto a sphere just outside it."""
    c = f.eye_centres[k]
    r_t = f.eye_radius + 0.0012
    d = p - c
    r = np.linalg.norm(d, axis=1) + 1e-9
    s = 0.0008
    push = s * np.log1p(np.exp((r_t - r) / s))  # softplus: ~r_t - r inside, -> 0 outside
    region = gauss(((p[:, 0] - c[0]) / 0.016) ** 2 + ((p[:, 1] - c[1]) / 0.011) ** 2) * (p[:, 2] > c[2] - 0.004)
    out = (push * region)[:, None] * d / r[:, None]
    # the closed lid sags a little: the upper lid travels down most
    lid = gauss(((p[:, 0] - c[0]) / 0.009) ** 2 + ((p[:, 1] - c[1] - 0.008) / 0.005) ** 2) * (p[:, 2] > c[2] - 0.004)
    out[:, 1] -= 0.002 * lid
    return out


def expression_fields(p: np.ndarray, part: np.ndarray, lower_side: np.ndarray, jaw_w: np.ndarray,
                      f: FaceFrame) -> np.ndarray:
    """(V, 3, len(EXPRESSION_NAMES)) displacement fields; eyeballs/teeth rigid (see module doc).

    p: template positions; part: 0 skin, 3 eye, 4 upper teeth, 6 lower teeth, 5 cavity;
    lower_side (V,): 0 above the mouth line .. 1 below; jaw_w (V,): jaw skinning share.
    """
    V = len(p)
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    E = np.zeros((V, 3, len(EXPRESSION_NAMES)))
    col = {n: i for i, n in enumerate(EXPRESSION_NAMES)}
    up_lip, low_lip, lips = _lip_masks(p, f, lower_side)
    cl, cr = _corners(p, f)
    front = sigmoid((z - 0.03) / 0.006)

    # jaw_open: linearised rotation about the hinge (x axis) for the jaw-carried part
    r = p - f.jaw_joint
    E[:, 1, col["jaw_open"]] = -JAW_OPEN_RADIANS * r[:, 2] * jaw_w
    E[:, 2, col["jaw_open"]] = JAW_OPEN_RADIANS * r[:, 1] * jaw_w
    # smile: corners up/out/back, cheeks rise
    for m, s in ((cl, 1), (cr, -1)):
        E[:, 0, col["smile"]] += s * 0.004 * m
        E[:, 1, col["smile"]] += 0.006 * m
        E[:, 2, col["smile"]] -= 0.003 * m
        cheek = front * gauss(((x - s * 0.036) / 0.014) ** 2 + ((y + 0.016) / 0.013) ** 2)
        E[:, 1, col["smile"]] += 0.003 * cheek
        E[:, 2, col["smile"]] += 0.002 * cheek
    # lip_pucker: lips forward and together
    E[:, 2, col["lip_pucker"]] = 0.008 * lips
    E[:, 0, col["lip_pucker"]] = -0.35 * x * lips
    # lip_funnel: lips part into a rounded opening and flare a little (less forward than pucker)
    centre = gauss((x / 0.012) ** 2)
    E[:, 2, col["lip_funnel"]] = 0.003 * lips
    E[:, 1, col["lip_funnel"]] = 0.005 * centre * (up_lip - low_lip)
    E[:, 0, col["lip_funnel"]] = -0.1 * x * lips * (1.0 - centre)
    # mouth_left / mouth_right: the mouth slides sideways, the leading corner pulls back and up
    # (left) or back and down (right), so the two are not mirror images of each other
    for name, s, m, lift in (("mouth_left", 1, cl, 0.003), ("mouth_right", -1, cr, -0.002)):
        mouth = front * gauss(((x - s * 0.01) / 0.025) ** 2 + ((y - f.y_mouth) / 0.016) ** 2)
        E[:, 0, col[name]] = s * 0.005 * mouth
        E[:, 2, col[name]] = -0.004 * m
        E[:, 1, col[name]] = lift * m
    # brow_raise: brows and forehead skin up, upper lids open a little
    brow = front * gauss(((y - 0.036) / 0.013) ** 2 + (x / 0.05) ** 4)
    E[:, 1, col["brow_raise"]] = 0.007 * brow
    E[:, 2, col["brow_raise"]] = 0.001 * brow
    # brow_furrow: inner brows down and together
    for s in (1, -1):
        inner = front * gauss(((x - s * 0.016) / 0.012) ** 2 + ((y - 0.034) / 0.01) ** 2)
        E[:, 1, col["brow_furrow"]] -= 0.004 * inner
        E[:, 0, col["brow_furrow"]] -= s * 0.004 * inner
        E[:, 2, col["brow_furrow"]] += 0.0015 * inner
    E[:, :, col["blink_left"]] = _blink(p, f, 0)
    E[:, :, col["blink_right"]] = _blink(p, f, 1)
    # cheek_puff: cheeks outwards along the horizontal normal, lips a little forward
    for s in (1, -1):
        cheek = front * gauss(((x - s * 0.04) / 0.016) ** 2 + ((y + 0.035) / 0.018) ** 2)
        nrm = np.stack([x, np.zeros_like(x), z], 1)
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True) + 1e-9
        E[:, :, col["cheek_puff"]] += 0.010 * cheek[:, None] * nrm
    E[:, 2, col["cheek_puff"]] += 0.002 * lips
    # nose_wrinkle: nose sides up, upper lip centre up, glabella down
    for s in (1, -1):
        side = front * gauss(((x - s * 0.011) / 0.008) ** 2 + ((y + 0.006) / 0.009) ** 2)
        E[:, 1, col["nose_wrinkle"]] += 0.003 * side
    E[:, 1, col["nose_wrinkle"]] += 0.002 * up_lip * centre
    E[:, 1, col["nose_wrinkle"]] -= 0.002 * front * gauss((x / 0.01) ** 2 + ((y - 0.03) / 0.007) ** 2)
    # lip_press: lips pressed back and narrowed, chin pushed up
    E[:, 2, col["lip_press"]] = -0.003 * lips
    E[:, 0, col["lip_press"]] = -0.08 * x * lips
    E[:, 1, col["lip_press"]] = 0.002 * front * gauss((x / 0.017) ** 2 + ((y + 0.076) / 0.009) ** 2)
    # squint: lower lids up, upper lids a little down, cheeks up
    for c in f.eye_centres:
        low = front * gauss(((x - c[0]) / 0.013) ** 2 + ((y - c[1] + 0.011) / 0.006) ** 2)
        upl = front * gauss(((x - c[0]) / 0.013) ** 2 + ((y - c[1] - 0.011) / 0.005) ** 2)
        E[:, 1, col["squint"]] += 0.003 * low - 0.0015 * upl
        E[:, 2, col["squint"]] += 0.001 * low
    # frown: corners down and out a little, chin up a touch
    for m, s in ((cl, 1), (cr, -1)):
        E[:, 1, col["frown"]] -= 0.005 * m
        E[:, 0, col["frown"]] += s * 0.001 * m
    E[:, 1, col["frown"]] += 0.0015 * front * gauss((x / 0.017) ** 2 + ((y + 0.076) / 0.009) ** 2)
    # upper_lip_raise: the upper lip lifts (showing the upper teeth)
    E[:, 1, col["upper_lip_raise"]] = 0.004 * up_lip * gauss((x / 0.016) ** 2)
    E[:, 2, col["upper_lip_raise"]] = 0.001 * up_lip

    # rigid parts: eyeballs never move with expressions; teeth only with the jaw
    rigid = (part == 3) | (part == 4) | (part == 6)
    jaw_only = E[:, :, col["jaw_open"]].copy()
    E[rigid] = 0.0
    E[part == 6, :, col["jaw_open"]] = jaw_only[part == 6]
    return E


def identity_fields(p: np.ndarray, part: np.ndarray, eye_centres: np.ndarray) -> np.ndarray:
    """(V, 3, 4) identity modes: head width, face length, nose size, jaw width (eyeballs rigid)."""
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    S = np.zeros((len(p), 3, 4))
    S[:, 0, 0] = 0.04 * x
    lower = sigmoid((-0.03 - y) / 0.015) * sigmoid((y + 0.11) / 0.01)
    S[:, 1, 1] = -0.006 * lower
    nose = sigmoid((z - 0.085) / 0.004) * gauss((x / 0.02) ** 2 + ((y + 0.0) / 0.02) ** 2)
    S[:, 2, 2] = 0.004 * nose
    S[:, 0, 3] = 0.08 * x * lower * sigmoid(z / 0.02)
    eye = part == 3
    for c in eye_centres:
        ids = eye & (np.sign(x) == np.sign(c[0]))
        S[ids, 0, 0] = 0.04 * c[0]
    return S
