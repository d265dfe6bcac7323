"""Render the procedural head with its exact appearance: the head (opaque) plus the nested hair
shells (semi-transparent), each rasterised with `train.raster`, shaded per pixel from the
interpolated original-space position, depth-sorted per pixel and composited front to back, then
box-filtered from `supersample`x resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from train import raster
from train.conventions import clip_space, project
from train.synth import appearance as app
from train.synth.config import SynthConfig
from train.synth.hair import HairShells, build_hair_shells, smooth_vertex_field, vertex_normals
from train.synth.noise import ValueNoise


SOFT_SMOOTHING = (2, 1, 3)  # neighbour-averaging rounds of the lips, brows, scalp weights (round borders)


@dataclass
class Frames:
    """A rendered batch at the output resolution."""

    image: Tensor
    """(B, H, W, 3) colour in [0, 1], composited over the background (what a camera sees)."""
    straight: Tensor
    """(B, H, W, 3) what `image/<k>.png` stores: the straight (un-premultiplied) colour of head and
    hair, colour / alpha, wherever alpha > 0, and the background elsewhere. With the mask, a loader's
    `image * mask + white * (1 - mask)` is then exactly the render over white; storing `image`
    instead leaks alpha (1 - alpha) x background into every translucent hair pixel (38 dB from the
    exact render at 512 px), a target no avatar can match."""
    alpha: Tensor
    """(B, H, W) exact coverage x opacity of head and hair, in [0, 1]."""
    head_alpha: Tensor
    """(B, H, W) coverage of the opaque head surface alone."""
    depth: Tensor
    """(B, H, W) camera distance (-z in camera space) of the head surface; 0 where head_alpha < 0.5."""


def brow_raise_index(names: list[str]) -> int:
    """Index of the brow-raise expression component (drives the forehead wrinkles)."""
    for i, n in enumerate(names):
        low = n.lower()
        if "brow" in low and ("raise" in low or "up" in low):
            return i
    raise ValueError(f"the morphable model has no brow-raise expression component; names: {names}")


def face_regions(vertex_regions: Tensor, faces: Tensor) -> Tensor:
    """(F,) region per triangle: the region two of its vertices share, else its first vertex's."""
    r = vertex_regions[faces.long()]
    return torch.where(r[:, 1] == r[:, 2], r[:, 1], r[:, 0])


def front_facing(verts: Tensor, faces: Tensor, cam: Tensor) -> Tensor:
    """(B, F) bool: triangle faces the camera (counter-clockwise seen from outside).

    Each layer shows its nearest front-facing fragment (docs/formats.md, playback step 5), so
    back faces are culled before rasterizing, which also halves the rasterizer's work."""
    f = faces.long()
    a, b, c = verts[:, f[:, 0]], verts[:, f[:, 1]], verts[:, f[:, 2]]
    n = torch.linalg.cross(b - a, c - a, dim=-1)
    return (n * (cam - a)).sum(-1) > 0


def layer_fragments(
    verts: Tensor, faces: Tensor, attr: Tensor, K, w2c: Tensor, size: tuple[int, int]
) -> tuple[Tensor, Tensor, Tensor]:
    """Visible fragments of one layer: its nearest front-facing triangle per pixel.

    verts (B, V, 3) world; faces (F, 3); attr (B, V, C) per-vertex data to interpolate; K (3, 3)
    pixels, w2c (4, 4), size (H, W) of the whole image. Each frame is rasterized only over the
    bounding box of its projection (same pixel grid, principal point shifted), which keeps the
    dense buffers of the rasterizer small.
    Returns flat pixel ids b*H*W + row*W + col (P,), triangle ids into `faces` (P,), attr (P, C).
    """
    H, W = size
    K = np.asarray(K, dtype=np.float64)
    cam = torch.linalg.inv(w2c)[:3, 3]
    keep = front_facing(verts, faces, cam)
    Kt = torch.as_tensor(K, dtype=torch.float32)
    pix, tid, vals = [], [], []
    for b in range(verts.shape[0]):
        idx = torch.nonzero(keep[b]).squeeze(1)
        if idx.numel() == 0:
            continue
        f = faces[idx]
        uv = project(verts[b, torch.unique(f.long())], Kt, w2c)
        x0, y0 = (int(max(0, math.floor(float(uv[:, i].min())) - 1)) for i in (0, 1))
        x1, y1 = int(min(W, math.ceil(float(uv[:, 0].max())) + 1)), int(min(H, math.ceil(float(uv[:, 1].max())) + 1))
        if x1 <= x0 or y1 <= y0:
            continue
        Kc = K.copy()
        Kc[0, 2] -= x0
        Kc[1, 2] -= y0
        clip = clip_space(verts[b : b + 1], Kc, w2c, x1 - x0, y1 - y0)
        r = raster.rasterize(clip, f, (y1 - y0, x1 - x0))
        t = r[0, ..., 3].round().long()
        rows, cols = torch.nonzero(t > 0, as_tuple=True)
        ip = raster.interpolate(attr[b : b + 1].contiguous(), r, f)[0]
        pix.append(b * H * W + (rows + y0) * W + cols + x0)
        tid.append(idx[t[rows, cols] - 1])
        vals.append(ip[rows, cols])
    if not pix:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), torch.zeros(0, attr.shape[-1])
    return torch.cat(pix), torch.cat(tid), torch.cat(vals)


