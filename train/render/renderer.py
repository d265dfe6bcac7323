"""Render rays of B frames through the stage-1 model (layers, shading, compositing).

`render_rays` is what `AvatarModel.forward` runs; with `differentiable=True` the canonical hit
points carry gradients to the manifold (level-set IFT) and the deformation field (warp IFT),
and normals are differentiable finite differences of the manifold.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from train.render.composite import composite_layers
from train.render.levels import find_level_hits
from train.render.rays import sample_depths, sphere_interval
from train.render.warp import blend, deformed_normals, implicit_canonical, matvec
from train.shading import blend_bases, frame_condition, pixel_coefficients


def _signed_floor(x: Tensor, floor: float) -> Tensor:
    return torch.where(x < 0, x.clamp(max=-floor), x.clamp(min=floor))


def _scaled_grad(x: Tensor, k: float) -> Tensor:
    """The same value as `x`; the gradient that flows back through it scaled by `k`."""
    return x * k + x.detach() * (1.0 - k)


def render_rays(model, o: Tensor, d: Tensor, expression: Tensor, pose: Tensor, jitter: Tensor | None = None,
                differentiable: bool = False, background: Tensor | None = None,
                shading_cond: Tensor | None = None, view_noise: Tensor | None = None,
                normal_noise: Tensor | None = None) -> dict[str, Tensor]:
    """o, d (B, R, 3) world rays (d unit), expression (B, n_exp), pose (B, 15); `shading_cond`
    (B, 9 + n_exp) replaces the per-frame shading MLP's input (default: the frame's own);
    `view_noise` (B, R, 3) is added to the view direction the per-pixel shading reads and
    `normal_noise` (B, R, L, 3) to each layer hit's normal it reads (training; both renormalised).

    Returns rgb (B, R, 3), alpha (B, R), hit (B, R, L), x_c (B, R, L, 3) canonical hits,
    s_min (B, R) (differentiable when `differentiable`), has_valid (B, R), depth (B, R),
    outer_alpha (B, R, L-1) (alpha of the outer layers' hits, 0 where missed), basis_spread ()
    (mean squared distance of the K RGB bases from their mean over the hits).
    """
    # geometry (inverse deformation, level sets, normals) always in fp32: Newton residuals of 1e-3
    # and level spacings of 0.03 do not survive bf16; radiance and shading MLPs may autocast.
    with torch.autocast(device_type=o.device.type, enabled=False):
        geo = _geometry(model, o.float(), d.float(), expression, pose, jitter, differentiable)
    x_c, n_d, d_l, hit, hits = geo["x_c"], geo["n_d"], geo["d_l"], geo["hit"], geo["hits"]
    b, r, n_lv = hit.shape

    x_rad = x_c
    thick = model.cfg.model.radiance_thickness
    if jitter is not None and thick > 0:
        # training: read the radiance up to `thick` off the hit along the canonical normal, so the
        # colour is learnt through the layer's slab, not only on the sheet the training views hit
        u = 2.0 * jitter[..., torch.arange(n_lv, device=jitter.device) % jitter.shape[-1]] - 1.0
        x_rad = x_c + (thick * u.reshape(b, r * n_lv, 1)) * F.normalize(geo["n_c"].detach(), dim=-1, eps=1e-8)
    f_pos, bases, alpha = model.radiance_field(x_rad)
    if shading_cond is None:
        shading_cond = frame_condition(expression, pose, model.shading_spec.n_exp)
    theta = model.frame_mlp(shading_cond)
    if view_noise is not None:
        d_l = F.normalize(d_l + view_noise.float()[:, :, None].expand(b, r, n_lv, 3).reshape(d_l.shape), dim=-1)
    if normal_noise is not None:
        n_d = F.normalize(n_d + normal_noise.float().reshape(n_d.shape), dim=-1)
    z = torch.cat([f_pos, n_d, d_l], dim=-1)
    rgb = blend_bases(pixel_coefficients(z, theta.float(), model.shading_spec), bases.float())

    if background is None:
        background = torch.ones(3, device=o.device)
    alpha = alpha.float().reshape(b, r, n_lv)
    colour, acc = composite_layers(rgb.float().reshape(b, r, n_lv, 3), alpha, hit, background)

    s_min = hits.s_min
    if differentiable:
        with torch.autocast(device_type=o.device.type, enabled=False):
            s_min = torch.where(hits.has_valid, model.manifold_field(hits.x_min), s_min)
    depth = torch.where(hit, hits.t, torch.full_like(hits.t, float("inf"))).amin(-1)
    # spread of the K bases about their mean at the hits: a basis the training views never pick
    # stays near the others instead of an arbitrary colour that a novel view or normal may pick
    hit_f = hit.reshape(b, r * n_lv).float()
    spread = (bases.float() - bases.float().mean(-2, keepdim=True)).pow(2).sum(-1).mean(-1)
    return {
        "rgb": colour, "alpha": acc, "hit": hit, "x_c": x_c.reshape(b, r, n_lv, 3),
        "s_min": s_min, "has_valid": hits.has_valid & geo["inside"][..., 0], "depth": depth,
        "outer_alpha": torch.where(hit[..., 1:], alpha[..., 1:], torch.zeros_like(alpha[..., 1:])),
        "basis_spread": (spread * hit_f).sum() / hit_f.sum().clamp_min(1.0),
    }


def _geometry(model, o: Tensor, d: Tensor, expression: Tensor, pose: Tensor, jitter: Tensor | None,
              differentiable: bool) -> dict:
    """Level-set hits, differentiable canonical points and deformed normals (fp32)."""
    mc = model.cfg.model
    b, r, _ = o.shape
    n_lv = model.levels.shape[0]
    fs, center, radius = model.frame_state(expression, pose)
    near, far, inside = sphere_interval(o, d, center, radius)
    t = sample_depths(near, far, mc.ray_samples, jitter)
    hits = find_level_hits(model.deform_field, model.manifold_field, o, d, t, fs, model.levels,
                           mc.newton_steps, mc.secant_steps, mc.converge_tol, mc.refine_samples)
    hit = hits.hit & inside[..., None]

    x_c = hits.x_c.reshape(b, r * n_lv, 3)
    d_l = d[:, :, None].expand(b, r, n_lv, 3).reshape(b, r * n_lv, 3)
    if differentiable:
        x_d = (o[:, :, None] + hits.t[..., None] * d[:, :, None]).reshape(b, r * n_lv, 3)
        x_p, w, j_inv = implicit_canonical(model.deform_field, x_c, x_d, fs)
        # second IFT: the hit slides along the ray so that s(x_c) stays on its level
        s_val = model.manifold_field(x_p)
        with torch.no_grad():
            grad_s = model.manifold_field.gradient(x_c, mc.fd_eps)
            ds_dt = _signed_floor((grad_s * matvec(j_inv, d_l)).sum(-1), 1e-2)
        dt = -(s_val - s_val.detach()) / ds_dt
        kd = model.cfg.train.opaque_depth_grad
        if kd != 1.0:  # same value; the colour's gradient into the opaque level's (level 0) depth scaled by kd
            dt = dt.reshape(b, r, n_lv)
            dt = torch.cat([_scaled_grad(dt[..., :1], kd), dt[..., 1:]], -1).reshape(b, r * n_lv)
        x_c = x_p + matvec(j_inv, dt[..., None] * d_l)
    else:
        _, w = model.deform_field.frame_warp(x_c, fs.volumes, fs.detail_volumes)

    with torch.set_grad_enabled(differentiable and torch.is_grad_enabled()):
        n_c = model.manifold_field.gradient(x_c, mc.fd_eps)
        k = model.cfg.train.shading_normal_grad
        if differentiable and k != 1.0:  # gradient through the shading normals scaled by k
            n_c = _scaled_grad(n_c, k)
    r_c, _ = blend(w, fs.canonical_transforms[None])
    r_d, _ = blend(w, fs.transforms)
    delta = None
    if fs.normal_volumes is not None:
        delta = model.normal_field.delta(model.deform_field, x_c.detach(), fs.normal_volumes, fs.normal_detail_volumes)
    n_d = deformed_normals(n_c, r_c, r_d, delta)

    return {"x_c": x_c, "n_c": n_c, "n_d": n_d, "d_l": d_l, "hit": hit, "hits": hits, "inside": inside[..., None]}
