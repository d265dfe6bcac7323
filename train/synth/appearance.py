"""The synthetic subject's appearance, known exactly: solid textures of the original-space
(zero pose / zero expression) surface position and region, plus a fixed-light shading model.

* skin: base tone, blotches, fine mottling and pores (value noise at several scales);
* lips, brows (streaky hair), scalp, neck, ears, nose: region colours with their own detail;
* eyes: sclera, iris with radial streaks and a limbal ring, pupil; painted around each eye's
  forward axis in original space, so they turn with the eye joints;
* mouth interior (dark red, darker deeper in) and teeth (white with gaps), revealed by the jaw;
* forehead wrinkles whose strength follows the brow-raise coefficient (expression-dependent);
* shading: ambient + Lambert + Blinn-Phong specular on the deformed normal, light fixed in world;
* hair shells: strand-like alpha (strands flow from a crown point), denser inside.

All colours are display-referred sRGB in [0, 1] (`train.conventions`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from train.synth.noise import ValueNoise

SKIN = (0.80, 0.59, 0.48)
LIPS = (0.74, 0.31, 0.34)
BROWS = (0.2, 0.13, 0.09)
SCLERA = (0.94, 0.92, 0.88)
IRIS = (0.25, 0.47, 0.55)
PUPIL = (0.03, 0.03, 0.04)
TEETH = (0.95, 0.93, 0.84)
MOUTH = (0.45, 0.1, 0.11)
SCALP = (0.3, 0.2, 0.15)
HAIR = (0.21, 0.135, 0.085)

#: (specular weight multiplier, shininess) per region name; others use the skin values
SPECULAR = {"eyes": (2.2, 160.0), "lips": (1.3, 40.0), "teeth": (1.0, 60.0), "mouth_interior": (0.4, 20.0),
            "brows": (0.3, 12.0), "scalp": (0.3, 12.0)}
SKIN_SPECULAR = (1.0, 24.0)


@dataclass
class Landmarks:
    """Original-space reference points of the head (world units) the textures are laid out on."""

    eye_centers: Tensor
    """(2, 3) eyeball centres (the eye joints)."""
    eye_radius: float
    """Eyeball radius."""
    brow_top: float
    """Height (y) of the top of the brows."""
    hairline: float
    """Height (y) where the scalp begins above the forehead."""
    forehead_halfwidth: float
    """Half width (x) of the wrinkled forehead band."""
    mouth_center: Tensor
    """(3,) centre of the mouth (teeth and cavity)."""
    head_center: Tensor
    """(3,) centre of the cranium."""
    crown: Tensor
    """(3,) unit axis from head_center to the crown where the hair strands start."""


def head_landmarks(x_o: Tensor, vertex_regions: Tensor, region_names: list[str], joints_o: Tensor) -> Landmarks:
    """Landmarks from the original-space vertices (V, 3), per-vertex region ids (V,) and the
    original-space joints (5, 3) (eyes are joints 3 and 4)."""

    def pts(name: str) -> Tensor:
        if name not in region_names:
            raise ValueError(f"morphable model has no region {name!r}; regions: {region_names}")
        p = x_o[vertex_regions == region_names.index(name)]
        if p.shape[0] == 0:
            raise ValueError(f"morphable model region {name!r} has no vertices")
        return p

    eye_c = joints_o[3:5].clone()
    eyes = pts("eyes")
    d = torch.cdist(eyes, eye_c).min(1).values
    eye_r = float(d.median())
    brows = pts("brows")
    brow_top = float(brows[:, 1].max())
    scalp = pts("scalp")
    front = scalp[scalp[:, 2] > eye_c[:, 2].mean() - eye_r]
    hairline = float(torch.quantile(front[:, 1], 0.05)) if front.shape[0] > 10 else brow_top + 0.25
    mouth = torch.cat([pts("teeth"), pts("mouth_interior")])
    head_c = torch.stack([torch.zeros(()), scalp[:, 1].min() * 0.5 + scalp[:, 1].max() * 0.5, scalp[:, 2].mean()])
    crown = torch.tensor([0.0, 1.0, -0.45])
    return Landmarks(
        eye_centers=eye_c,
        eye_radius=eye_r,
        brow_top=brow_top,
        hairline=max(hairline, brow_top + 0.05),
        forehead_halfwidth=float(brows[:, 0].abs().max()) * 0.9,
        mouth_center=mouth.mean(0),
        head_center=head_c,
        crown=crown / crown.norm(),
    )


def _rgb(c, like: Tensor) -> Tensor:
    return torch.tensor(c, dtype=like.dtype, device=like.device)


def _smoothstep(a: float, b: float, x: Tensor) -> Tensor:
    t = ((x - a) / (b - a)).clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# two fixed rotations: summing noise in rotated frames hides the lattice's axis-aligned look
_ROT1 = torch.linalg.qr(torch.tensor([[0.8, -0.3, 0.5], [0.4, 0.9, -0.1], [-0.4, 0.2, 0.9]]))[0]
_ROT2 = torch.linalg.qr(torch.tensor([[0.3, 0.9, -0.3], [-0.9, 0.3, 0.2], [0.2, 0.3, 0.9]]))[0]


def skin_albedo(x: Tensor, noise: ValueNoise) -> Tensor:
    """Skin colour (P, 3) at original-space points x (P, 3): tone, blotches, mottling, pores."""
    base = _rgb(SKIN, x).expand(x.shape[0], 3)
    blotch = noise.fbm(x, 3.0, octaves=2) - 0.5  # large patches: redder / paler
    mottle = noise(x @ _ROT1 + 3.7, 22.0) - 0.5
    pores = 0.5 * (noise(x @ _ROT1 + 9.1, 110.0) + noise(x @ _ROT2 + 1.3, 110.0))
    pores = _smoothstep(0.64, 0.8, pores)
    c = base * (1.0 + 0.12 * mottle[:, None])
    c = c + blotch[:, None] * torch.tensor([0.09, -0.01, -0.03], dtype=x.dtype)
    return c * (1.0 - 0.16 * pores[:, None])


def wrinkles(x: Tensor, brow_raise: Tensor, lm: Landmarks, noise: ValueNoise) -> Tensor:
    """Forehead wrinkle darkening (P,) in [0, 1) at original-space x (P, 3); brow_raise (P,) is the
    brow-raise coefficient of each point's frame (no wrinkles at <= 0, full at >= 1)."""
    y0, y1 = lm.brow_top + 0.02, lm.hairline - 0.01
    band = _smoothstep(y0, y0 + 0.03, x[:, 1]) * (1.0 - _smoothstep(y1 - 0.05, y1, x[:, 1]))
    band = band * (1.0 - _smoothstep(0.7 * lm.forehead_halfwidth, lm.forehead_halfwidth, x[:, 0].abs()))
    wobble = 0.012 * (noise(x * torch.tensor([1.0, 0.2, 1.0]), 6.0) - 0.5)
    period = max((y1 - y0) / 4.5, 1e-3)
    ridge = 0.5 + 0.5 * torch.cos(2.0 * math.pi * (x[:, 1] + wobble - y0) / period)
    lines = ridge**6 * (0.6 + 0.4 * noise(x, 9.0))
    return band * lines * brow_raise.clamp(0.0, 1.0)