def background(cfg: SynthConfig, height: int, width: int) -> Tensor:
    """(H, W, 3) vertical gradient from `background_top` to `background_bottom`."""
    t = ((torch.arange(height, dtype=torch.float32) + 0.5) / height)[:, None, None]
    top, bot = torch.tensor(cfg.background_top), torch.tensor(cfg.background_bottom)
    return (top * (1 - t) + bot * t).expand(height, width, 3).contiguous()


class SubjectRenderer:
    """Renders frames of the synthetic subject for given parameters and camera.

    model: `train.flame.MorphableModel` of the procedural head (needs `region_names`,
    `vertex_regions`, `expression_names`).
    """

    def __init__(self, model, cfg: SynthConfig):
        if model.vertex_regions is None or model.region_names is None or model.expression_names is None:
            raise ValueError("the synthetic subject needs the procedural head (regions and expression names)")
        self.model, self.cfg = model, cfg
        self.faces = model.faces.to(torch.int32)
        self.x_o = model.v_template.float()  # original space: zero pose, zero expression
        self.region_names = list(model.region_names)
        self.vertex_regions = model.vertex_regions.long()
        self.face_region = face_regions(self.vertex_regions, self.faces)
        self.skin_weights = model.skin_weights.float()
        soft = torch.stack(
            [(self.vertex_regions == self.region_names.index(n)).float() if n in self.region_names else torch.zeros(len(self.x_o))
             for n in app.SOFT_REGIONS], 1)
        self.soft = torch.stack(  # (V, 3) weights of the soft-bordered regions
            [smooth_vertex_field(soft[:, i : i + 1], self.faces, k)[:, 0] for i, k in enumerate(SOFT_SMOOTHING)], 1)
        self.landmarks = app.head_landmarks(self.x_o, self.vertex_regions, self.region_names, model.joints_template.float())
        self.shells: HairShells = build_hair_shells(
            self.x_o, self.faces, self.vertex_regions, self.region_names, cfg.hair_shells, cfg.hair_thickness
        )
        self.brow = brow_raise_index(list(model.expression_names))
        self.noise = ValueNoise(cfg.seed)
        light = torch.tensor(cfg.light_direction, dtype=torch.float32)
        self.light = light / light.norm()

    # ------------------------------------------------------------------------------ geometry
    @torch.no_grad()
    def layer_meshes(self, expression: Tensor, pose: Tensor) -> list[dict]:
        """Deformed meshes of one batch, inner to outer: the head, then each hair shell.

        Each item: verts (B, Vl, 3) world, faces (Fl, 3) int32, x_o (Vl, 3) original space,
        extra (Vl, 3) interpolated per-vertex data (head: SOFT_REGIONS weights; shells: the hairline
        fade, repeated), shell (-1 for the head).
        """
        out = self.model(expression.float(), pose.float())
        layers = [dict(verts=out.vertices, faces=self.faces, x_o=self.x_o, extra=self.soft, shell=-1)]
        for i in range(self.shells.n_shells):
            layers.append(
                dict(
                    verts=self.shells.deform(out.vertices, out.transforms, self.skin_weights, i),
                    faces=self.shells.faces,
                    x_o=self.shells.original(self.x_o, i),
                    extra=self.shells.edge[:, None].expand(-1, 3),
                    shell=i,
                )
            )
        return layers

    # ------------------------------------------------------------------------------ rendering
    @torch.no_grad()
    def render(self, expression: Tensor, pose: Tensor, K, w2c) -> Frames:
        """expression (B, n_exp), pose (B, 15); K (3, 3) pixels (fx < 0), w2c (4, 4) -> Frames."""
        cfg, ss = self.cfg, self.cfg.supersample
        res = cfg.resolution
        H = W = res * ss
        Kss = np.array(K, dtype=np.float64)
        Kss[:2] *= ss  # sub-pixel grid: pixel c covers sub-pixels [c*ss, (c+1)*ss)
        w2c = torch.as_tensor(np.asarray(w2c), dtype=torch.float32)
        cam = torch.linalg.inv(w2c)[:3, 3]
        B = expression.shape[0]
        N = B * H * W
        frags = []  # per layer: (flat pixel ids (P,), rgb (P, 3), alpha (P,), camera distance (P,))
        for layer in self.layer_meshes(expression, pose):
            verts = layer["verts"]
            normals = vertex_normals(verts, layer["faces"])
            attr = torch.cat([layer["x_o"].expand(B, -1, -1), verts, normals, layer["extra"].expand(B, -1, -1)], -1)
            pix, tid, ip = layer_fragments(verts, layer["faces"], attr, Kss, w2c, (H, W))  # ip (P, 12)
            frame = torch.div(pix, H * W, rounding_mode="floor")
            x_o, x_w = ip[:, 0:3], ip[:, 3:6]
            n = ip[:, 6:9] / ip[:, 6:9].norm(dim=1, keepdim=True).clamp_min(1e-9)
            view = x_w - cam
            view = view / view.norm(dim=1, keepdim=True).clamp_min(1e-9)
            if layer["shell"] < 0:
                region = self.face_region[tid]
                albedo = app.head_albedo(
                    x_o, region, ip[:, 9:12], expression[frame, self.brow].float(), self.landmarks, self.noise,
                    self.region_names, cfg.wrinkle_strength,
                )
                ks, sh = app.specular_params(region, self.region_names)
                rgb = app.shade(albedo, n, view, self.light, ks * cfg.specular, sh)
                a = torch.ones(rgb.shape[0])
            else:
                i, L = layer["shell"], self.shells.n_shells
                a = app.hair_alpha(x_o, i, L, ip[:, 9], self.landmarks, self.noise, cfg.hair_strands)
                albedo = app.hair_albedo(x_o, i, L, self.noise)
                rgb = app.shade(albedo, n, view, self.light, torch.full_like(a, 0.5 * cfg.specular), torch.full_like(a, 30.0))
            z = -(x_w @ w2c[2, :3] + w2c[2, 3])  # camera distance along the view axis
            frags.append((pix, rgb, a, z))
        color, alpha = composite(frags, N)
        head_pix, _, _, head_z = frags[0]
        head_cov = torch.zeros(N)
        head_cov[head_pix] = 1.0
        zsum = torch.zeros(N)
        zsum[head_pix] = head_z
        down = lambda t: (F.avg_pool2d(t, ss) if ss > 1 else t)  # noqa: E731  (B, C, H, W)
        color = down(color.reshape(B, H, W, 3).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        alpha = down(alpha.reshape(B, 1, H, W))[:, 0]
        head_alpha = down(head_cov.reshape(B, 1, H, W))[:, 0]
        zsum = down(zsum.reshape(B, 1, H, W))[:, 0]
        depth = torch.where(head_alpha >= 0.5, zsum / head_alpha.clamp_min(1e-9), torch.zeros_like(zsum))
        bg = background(cfg, res, res)
        image = color + (1.0 - alpha)[..., None] * bg
        straight = torch.where((alpha > 0)[..., None], color / alpha.clamp_min(1e-12)[..., None], bg)
        return Frames(image=image.clamp(0, 1), straight=straight.clamp(0, 1), alpha=alpha.clamp(0, 1),
                      head_alpha=head_alpha, depth=depth)


def composite(frags: list[tuple[Tensor, Tensor, Tensor, Tensor]], n_pixels: int) -> tuple[Tensor, Tensor]:
    """Front-to-back "over" of per-layer fragments, depth-sorted per pixel.

    frags: per layer (pixel ids (P,), rgb (P, 3), alpha (P,), depth (P,)); at most one fragment
    per layer and pixel. Returns premultiplied colour (n_pixels, 3) and alpha (n_pixels,).
    """
    L = len(frags)
    count = torch.zeros(n_pixels, dtype=torch.int8)
    for pix, *_ in frags:
        count[pix] += 1
    color = torch.zeros(n_pixels, 3)
    alpha = torch.zeros(n_pixels)
    for pix, rgb, a, _ in frags:  # pixels one layer covers alone need no sorting
        one = count[pix] == 1
        color[pix[one]] = a[one, None] * rgb[one]
        alpha[pix[one]] = a[one]
    U = torch.nonzero(count > 1).squeeze(1)
    if U.numel() == 0:
        return color, alpha
    slot = torch.full((n_pixels,), -1, dtype=torch.long)
    slot[U] = torch.arange(U.numel())
    M = U.numel()
    Z = torch.full((L, M), float("inf"))
    A = torch.zeros(L, M)
    C = torch.zeros(L, M, 3)
    for l, (pix, rgb, a, z) in enumerate(frags):
        j = slot[pix]
        m = j >= 0
        Z[l, j[m]], A[l, j[m]], C[l, j[m]] = z[m], a[m], rgb[m]
    order = torch.argsort(Z, dim=0)
    A = torch.gather(A, 0, order)
    C = torch.gather(C, 0, order[..., None].expand(-1, -1, 3))
    acc = torch.zeros(M, 3)
    trans = torch.ones(M)
    for l in range(L):
        acc += (trans * A[l])[:, None] * C[l]
        trans = trans * (1.0 - A[l])
    color[U] = acc
    alpha[U] = 1.0 - trans
    return color, alpha
