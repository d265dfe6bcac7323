"""The stage-1 avatar model and the API stage 2 bakes from.

Spaces (spec 2.7): *original* x_o (zero pose/expression, where the morphable model's template
lives), *canonical* x_c (the morphable model posed with `canonical_pose` /
`canonical_expression`; all fields live here), *deformed* x_d (a frame, world space).

Bake-facing API (all tensors on the model's device, float32):

    cfg, model = load_stage1(workdir, device)          # reads <workdir>/train/{config.yaml,checkpoint.pt}
    model.manifold(x_c (N,3)) -> s (N,)                # larger outside; layers are s == model.levels[i]
    model.manifold_normal(x_c (N,3)) -> n (N,3)        # unit outward canonical normal (grad of s)
    model.deform_attrs(x_c) -> E (N,n_exp,3), P (N,36,3), w (N,Jb)   # w rows sum to 1
    model.radiance(x_c) -> f_pos (N,D) in [0,1], bases (N,K,3) in [0,1], alpha (N,) in [0,1]
    model.frame_mlp                                    # train.shading.FrameMLP (per-frame MLP)
    model.shading_spec                                 # train.shading.ShadingSpec
    model.flame                                        # the MorphableModel (train.flame)
    model.levels                                       # (L,) level values, inner -> outer
    model.canonical_expression (n_exp,), model.canonical_pose (15,)
    model.to_original(x_c, E, P, w) -> x_o (N,3)       # spec 2.7 get_original_points
    model.bbox() -> (lo (3,), hi (3,))                 # canonical cube holding every field

Layer 0 (innermost) is opaque: its alpha is forced to 1 when compositing.
`render_frames(model, K, c2w, expression, pose, width, height)` renders whole images (eval).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from train.fields import (DeformField, ManifoldField, RadianceField, area_samples, attribute_volume, box_dims, box_lattice,
                          canonical_cube, lattice_points, signed_distance, vertex_attributes, vertex_normals)
from train.fields.normal_blend import NormalBlendField, vertex_normal_basis
from train.render.renderer import render_rays
from train.render.warp import FrameState, blend, inv3, matvec, vertex_init_state
from train.frame_inputs import FrameInputs
from train.shading import FrameMLP, ShadingSpec, frame_condition

CHECKPOINT_NAME = "checkpoint.pt"
CONFIG_NAME = "config.yaml"


def candidate_bones(ghostbone: bool) -> tuple[int, ...]:
    """Bones whose rigid inverse seeds the inverse deformation: (ghost|root, neck, jaw)."""
    return (0, 2, 3) if ghostbone else (0, 1, 2)


def detail_box(mc, lo: Tensor, hi: Tensor, verts: Tensor, expr: Tensor, posed: Tensor,
               weights: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """`model.deform_detail_*`: (box lo, box hi, attribute volume) around the canonical vertices whose
    strongest bone is one of the parts (FLAME's bones end jaw, left eye, right eye)."""
    jb = weights.shape[1]
    bones = {"eyes": (jb - 2, jb - 1), "jaw": (jb - 3,)}
    top = weights.argmax(1)
    sel = torch.zeros_like(top, dtype=torch.bool)
    for part in mc.deform_detail_parts:
        for b in bones[part]:
            sel |= top == b
    if not bool(sel.any()):
        raise ValueError(f"model.deform_detail_parts {mc.deform_detail_parts}: no vertex of the morphable model "
                         "has one of those bones as its strongest")
    dlo, dhi = verts[sel].amin(0) - mc.deform_detail_margin, verts[sel].amax(0) + mc.deform_detail_margin
    dlo, dhi = torch.maximum(dlo, lo), torch.minimum(dhi, hi)
    dims = box_dims(dlo, dhi, float((hi - lo).max()) / (mc.deform_detail_res - 1))
    return dlo, dhi, attribute_volume(box_lattice(dlo, dhi, dims), verts, expr, posed, weights)


def normal_blend_field(mc, flame, canonical_expression: Tensor, canonical_pose_feature: Tensor, verts: Tensor,
                       lo: Tensor, hi: Tensor, detail: tuple | None) -> NormalBlendField:
    """`model.normal_blendshapes`: the normal blendshapes over the prior's lattice (and detail box)."""
    d_e, d_p = vertex_normal_basis(flame, canonical_expression, canonical_pose_feature)
    none = d_e.new_zeros(d_e.shape[0], 0)
    coarse = attribute_volume(lattice_points(lo, hi, mc.deform_prior_res), verts, d_e, d_p, none)
    fine = None
    if detail is not None:
        dlo, dhi, dvol = detail
        fine = attribute_volume(box_lattice(dlo, dhi, tuple(dvol.shape[2:])), verts, d_e, d_p, none)
    return NormalBlendField(lo, hi, coarse, d_e.shape[1], fine)


class AvatarModel(nn.Module):
    """Deformation, manifold and radiance fields + the per-frame shading MLP.

    `init_fields=False` skips the SDF initialisation (for loading a checkpoint). With
    `train.optimize_inputs`, `n_train_frames` sizes the per-frame input corrections
    (`train.frame_inputs.FrameInputs`; None otherwise).
    """

    def __init__(self, cfg, flame: nn.Module, canonical_expression: Tensor, init_fields: bool = True,
                 n_train_frames: int = 0):
        super().__init__()
        self.cfg = cfg
        mc = cfg.model
        self.flame = flame
        for p in self.flame.parameters():
            p.requires_grad_(False)
        n_exp = int(cfg.data.n_exp)
        dev = next(iter(flame.buffers())).device
        if canonical_expression.shape != (n_exp,):
            raise ValueError(f"canonical_expression must be ({n_exp},); got {tuple(canonical_expression.shape)}")
        pose = torch.zeros(15, device=dev)
        pose[6] = mc.canonical_jaw
        self.register_buffer("canonical_expression", canonical_expression.detach().float().to(dev))
        self.register_buffer("canonical_pose", pose)
        self.register_buffer("levels", torch.linspace(mc.level_range[0], mc.level_range[1], mc.n_levels, device=dev))
        self.ghostbone = bool(cfg.data.ghostbone)

        with torch.no_grad():
            out = flame(self.canonical_expression[None], self.canonical_pose[None])
            verts = out.vertices[0].float()
            self.register_buffer("canonical_vertices", verts, persistent=False)
            self.register_buffer("canonical_pose_feature", out.pose_feature[0].float(), persistent=False)
            self.register_buffer("canonical_transforms", out.transforms[0].float(), persistent=False)
            lo, hi = canonical_cube(verts, mc.bbox_margin)
            self.register_buffer("bbox_lo", lo, persistent=False)
            self.register_buffer("bbox_hi", hi, persistent=False)
            expr, posed, weights = vertex_attributes(flame)
            self.register_buffer("vertex_expr", expr, persistent=False)
            self.register_buffer("vertex_pose", posed, persistent=False)
            self.register_buffer("vertex_weights", weights, persistent=False)
            fa, fb, fc = verts[flame.faces.long()].unbind(1)
            # triangle areas of the static canonical mesh for the surface term's sampling; a plain
            # CPU tensor, not a buffer: it stays beside the CPU step generator when the model moves
            self.face_area_cpu = torch.linalg.cross(fb - fa, fc - fa, dim=-1).norm(dim=-1).cpu()
            step = max(1, -(-verts.shape[0] // mc.init_vertices))
            self.register_buffer("init_vertex_ids", torch.arange(0, verts.shape[0], step, device=dev), persistent=False)
            prior = attribute_volume(lattice_points(lo, hi, mc.deform_prior_res), verts, expr, posed, weights)
            detail = None
            if mc.deform_detail_res > 0:
                detail = detail_box(mc, lo, hi, verts, expr, posed, weights)
            r = mc.manifold_base_res
            if init_fields:
                normals = vertex_normals(verts, flame.faces.long())
                pts = lattice_points(lo, hi, r).reshape(-1, 3)
                sdf = signed_distance(pts, verts, normals)
                if mc.sdf_init == "mesh":  # exact near the layers; the pseudo distance is fine far out
                    from train.fields.mesh_distance import mesh_signed_distance

                    band = sdf.abs() < (mc.level_range[1] - mc.level_range[0]) + abs(mc.sdf_init_offset) + 0.05
                    sdf[band] = mesh_signed_distance(pts[band], verts, flame.faces, normals)
                base = (sdf + mc.level_range[0] - mc.sdf_init_offset).reshape(r, r, r)
            else:
                base = torch.zeros(r, r, r, device=dev)
            pin = None
            if mc.manifold_pin == "synthetic_hair" and init_fields:
                from train.synth.hair_pin import synthetic_hair_pin

                pin = synthetic_hair_pin(flame, cfg.synth, verts, self.levels, lo, hi, mc.manifold_pin_res)
            elif mc.manifold_pin != "none":  # weight 0 until the trainer's sweep or the checkpoint fills it
                pin = torch.zeros(2, *(mc.manifold_pin_res,) * 3, device=dev)

        self.n_bones = weights.shape[1]
        self.manifold_field = ManifoldField(lo, hi, base, mc.manifold_grid_res, mc.grid_channels, mc.mlp_hidden, pin)
        self.deform_field = DeformField(lo, hi, prior, n_exp, self.n_bones, mc.deform_residual_res,
                                        mc.deform_residual_channels, detail, mc.deform_detail_margin)
        self.normal_field = None
        if mc.normal_blendshapes:
            with torch.no_grad():
                self.normal_field = normal_blend_field(mc, flame, self.canonical_expression, self.canonical_pose_feature,
                                                       verts, lo, hi, detail)
        self.radiance_field = RadianceField(lo, hi, mc.radiance_grid_res, mc.grid_channels, mc.mlp_hidden,
                                            mc.dim_pos_feature, mc.num_texture_basis, mc.alpha_init,
                                            mc.basis_rank, mc.basis_ladder, mc.radiance_plane_res)
        self.shading_spec = ShadingSpec(
            n_exp=n_exp, dim_pos_feature=mc.dim_pos_feature, num_texture_basis=mc.num_texture_basis,
            temperature=mc.temperature, frame_hidden=tuple(mc.frame_mlp_hidden),
            pixel_hidden=tuple(mc.pixel_mlp_hidden))
        self.frame_mlp = FrameMLP(self.shading_spec)
        self.frame_inputs = None
        if cfg.train.optimize_inputs and n_train_frames > 0:
            self.frame_inputs = FrameInputs(n_train_frames, n_exp, cfg.train.optimize_inputs)
        self.to(dev)

    # ---------------------------------------------------------------- bake-facing API
    def manifold(self, x_c: Tensor) -> Tensor:
        """x_c (N, 3) -> s (N,)."""
        return self.manifold_field(x_c)

    def manifold_normal(self, x_c: Tensor) -> Tensor:
        """x_c (N, 3) -> unit outward normal (N, 3) (central differences, as in training)."""
        g = self.manifold_field.gradient(x_c, self.cfg.model.fd_eps)
        return g / g.norm(dim=-1, keepdim=True).clamp_min(1e-12)

    def deform_attrs(self, x_c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x_c (N, 3) -> E (N, n_exp, 3), P (N, 36, 3), w (N, Jb)."""
        return self.deform_field(x_c)

    def normal_blendshapes(self, x_c: Tensor) -> tuple[Tensor, Tensor, Tensor] | None:
        """x_c (N, 3) -> N_E (N, n_exp, 3), N_P (N, 36, 3) and their value at the canonical frame
        N_E.psi_can + N_P^T.pf_can (N, 3); None without `model.normal_blendshapes`."""
        if self.normal_field is None:
            return None
        ne, np_ = self.normal_field.attrs(self.deform_field, x_c)
        at_can = torch.einsum("nec,e->nc", ne, self.canonical_expression) + torch.einsum(
            "npc,p->nc", np_, self.canonical_pose_feature)
        return ne, np_, at_can

    def radiance(self, x_c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x_c (N, 3) -> f_pos (N, D), bases (N, K, 3), alpha (N,)."""
        return self.radiance_field(x_c)

    def bbox(self) -> tuple[Tensor, Tensor]:
        """Canonical cube (lo (3,), hi (3,)) covering every field; outside it s only grows."""
        return self.bbox_lo.clone(), self.bbox_hi.clone()

    def to_original(self, x_c: Tensor, E: Tensor, P: Tensor, w: Tensor) -> Tensor:
        """Canonical (N, 3) -> original space (N, 3): S(w, A_can)^-1 x_c - E.psi_can - P^T.pf_can."""
        r_c, t_c = blend(w[None], self.canonical_transforms[None])
        x = matvec(inv3(r_c[0]), x_c - t_c[0])
        x = x - torch.einsum("nec,e->nc", E, self.canonical_expression)
        return x - torch.einsum("npc,p->nc", P, self.canonical_pose_feature)

    # ---------------------------------------------------------------- rendering
    def frame_state(self, expression: Tensor, pose: Tensor) -> tuple[FrameState, Tensor, Tensor]:
        """Per-frame warp state + bounding sphere (centre (B, 3), radius (B,)) of the deformed model."""
        # with gradients only where the inputs carry them (learnt per-frame corrections)
        with torch.set_grad_enabled(torch.is_grad_enabled() and (expression.requires_grad or pose.requires_grad)):
            out = self.flame(expression.float(), pose.float())
            d_expr = expression.float() - self.canonical_expression
            d_pf = out.pose_feature.float() - self.canonical_pose_feature
        with torch.no_grad():
            verts = out.vertices.detach().float()
            centre = (verts.amin(1) + verts.amax(1)) / 2
            radius = (verts - centre[:, None]).norm(dim=-1).amax(1) + self.cfg.model.bound_margin
        df = self.deform_field
        residual = df.frame_residual(d_expr, d_pf)
        fs = FrameState(out.transforms.float(), self.canonical_transforms, df.frame_volumes(d_expr, d_pf, residual),
                        candidate_bones(self.ghostbone), detail_volumes=df.frame_detail_volumes(d_expr, d_pf, residual))
        if self.normal_field is not None:
            with torch.no_grad():
                fs.normal_volumes, fs.normal_detail_volumes = self.normal_field.frame_volumes(d_expr, d_pf)
        if self.cfg.model.inverse_init == "vertex":
            with torch.no_grad():
                sub = self.init_vertex_ids
                fs.verts_d, fs.verts_c, fs.init_maps = vertex_init_state(
                    verts[:, sub], self.canonical_vertices[sub], self.vertex_weights[sub], fs.transforms,
                    self.canonical_transforms)
        return fs, centre, radius

    def forward(self, o: Tensor, d: Tensor, expression: Tensor, pose: Tensor, jitter: Tensor | None = None,
                differentiable: bool = True, extras: dict | None = None,
                background: Tensor | None = None, shading_cond: Tensor | None = None,
                view_noise: Tensor | None = None, normal_noise: Tensor | None = None,
                frame_ids: Tensor | None = None) -> dict[str, Tensor]:
        """Render rays (see `train.render.renderer.render_rays`); with `extras` also the
        regulariser inputs the losses need (all parameter use happens here, for DDP). `frame_ids`
        (B,): the training frames rendered, whose learnt input corrections apply (if any)."""
        if self.frame_inputs is not None and frame_ids is not None:
            o, expr_c, pose_c = self.frame_inputs.correct(frame_ids, o, expression, pose)
            if shading_cond is not None:  # the noisy condition moves with the corrected inputs
                n = self.shading_spec.n_exp
                shading_cond = shading_cond + frame_condition(expr_c - expression, pose_c - pose, n)
            expression, pose = expr_c, pose_c
        out = render_rays(self, o, d, expression, pose, jitter=jitter, differentiable=differentiable,
                          background=background, shading_cond=shading_cond, view_noise=view_noise,
                          normal_noise=normal_noise)
        if extras is not None:
            out.update(self.regularisers(out, **extras))
        return out

    def regularisers(self, out: dict, gt_mask: Tensor, eikonal_points: Tensor, prior_max: int,
                     prior_dist2: float, prior_gen: torch.Generator | None = None,
                     layer_points: Tensor | None = None) -> dict[str, Tensor]:
        """Prior targets at canonical hits inside the GT mask, eikonal gradients at random points;
        with `layer_points` (canonical, `train.depth_sweep.layer_depth_targets`) the pull of the
        nearest translucent level onto them."""
        from train.fields import nearest_vertex

        res: dict[str, Tensor] = {}
        sel = out["hit"] & (gt_mask[..., None] > 0.5)
        pts = out["x_c"].detach()[sel]
        if pts.shape[0] > prior_max:
            pick = torch.randperm(pts.shape[0], generator=prior_gen)[:prior_max].to(pts.device)
            pts = pts[pick]
        res["normal_smooth"] = self.normal_smoothness(pts, prior_gen) if self.cfg.train.w_normal_smooth > 0 \
            else pts.sum() * 0
        d2, idx = nearest_vertex(pts, self.canonical_vertices)
        near = d2 < prior_dist2
        pts, idx = pts[near], idx[near]
        e, p, w = self.deform_field(pts)
        res["prior_expr"] = (e - self.vertex_expr[idx]).pow(2).mean() if pts.shape[0] else e.sum() * 0
        res["prior_pose"] = (p - self.vertex_pose[idx]).pow(2).mean() if pts.shape[0] else p.sum() * 0
        res["prior_skin"] = (w - self.vertex_weights[idx]).pow(2).mean() if pts.shape[0] else w.sum() * 0
        grad = self.manifold_field.gradient(eikonal_points, self.cfg.model.fd_eps)
        gap = grad.norm(dim=-1) - 1.0
        if self.cfg.train.eikonal_mode == "lower":  # only |grad s| >= 1: layers may pack closer, never flatten
            gap = gap.clamp(max=0.0)
        res["eikonal"] = gap.pow(2).mean()
        res["deform_residual"] = self.deform_field.residual_l2()
        # the model's surface lies on or inside the opaque layer (one-sided: hair may lie outside)
        s_v = self.manifold_field(self.surface_points(self.cfg.train.surface_samples, prior_gen))
        res["surface"] = (s_v - self.levels[0]).clamp_min(0.0).mean()
        # and, weighted by train.w_surface_inside, not deep inside it (where colour alone cannot
        # tell the depth, e.g. a sheet spanning the open mouth in front of the teeth)
        res["surface_inside"] = (self.levels[0] - s_v).clamp_min(0.0).mean()
        res["layer_depth"] = self.layer_depth_pull(layer_points) if layer_points is not None else s_v.sum() * 0
        return res

    def layer_depth_pull(self, pts: Tensor) -> Tensor:
        """Mean over pts (M, 3) of min over the translucent levels of (s - l)^2 / spacing^2."""
        levels = self.levels[1:]
        if pts.shape[0] == 0 or levels.numel() == 0:
            return self.manifold_field(pts[:1] if pts.shape[0] else self.canonical_vertices[:1]).sum() * 0
        spacing = (self.levels[-1] - self.levels[0]) / (self.levels.shape[0] - 1)
        s = self.manifold_field(pts)
        return ((s[:, None] - levels[None]) / spacing).pow(2).amin(1).mean()

    def surface_points(self, n: int, gen: torch.Generator | None = None) -> Tensor:
        """n points drawn area-uniformly on the canonical model's triangles (n = 0: the evenly
        subsampled vertices `init_vertex_ids`)."""
        if n == 0:
            return self.canonical_vertices[self.init_vertex_ids]
        v = self.canonical_vertices
        tri, u = area_samples(self.face_area_cpu, n, gen)
        a, b, c = v[self.flame.faces[tri.to(v.device)].long()].unbind(1)  # corners of the drawn triangles only
        u = u.to(v.device)
        return a + u[:, :1] * (b - a) + u[:, 1:] * (c - a)

    def normal_smoothness(self, pts: Tensor, gen: torch.Generator | None = None) -> Tensor:
        """Mean 1 - cos between the manifold normals at points and at a random neighbour
        (Gaussian offset of `train.normal_smooth_radius`): keeps the level sets' normals, which the
        per-pixel shading reads, from following per-voxel bumps the colour loss carves."""
        if pts.shape[0] == 0:
            return pts.sum() * 0
        off = torch.randn(pts.shape, generator=gen).to(pts.device) * self.cfg.train.normal_smooth_radius
        g = self.manifold_field.gradient(torch.cat([pts, pts + off]), self.cfg.model.fd_eps)
        n = g / g.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        a, b = n.chunk(2)
        return (1.0 - (a * b).sum(-1)).mean()


@torch.no_grad()
def render_frames(model: AvatarModel, K: Tensor, c2w: Tensor, expression: Tensor, pose: Tensor,
                  width: int, height: int, chunk: int | None = None, background=(1.0, 1.0, 1.0),
                  opaque_hits: bool = False) -> dict[str, Tensor]:
    """Render whole images. K (B,3,3) pixels at (width,height), c2w (B,4,4), expression (B,n_exp),
    pose (B,15) -> rgb (B,H,W,3), alpha (B,H,W), depth (B,H,W) (inf where nothing is hit); with
    `opaque_hits` also the opaque layer's canonical hit x_c0 (B,H,W,3) and whether it was hit, hit0 (B,H,W)."""
    from train.conventions import pixel_rays
    from train.render.rays import pixel_centres

    dev = model.levels.device
    chunk = chunk or (65536 if dev.type == "cuda" else 8192)
    bg = torch.tensor(background, device=dev, dtype=torch.float32)
    n = width * height
    uv = pixel_centres(torch.arange(n, device=dev), width)
    outs = {"rgb": [], "alpha": [], "depth": []} | ({"x_c0": [], "hit0": []} if opaque_hits else {})
    for i in range(K.shape[0]):
        k, c = K[i : i + 1].to(dev).float(), c2w[i : i + 1].to(dev).float()
        e, p = expression[i : i + 1].to(dev).float(), pose[i : i + 1].to(dev).float()
        parts = {key: [] for key in outs}
        for j in range(0, n, chunk):
            o, d = pixel_rays(k, c, uv[None, j : j + chunk])
            r = render_rays(model, o, d, e, p, differentiable=False, background=bg)
            if opaque_hits:
                r["x_c0"], r["hit0"] = r["x_c"][:, :, 0], r["hit"][:, :, 0]
            for key in outs:
                parts[key].append(r[key][0])
        for key in outs:
            outs[key].append(torch.cat(parts[key]))
    return {key: torch.stack(v).reshape(-1, height, width, *v[0].shape[1:]) for key, v in outs.items()}


def build_flame(cfg, device="cpu", shape_params=None):
    """The morphable model named by `cfg.data` (procedural head or a FLAME pickle)."""
    from train.flame import load_morphable_model

    return load_morphable_model(cfg.data.flame_model, shape_params=shape_params, n_exp=cfg.data.n_exp,
                                ghostbone=cfg.data.ghostbone).to(device)


def load_stage1(workdir, device="cpu", checkpoint: str | None = None):
    """Load `<workdir>/train/config.yaml` and the stage-1 checkpoint -> (cfg, AvatarModel in eval mode).

    The morphable model's buffers (identity baked in) come from the checkpoint, so the dataset
    is not needed.
    """
    from train.config import load_config

    tdir = Path(workdir) / "train"
    cfg_path, ckpt_path = tdir / CONFIG_NAME, Path(checkpoint) if checkpoint else tdir / CHECKPOINT_NAME
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{cfg_path}: stage-1 config not found (train stage 1 first)")
    if not ckpt_path.is_file():
        raise FileNotFoundError(f"{ckpt_path}: stage-1 checkpoint not found (train stage 1 first)")
    cfg = load_config(cfg_path)
    state = torch.load(ckpt_path, map_location="cpu", weights_only=True)["model"]
    res = state.get("deform_field.residual")
    if res is not None:
        # run folders from before `model.deform_residual_channels` (default then: all) lack the key:
        # the residual's channels tell (all: 3 n_exp + 108 pose + bones; skinning: the bones only)
        cfg.model.deform_residual_channels = "all" if res.shape[1] > 108 else "skinning"
    flame = build_flame(cfg, "cpu")
    flame_state = {k[len("flame."):]: v for k, v in state.items() if k.startswith("flame.")}
    flame.load_state_dict(flame_state, strict=False)
    flame = flame.to(device)
    n_frames = next((v.shape[0] for k, v in state.items() if k.startswith("frame_inputs.")), 0)
    model = AvatarModel(cfg, flame, state["canonical_expression"].to(device), init_fields=False, n_train_frames=n_frames)
    model.load_state_dict(state)
    return cfg, model.to(device).eval()