def eye_albedo(x: Tensor, lm: Landmarks) -> Tensor:
    """Eyeball colour (P, 3): sclera, iris, pupil around each eye's forward (+z) axis."""
    c = lm.eye_centers.to(x)
    k = torch.cdist(x, c).argmin(1)
    d = x - c[k]
    d = d / d.norm(dim=1, keepdim=True).clamp_min(1e-9)
    ang = torch.acos(d[:, 2].clamp(-1.0, 1.0))  # angle from the gaze axis
    iris_r, pupil_r = 0.42, 0.17  # radians on the eyeball
    around = torch.atan2(d[:, 1], d[:, 0])
    streak = 0.75 + 0.25 * torch.cos(23.0 * around) * torch.cos(7.0 * around + 1.3)
    iris = _rgb(IRIS, x) * streak[:, None]
    iris = iris * (1.0 - 0.6 * _smoothstep(iris_r - 0.08, iris_r, ang))[:, None]  # limbal ring
    sclera = _rgb(SCLERA, x) * (1.0 - 0.12 * _smoothstep(0.8, 1.5, ang))[:, None]
    sclera = sclera + torch.tensor([0.04, -0.03, -0.03]) * _smoothstep(0.9, 1.4, ang)[:, None]
    out = torch.where((ang < iris_r)[:, None], iris, sclera)
    return torch.where((ang < pupil_r)[:, None], _rgb(PUPIL, x).expand_as(out), out)


SOFT_REGIONS = ("lips", "brows", "scalp")
"""Regions blended by interpolated per-vertex weights (smooth borders on the skin surface)."""


def head_albedo(
    x: Tensor,
    region: Tensor,
    soft: Tensor,
    brow_raise: Tensor,
    lm: Landmarks,
    noise: ValueNoise,
    region_names: list[str],
    wrinkle_strength: float,
) -> Tensor:
    """Albedo (P, 3) of the head surface.

    x (P, 3) original-space points; region (P,) triangle region ids; soft (P, 3) interpolated
    weights of SOFT_REGIONS (per-vertex one-hot, so borders blend over one triangle);
    brow_raise (P,) the frame's brow-raise coefficient.
    """
    rid = {n: i for i, n in enumerate(region_names)}
    out = skin_albedo(x, noise)
    if "skin" in rid:
        w = wrinkles(x, brow_raise, lm, noise) * wrinkle_strength * (region == rid["skin"])
        out = out * (1.0 - w[:, None])

    def blend(w: Tensor, fn) -> None:
        nonlocal out
        m = torch.nonzero(w > 1e-4).squeeze(1)
        if m.numel():
            out = out.clone()
            out[m] = torch.lerp(out[m], fn(x[m]), w[m, None])

    wl, wb, ws = soft[:, 0].clamp(0, 1), soft[:, 1].clamp(0, 1), soft[:, 2].clamp(0, 1)
    blend(wl, lambda p: _rgb(LIPS, p) * (0.92 + 0.16 * noise(p, torch.tensor([90.0, 12.0, 90.0])))[:, None])
    blend(ws, lambda p: _rgb(SCALP, p) * (0.85 + 0.3 * noise(p, 30.0))[:, None])
    # brows: hairs along x; the streak noise roughens the border into hair tips
    streak = noise(x, torch.tensor([10.0, 70.0, 70.0]))
    brow_w = _smoothstep(0.25, 0.6, wb + 0.4 * (streak - 0.5)) * (wb > 0.02)
    blend(brow_w, lambda p: _rgb(BROWS, p) * (0.75 + 0.5 * noise(p, torch.tensor([12.0, 80.0, 80.0])))[:, None])
    for name, fn in (
        ("eyes", lambda p: eye_albedo(p, lm)),
        ("teeth", lambda p: _teeth(p, lm)),
        ("mouth_interior", lambda p: _rgb(MOUTH, p) * (0.55 + 0.45 * _smoothstep(-0.25, 0.0, p[:, 2] - lm.mouth_center[2]))[:, None]),
    ):
        if name in rid:
            blend((region == rid[name]).float(), fn)
    return out.clamp(0.0, 1.0)


