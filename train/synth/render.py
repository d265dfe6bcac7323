"""Render the procedural head with its exact appearance: the head (opaque) plus the nested hair
shells (semi-transparent), each rasterised with `train.raster`, shaded per pixel from the
interpolated original-space position, depth-sorted per pixel and composited front to back, then
box-filtered from `supersample`x resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from train import raster
from train.conventions import gl_projection
from train.synth import appearance as app
from train.synth.config import SynthConfig
from train.synth.hair import HairShells, build_hair_shells, vertex_normals
from train.synth.noise import ValueNoise


@dataclass
class Frames:
    """A rendered batch at the output resolution."""

    image: Tensor
    """(B, H, W, 3) colour in [0, 1], composited over the background."""
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
        edge (Vl,) hairline fade (ones for the head), shell (-1 for the head).
        """
        out = self.model(expression.float(), pose.float())
        layers = [dict(verts=out.vertices, faces=self.faces, x_o=self.x_o, edge=torch.ones(self.x_o.shape[0]), shell=-1)]
        for i in range(self.shells.n_shells):
            layers.append(
                dict(
                    verts=self.shells.deform(out.vertices, out.transforms, self.skin_weights, i),
                    faces=self.shells.faces,
                    x_o=self.shells.original(self.x_o, i),
                    edge=self.shells.edge,
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
        K = torch.as_tensor(np.asarray(K), dtype=torch.float64).clone()
        K[:2] *= ss  # sub-pixel grid: pixel c covers sub-pixels [c*ss, (c+1)*ss)
        w2c = torch.as_tensor(np.asarray(w2c), dtype=torch.float32)
        proj = torch.as_tensor(gl_projection(K, W, H), dtype=torch.float32)
        cam = torch.linalg.inv(w2c)[:3, 3]
        B = expression.shape[0]
        rgbs, alphas, depths = [], [], []
        head_cov = None
        for layer in self.layer_meshes(expression, pose):
            verts = layer["verts"]
            q = verts @ w2c[:3, :3].T + w2c[:3, 3]
            clip = torch.cat([q, torch.ones_like(q[..., :1])], -1) @ proj.T
            rast = raster.rasterize(clip.contiguous(), layer["faces"], (H, W))
            tid = rast[..., 3].round().long()
            cov = tid > 0
            normals = vertex_normals(verts, layer["faces"])
            attr = torch.cat([layer["x_o"].expand(B, -1, -1), verts, normals, layer["edge"][None, :, None].expand(B, -1, 1)], -1)
            ip = raster.interpolate(attr.contiguous(), rast, layer["faces"])[cov]  # (P, 10)
            frame = torch.nonzero(cov)[:, 0]
            x_o, x_w = ip[:, 0:3], ip[:, 3:6]
            n = ip[:, 6:9] / ip[:, 6:9].norm(dim=1, keepdim=True).clamp_min(1e-9)
            view = x_w - cam
            dist = view.norm(dim=1, keepdim=True)
            view = view / dist.clamp_min(1e-9)
            if layer["shell"] < 0:
                region = self.face_region[tid[cov] - 1]
                albedo = app.head_albedo(
                    x_o, region, expression[frame, self.brow].float(), self.landmarks, self.noise, self.region_names, cfg.wrinkle_strength
                )
                ks, sh = app.specular_params(region, self.region_names)
                rgb = app.shade(albedo, n, view, self.light, ks * cfg.specular, sh)
                a = torch.ones(rgb.shape[0])
                head_cov = cov
            else:
                i, N = layer["shell"], self.shells.n_shells
                a = app.hair_alpha(x_o, i, N, ip[:, 9], self.landmarks, self.noise, cfg.hair_strands)
                albedo = app.hair_albedo(x_o, i, N, self.noise)
                rgb = app.shade(albedo, n, view, self.light, torch.full_like(a, 0.5 * cfg.specular), torch.full_like(a, 30.0))
            z = -(x_w @ w2c[2, :3] + w2c[2, 3])  # camera distance along the view axis
            rgb_l = torch.zeros(B, H, W, 3)
            rgb_l[cov] = rgb
            a_l = torch.zeros(B, H, W)
            a_l[cov] = a
            z_l = torch.full((B, H, W), float("inf"))
            z_l[cov] = z
            rgbs.append(rgb_l), alphas.append(a_l), depths.append(z_l)
        head_depth = depths[0]
        # per-pixel front-to-back "over" of the depth-sorted layer fragments
        z = torch.stack(depths)
        order = torch.argsort(z, dim=0)
        a_s = torch.gather(torch.stack(alphas), 0, order)
        rgb_s = torch.gather(torch.stack(rgbs), 0, order[..., None].expand(-1, -1, -1, -1, 3))
        color = torch.zeros(B, H, W, 3)
        trans = torch.ones(B, H, W)
        for layer_rgb, layer_a in zip(rgb_s, a_s):
            color += (trans * layer_a)[..., None] * layer_rgb
            trans = trans * (1.0 - layer_a)
        alpha = 1.0 - trans
        down = lambda t: F.avg_pool2d(t, ss) if ss > 1 else t  # noqa: E731  (B, C, H, W)
        color = down(color.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        alpha = down(alpha[:, None])[:, 0]
        hc = head_cov.float()
        head_alpha = down(hc[:, None])[:, 0]
        zsum = down(torch.where(head_cov, head_depth, torch.zeros_like(head_depth))[:, None])[:, 0]
        depth = torch.where(head_alpha >= 0.5, zsum / head_alpha.clamp_min(1e-9), torch.zeros_like(zsum))
        bg = background(cfg, res, res)
        image = color + (1.0 - alpha)[..., None] * bg
        return Frames(image=image.clamp(0, 1), alpha=alpha.clamp(0, 1), head_alpha=head_alpha, depth=depth)
