"""Where translucent layers (hair) stand off the morphable model's surface, from the training images
alone: a plane sweep of multi-view photo-consistency along the surface normal, in canonical space.

For canonical surface points x_c with outward normals n_c and candidate offsets d_1 < ... < d_D,
each candidate x_c + d n_c is carried into a training frame by the stage-1 deformation field (at
initialisation: the morphable model's prior), projected with the frame's camera, and the frame's
colour read there wherever the candidate lies on or in front of the posed model (whose depth is
rasterised). cost(p, d) is the colour variance over the frames that see the candidate.

A layer of strands shows as a rise of the cost just outside it (the candidate stops landing on the
same strand in every view). `pooled_profiles` averages each point's cost profile (normalised by its
mean) with its neighbours' and `layer_offsets` returns the offsets just before the largest rises.
On the synthetic subject those lie within one step (0.00125 units) of the hair's four shells
(`scripts/hair_depth_sweep.py --general`, `docs/results/cpu_hair_depth_sweep_2026-12-06.txt`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from train.conventions import clip_space, project
from train.fields.prior import area_samples
from train.raster import interpolate, rasterize
from train.render.warp import forward_warp


@dataclass
class SweepResult:
    offsets: Tensor
    """(D,) candidate offsets along the normal (world units)."""
    cost: Tensor
    """(P, D) colour variance (summed over RGB) across the frames that see the candidate."""
    views: Tensor
    """(P, D) number of frames that see the candidate."""
    hull: Tensor | None = None
    """(P, D) share of the frames whose image holds the candidate that have it inside their mask
    (soft coverage > 0.05, so translucent hair counts; occlusion aside): 1 inside the visual hull.
    None when the frames carry no mask."""
    fringe: Tensor | None = None
    """(P, D) share of the frames whose image holds the candidate that have it on a translucent part of
    their mask wider than an anti-aliased edge (`fringe_image`): hair seen edge-on, never an opaque
    surface's interior. None when the frames carry no mask."""