def _teeth(p: Tensor, lm: Landmarks) -> Tensor:
    """Teeth: ivory with darker gaps every few degrees around the mouth centre."""
    c = lm.mouth_center.to(p)
    ang = torch.atan2(p[:, 0] - c[0], p[:, 2] - c[2] + 0.15)
    gap = _smoothstep(0.75, 0.95, torch.cos(ang * 11.0).abs())
    return _rgb(TEETH, p) * (1.0 - 0.35 * (1.0 - gap))[:, None] * (0.93 + 0.07 * gap)[:, None]


def specular_params(region: Tensor, region_names: list[str]) -> tuple[Tensor, Tensor]:
    """Per-point specular weight multiplier and shininess (each (P,)) from region ids (P,)."""
    ks = torch.full(region.shape, SKIN_SPECULAR[0])
    sh = torch.full(region.shape, SKIN_SPECULAR[1])
    for name, (k, s) in SPECULAR.items():
        if name in region_names:
            m = region == region_names.index(name)
            ks[m], sh[m] = k, s
    return ks, sh


def shade(albedo: Tensor, normal: Tensor, view: Tensor, light: Tensor, ks: Tensor, shininess: Tensor) -> Tensor:
    """Lit colour (P, 3): ambient + Lambert + Blinn-Phong.

    albedo (P, 3); normal (P, 3) unit, world; view (P, 3) unit direction camera -> point;
    light (3,) unit direction towards the light; ks, shininess (P,).
    """
    ndl = (normal * light).sum(1).clamp_min(0.0)
    h = light[None] - view
    h = h / h.norm(dim=1, keepdim=True).clamp_min(1e-9)
    ndh = (normal * h).sum(1).clamp_min(0.0)
    spec = ks * ndh.pow(shininess) * (ndl > 0)
    return (albedo * (0.4 + 0.68 * ndl)[:, None] + spec[:, None]).clamp(0.0, 1.0)


def hair_alpha(x: Tensor, shell: int, n_shells: int, edge: Tensor, lm: Landmarks, noise: ValueNoise, strands: float) -> Tensor:
    """Alpha (P,) of hair shell `shell` (0 = innermost of n_shells) at original-space x (P, 3).

    Strands run from the crown; each shell is shifted half a strand so shells interleave; inner
    shells are dense, outer ones sparse; `edge` (P,) in [0, 1] fades the shell at the hairline.
    """
    d = x - lm.head_center.to(x)
    a = lm.crown.to(x)
    # azimuth around the crown axis
    e1 = torch.linalg.cross(a, torch.tensor([1.0, 0.0, 0.0], dtype=x.dtype), dim=0)
    e1 = e1 / e1.norm()
    e2 = torch.linalg.cross(a, e1, dim=0)
    phi = torch.atan2((d * e2).sum(1), (d * e1).sum(1))
    s = phi * (strands / (2.0 * math.pi)) + 2.5 * (noise(x, 2.5) - 0.5) + 0.5 * shell
    profile = 0.5 + 0.5 * torch.cos(2.0 * math.pi * s)
    clumps = noise(x + 5.0 * shell, 14.0)
    strand = _smoothstep(0.3, 0.9, profile * (0.6 + 0.6 * clumps))
    t = shell / max(n_shells - 1, 1)
    density = 0.97 - 0.5 * t
    floor = 0.55 - 0.45 * t
    return density * (floor + (1.0 - floor) * strand) * edge.clamp(0.0, 1.0)


def hair_albedo(x: Tensor, shell: int, n_shells: int, noise: ValueNoise) -> Tensor:
    """Hair colour (P, 3): dark brown with per-strand variation; outer shells a bit lighter."""
    t = shell / max(n_shells - 1, 1)
    var = noise(x * torch.tensor([1.0, 0.3, 1.0]), 40.0)
    return _rgb(HAIR, x) * (0.8 + 0.4 * var[:, None]) * (1.0 + 0.35 * t)