def surface_samples(verts: Tensor, faces: Tensor, n: int, gen: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """n points uniform by area on a mesh (V, 3) / (F, 3) -> points (n, 3), unit face normals (n, 3),
    face ids (n,). Normals follow the faces' winding (outward for the morphable model)."""
    f = faces.long()
    a, b, c = verts[f[:, 0]], verts[f[:, 1]], verts[f[:, 2]]
    cross = torch.linalg.cross(b - a, c - a, dim=-1)
    tri, uv = area_samples(cross.norm(dim=-1).cpu(), n, gen)
    tri, uv = tri.to(verts.device), uv.to(verts)
    p = a[tri] + uv[:, :1] * (b - a)[tri] + uv[:, 1:] * (c - a)[tri]
    return p, cross[tri] / cross[tri].norm(dim=-1, keepdim=True).clamp_min(1e-12), tri


def camera_depth(x: Tensor, w2c: Tensor) -> Tensor:
    """Distance along the view axis (..., N) of world points (..., N, 3) (positive in front)."""
    return -(x @ w2c[2, :3] + w2c[2, 3])


def model_depth(verts: Tensor, faces: Tensor, K: Tensor, w2c: Tensor, hw: tuple[int, int]) -> Tensor:
    """Rasterised depth (H, W) of the posed model mesh (V, 3); 0 where it does not cover a pixel."""
    H, W = hw
    z = camera_depth(verts, w2c)
    clip = clip_space(verts, K, w2c, W, H, 0.5 * float(z.min().clamp_min(1e-3)), 2.0 * float(z.max()))
    tri = faces.to(torch.int32)
    rast = rasterize(clip[None], tri, (H, W))
    depth = interpolate(z[None, :, None].contiguous(), rast, tri)[0, ..., 0]
    return torch.where(rast[0, ..., 3] > 0, depth, torch.zeros_like(depth))


@torch.no_grad()
def fringe_image(mask: Tensor, erode: int) -> Tensor:
    """(H, W) bool: the mask's translucent pixels (0.05 < coverage < 0.95) that keep a translucent
    neighbourhood of radius `erode` px (an opaque silhouette's anti-aliased edge, 1-2 px wide, goes;
    a fringe of hair, tens of pixels at 512 px, stays)."""
    frac = ((mask > 0.05) & (mask < 0.95)).float()
    if erode > 0:
        k = 2 * erode + 1
        frac = 1.0 - F.max_pool2d(1.0 - frac[None, None], k, stride=1, padding=erode)[0, 0]
    return frac > 0.5


def sweep(model, frames: list[dict], x_c: Tensor, n_c: Tensor, offsets: Tensor, depth_tol: float = 5e-3,
          chunk: int = 1 << 18, progress=None, fringe_erode: int = 2) -> SweepResult:
    """Photo-consistency of candidates x_c + d n_c (P, 3), (P, 3), d in `offsets` (D,) over `frames`:
    dicts with rgb (H, W, 3), K (3, 3) pixels, w2c (4, 4), expression (E,), pose (15,) (the
    `train.data.ImavatarDataset` items), and a mask (H, W) for the visual-hull share. `model` is a
    stage-1 `AvatarModel` (its deformation field and morphable model pose the candidates and the
    surface that hides them). `fringe_erode`: see `fringe_image`."""
    dev = x_c.device
    P, D = x_c.shape[0], offsets.shape[0]
    cand = (x_c[:, None] + offsets.to(dev)[None, :, None] * n_c[:, None]).reshape(-1, 3)
    s1 = torch.zeros(P * D, 3, dtype=torch.float64, device=dev)
    s2 = torch.zeros_like(s1)
    views = torch.zeros(P * D, dtype=torch.float64, device=dev)
    in_image = torch.zeros_like(views)
    in_mask = torch.zeros_like(views)
    in_fringe = torch.zeros_like(views)
    masked = all("mask" in fr for fr in frames)
    faces = model.flame.faces
    for fr in (progress(frames) if progress else frames):
        e, p = fr["expression"].to(dev).float()[None], fr["pose"].to(dev).float()[None]
        K, w2c = fr["K"].to(dev).float(), fr["w2c"].to(dev).float()
        img = fr["rgb"].to(dev).float()
        H, W = img.shape[:2]
        fs, _, _ = model.frame_state(e, p)
        depth = model_depth(model.flame(e, p).vertices[0].float(), faces, K, w2c, (H, W))
        if masked:
            mask = fr["mask"].to(dev).float()
            fringe = fringe_image(mask, fringe_erode).float()
        for i in range(0, P * D, chunk):
            x_d = forward_warp(model.deform_field, cand[None, i : i + chunk], fs)[0][0]
            uv = project(x_d, K, w2c)
            z = camera_depth(x_d, w2c)
            grid = torch.stack([uv[:, 0] / W * 2 - 1, uv[:, 1] / H * 2 - 1], -1)[None, None]
            col = F.grid_sample(img.permute(2, 0, 1)[None], grid, align_corners=False)[0, :, 0].T
            hz = F.grid_sample(depth[None, None], grid, mode="nearest", align_corners=False)[0, 0, 0]
            inside = (uv[:, 0] >= 0) & (uv[:, 0] < W) & (uv[:, 1] >= 0) & (uv[:, 1] < H) & (z > 0)
            # on or in front of the model; its depth is read at the nearest pixel, which on a slanted
            # surface is up to ~2 pixel footprints deeper or shallower than the point's own
            tol = depth_tol + 2.0 * z / K[0, 0].abs()
            vis = (inside & ((hz <= 0) | (z < hz + tol))).double()
            s1[i : i + chunk] += vis[:, None] * col.double()
            s2[i : i + chunk] += vis[:, None] * col.double() ** 2
            views[i : i + chunk] += vis
            if masked:
                m = F.grid_sample(mask[None, None], grid, mode="nearest", align_corners=False)[0, 0, 0]
                fm = F.grid_sample(fringe[None, None], grid, mode="nearest", align_corners=False)[0, 0, 0]
                in_image[i : i + chunk] += inside.double()
                in_mask[i : i + chunk] += (inside & (m > 0.05)).double()
                in_fringe[i : i + chunk] += (inside & (fm > 0.5)).double()
    n = views.clamp_min(1)[:, None]
    cost = (s2 / n - (s1 / n) ** 2).clamp_min(0).sum(-1)
    share = (lambda c: (c / in_image.clamp_min(1)).reshape(P, D).float().cpu() if masked else None)
    return SweepResult(offsets.cpu(), cost.reshape(P, D).float().cpu(), views.reshape(P, D).float().cpu(), share(in_mask),
                       share(in_fringe))


def pooled_profiles(x_c: Tensor, res: SweepResult, radius: float, min_views: int = 8, chunk: int = 2048) -> tuple[Tensor, Tensor]:
    """Each point's cost profile over the offsets, divided by its mean, averaged with the points within
    `radius` -> (profiles (P', D), index (P',) of the points kept: those seen in >= min_views frames
    at every offset)."""
    keep = torch.nonzero((res.views >= min_views).all(1)).squeeze(1)
    prof = res.cost[keep] / res.cost[keep].mean(1, keepdim=True).clamp_min(1e-12)
    return neighbourhood_mean(x_c.cpu()[keep].float(), prof, radius, chunk), keep


def neighbourhood_mean(x: Tensor, values: Tensor, radius: float, chunk: int = 2048) -> Tensor:
    """values (P, ...) at points x (P, 3), each averaged with those of the points within `radius`."""
    flat = values.reshape(values.shape[0], -1)
    out = torch.empty_like(flat)
    for i in range(0, x.shape[0], chunk):
        near = (torch.cdist(x[i : i + chunk], x) <= radius).float()
        out[i : i + chunk] = near @ flat / near.sum(1, keepdim=True)
    return out.reshape(values.shape)


def layer_offsets(profiles: Tensor, offsets: Tensor, k: int, min_rise: float = 0.05) -> Tensor:
    """(P, k) offsets just before each profile's k largest rises (local maxima of the rise of at least
    `min_rise`), ascending; NaN where a profile has fewer."""
    rise = profiles[:, 1:] - profiles[:, :-1]  # between offsets i and i+1
    left = torch.cat([torch.full_like(rise[:, :1], -np.inf), rise[:, :-1]], 1)
    right = torch.cat([rise[:, 1:], torch.full_like(rise[:, :1], -np.inf)], 1)
    peak = (rise >= left) & (rise > right) & (rise >= min_rise)
    score = torch.where(peak, rise, torch.full_like(rise, -np.inf))
    val, idx = score.topk(min(k, score.shape[1]), dim=1)
    at = torch.where(torch.isfinite(val), offsets[:-1][idx], torch.full_like(val, float("nan")))
    return at.sort(dim=1).values  # NaNs sort last


LAYER_DEPTH_STEP = 0.00125
"""Spacing of the candidate offsets (world units): half a synthetic strand's width."""


def _surface_sweep(model, frames, tc, progress=None) -> tuple[Tensor, Tensor, Tensor, SweepResult]:
    """The sweep `train.layer_depth_*` configure, from `train.render.frames.Frames`: surface points and
    normals (P, 3) on the model's device, the offsets (D,) and the result."""
    dev = model.levels.device
    n = frames.n
    pick = np.unique(np.linspace(0, n - 1, min(tc.layer_depth_frames, n)).round().astype(int)).tolist()
    views = []
    for i in pick:
        rgb, mask = frames.target(i)
        views.append({"rgb": rgb, "mask": mask, "K": frames.K[i], "w2c": torch.linalg.inv(frames.c2w[i].double()).float(),
                      "expression": frames.expression[i], "pose": frames.pose[i]})
    gen = torch.Generator().manual_seed(0)
    x_c, n_c, _ = surface_samples(model.canonical_vertices, model.flame.faces, tc.layer_depth_points, gen)
    offsets = torch.arange(0.0, tc.layer_depth_offsets[1] + 0.5 * LAYER_DEPTH_STEP, LAYER_DEPTH_STEP)
    return x_c, n_c, offsets, sweep(model, views, x_c, n_c, offsets.to(dev), progress=progress,
                                    fringe_erode=tc.layer_pin_erode)


@dataclass
class LayerPin:
    """Where and how deep the translucent layers are, for `model.manifold_pin: sweep`."""

    offsets: Tensor
    """(k,) the layers' offsets off the surface (world units), inner first; empty: none found."""
    anchors: Tensor
    """(P, 3) canonical surface points."""
    weight: Tensor
    """(P,) in [0, 1]: 1 where the layers are (the pin's weight there)."""


@torch.no_grad()
def layer_pin(model, frames, tc, progress=None) -> LayerPin:
    """The translucent layers from the training images (`train.layer_depth_*`, `train.layer_pin_*`).

    Where: surface points whose candidates the masks show translucent (`fringe_image`) in a share
    of the frames (mean over the swept offsets beyond the near one, pooled over
    `layer_depth_radius`) of at least `layer_pin_fringe` (weight 1; 0 at half of it, linear
    between). Only hair seen edge-on gives that share: an opaque surface's interior, and the empty
    space in front of it, read 0 or 1 (synthetic subject: 62% of the scalp's points, 2% of the
    skin's -- at the hairline -- and none elsewhere). How deep: the largest rises of the
    region's mean cost profile (`layer_offsets`, at least `layer_pin_min_rise`), continued outward
    to half the levels (`extend_layers`)."""
    x_c, _, offsets, res = _surface_sweep(model, frames, tc, progress)
    if res.fringe is None:
        raise ValueError("model.manifold_pin sweep needs the training frames' masks")
    near = tc.layer_depth_offsets[0]
    band = offsets >= near
    x = x_c.cpu().float()
    score = neighbourhood_mean(x, res.fringe[:, band].mean(1), tc.layer_depth_radius)  # pooled like the profiles
    weight = (2.0 * score / tc.layer_pin_fringe - 1.0).clamp(0.0, 1.0)
    prof, keep = pooled_profiles(x_c, res, tc.layer_depth_radius)
    w = weight[keep]
    found = torch.empty(0)
    if float(w.sum()) > 0:
        mean = (w[:, None] * prof).sum(0) / w.sum()
        n_layers = int(model.levels.shape[0]) - 1
        found = layer_offsets(mean[None], offsets, n_layers + 1, tc.layer_pin_min_rise)[0]
        found = found[torch.isfinite(found) & (found >= near)][:n_layers]
        found = extend_layers(found, int(model.levels.shape[0]) // 2, tc.layer_depth_offsets[1])
    return LayerPin(found, x, weight if found.numel() else torch.zeros_like(weight))


def extend_layers(found: Tensor, n: int, far: float) -> Tensor:
    """Layer offsets (k,) continued outward at their mean spacing (found[-1] / k) to n layers, none
    beyond `far`: a sweep that misses the faint outer layers (at 128 px the synthetic subject's four
    shells gave 0.0225 and 0.0425) must not cut the hair off at the last one it found; layers with
    nothing on them stay transparent."""
    k = found.numel()
    if k == 0 or k >= n:
        return found
    step = float(found[-1]) / k
    extra = [float(found[-1]) + step * (i + 1) for i in range(n - k)]
    return torch.cat([found, torch.tensor([e for e in extra if e <= far], dtype=found.dtype)])


@torch.no_grad()
def layer_depth_targets(model, frames, tc, progress=None) -> Tensor:
    """`train.w_layer_depth`'s targets: canonical points (M, 3) where the training images show a layer
    of strands, from `train.render.frames.Frames` and a stage-1 `AvatarModel` (its deformation field
    poses the candidates). Deterministic for a given model, frames and config."""
    x_c, n_c, offsets, res = _surface_sweep(model, frames, tc, progress)
    near = tc.layer_depth_offsets[0]
    prof, keep = pooled_profiles(x_c, res, tc.layer_depth_radius)
    found = layer_offsets(prof, offsets, max(1, int(model.levels.shape[0]) - 1), tc.layer_depth_min_rise)
    ok = torch.isfinite(found) & (found >= near)
    if tc.layer_depth_hull > 0:  # inside the visual hull: the masks cover the candidate in (nearly) every frame
        at = ((found.nan_to_num(0.0) / LAYER_DEPTH_STEP).round().long()).clamp(0, offsets.shape[0] - 1)
        ok &= res.hull[keep].gather(1, at) >= tc.layer_depth_hull
    base, normal = x_c.cpu()[keep], n_c.cpu()[keep]
    pts = base[:, None] + found[..., None].nan_to_num(0.0) * normal[:, None]
    return pts[ok].to(model.levels.device)
