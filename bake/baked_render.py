"""The reference renderer of a baked avatar: the one definition every player must match.

`render_artifact(art, expression, pose, K, w2c, width, height)` draws a baked avatar artifact
(export/artifact.py); stage 3 trains through `render_baked` on a `BakedAvatar` module, and
export's and the web player's parity checks compare against it (web player >= 40 dB PSNR).

What a player must reproduce, per frame (expression psi (E,), pose theta (15,)):

1. Joints and pose feature (`bake.lbs.joint_transforms`): J = joints_template +
   joints_expr_basis . psi; R_j = Rodrigues(theta[3j:3j+3]) with angle = |r + 1e-8|;
   local [R_j | J_j - J_parent] (root: [R_0 | J_0]); chain G_j = G_parent T_j;
   A_j = G_j T(-J_j); the ghost bone (when `parents` has 6 entries) is the identity at index 0.
   Pose feature pf (36) = row-major (R_j - I) of joints 1..4 (neck, jaw, eye, eye).
2. Vertices (`bake.lbs.deform_layer`): S = sum_j w_j A_j; x = S (x_o + E^T psi + P^T pf);
   n = normalize(S[:3,:3] n_o). All in float32.
3. Per-frame MLP: theta_s = FrameMLP([theta[6:15], psi[:n_exp]]) (train.shading).
4. Camera: clip = P w2c [x; 1] with P = train.conventions.gl_projection(K, W, H, NEAR, FAR),
   NEAR = 0.1, FAR = 100. Image row r is framebuffer row r at NDC y = -1 + (2r + 1)/H, i.e.
   NDC y grows DOWN the image (a player showing the image upright flips y, which flips winding).
5. Rasterisation, per layer separately: only front-facing triangles, i.e. those with
   dot((p1 - p0) x (p2 - p0), c - p0) > 0 for the deformed world positions p and the camera
   centre c = -R^T t (counter-clockwise as seen from the camera; in gl_projection's NDC, where y
   points down the image, their signed area is negative). A pixel is sampled once at its centre
   (no MSAA, no antialiasing) with the rules of `train.raster` (vertices snapped to 1/16 pixel,
   top-left fill rule, as GPUs do); of the front-facing triangles covering it the nearest depth
   wins (a fresh depth buffer per layer: a depth pre-pass, then a LEQUAL colour pass).
   Perspective-correct interpolation of uv, the deformed world normal and world position.
6. Shading per covered pixel (train.shading.shade): textures are the stored uint8 / 255,
   sampled bilinearly without mipmaps, clamp-to-edge, texel (i, j) centred at
   ((j + 0.5) / W_t, (i + 0.5) / H_t), row 0 <-> v = 0 (no flip). f_pos = pos_texture (D
   channels); basis k = radiance[k] (RGBA). n = normalize(interpolated normal) (renormalised per
   pixel); v = normalize(p - c) (camera -> point, world space). z = [f_pos, n, v];
   coef = softmax(temperature * MLP_theta_s(z)) (max-subtracted before exp, as torch does);
   rgba = sum_k coef_k basis_k (a convex mix: alpha stays in [0, 1]). Layer 0: alpha := 1.
7. Compositing: start from the background colour (default white); for layers 0 (inner) ..
   M-1 (outer): colour = a * rgb + (1 - a) * colour where the layer covers the pixel (a = 0
   elsewhere); straight alpha, i.e. GL blendFunc(SRC_ALPHA, ONE_MINUS_SRC_ALPHA). The returned
   alpha channel is 1 - prod(1 - a_i) (coverage of the whole avatar).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from bake import lbs
from export.artifact import NORMAL_BLEND_ARRAYS, Artifact, Layer, load_artifact
from train import raster
from train.conventions import gl_projection
from train.shading import FrameMLP, ShadingSpec, frame_condition, shade

NEAR = 0.1
FAR = 100.0
_BACKEND_ALIASES = {"nvdiffrast": "cuda"}


def fake_quantize(x: Tensor) -> Tensor:
    """round(clamp(x, 0, 1) * 255) / 255 forward, identity gradient (straight-through)."""
    q = torch.round(x.clamp(0.0, 1.0) * 255.0) / 255.0
    return x + (q - x).detach()


def layer_texture_stack(pos_texture: np.ndarray, radiance: np.ndarray) -> Tensor:
    """uint8 (H, W, D) and (K, H, W, 4) -> float (D + 4K, H, W) = value / 255.

    Channel order: f_pos[0..D), then basis 0 RGBA, basis 1 RGBA, ...
    """
    pos = torch.from_numpy(np.ascontiguousarray(pos_texture)).permute(2, 0, 1).float()
    K, H, W, _ = radiance.shape
    rad = torch.from_numpy(np.ascontiguousarray(radiance)).permute(0, 3, 1, 2).reshape(K * 4, H, W).float()
    return torch.cat([pos, rad], dim=0) / 255.0


class BakedAvatar(nn.Module):
    """A baked avatar as torch tensors: geometry as buffers, textures and FrameMLP trainable.

    textures[i] is (D + 4K, H_i, W_i) float in [0, 1] (see `layer_texture_stack`).
    """

    GEOMETRY = ("vertices", "faces", "uvs", "normals", "expr_basis", "pose_basis", "skin_weights")

    def __init__(self, art: Artifact):
        super().__init__()
        self.meta = dict(art.meta)
        self.spec = ShadingSpec.from_json(art.meta["shading"])
        self.parents = [int(p) for p in art.meta["parents"]]
        self.layer_info = [(l.name, float(l.level), bool(l.opaque)) for l in art.layers]
        self.register_buffer("joints_template", torch.from_numpy(art.joints_template.copy()))
        self.register_buffer("joints_expr_basis", torch.from_numpy(art.joints_expr_basis.copy()))
        self.frame_mlp = FrameMLP(self.spec)
        self.frame_mlp.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in art.frame_mlp.items()})
        self.geometry = nn.ModuleList()
        for layer in art.layers:
            g = nn.Module()
            for key in self.GEOMETRY:
                arr = layer.arrays[key]
                g.register_buffer(key, torch.from_numpy(np.array(arr, dtype=np.int64 if key == "faces" else np.float32)))
            for key in NORMAL_BLEND_ARRAYS:  # None without normal blendshapes
                arr = layer.arrays.get(key)
                g.register_buffer(key, None if arr is None else torch.from_numpy(np.array(arr, dtype=np.float32)))
            self.geometry.append(g)
        self.textures = nn.ParameterList(
            nn.Parameter(layer_texture_stack(l.arrays["pos_texture"], l.arrays["radiance"])) for l in art.layers
        )

    @property
    def n_layers(self) -> int:
        return len(self.geometry)

    def forward(self, expression: Tensor, pose: Tensor, K: Tensor, w2c: Tensor, width: int, height: int,
                backend: str = "auto", background=(1.0, 1.0, 1.0), shading_cond: Tensor | None = None,
                view_noise: Tensor | None = None) -> Tensor:
        """`render_baked(self, ...)`: rgba (B, H, W, 4), differentiable (for DDP wrapping)."""
        return render_baked(self, expression, pose, K, w2c, width, height, backend, background, shading_cond=shading_cond,
                            view_noise=view_noise)

    def to_artifact(self, template: Artifact, source: dict | None = None) -> Artifact:
        """Current textures (rounded to uint8) and FrameMLP written into a copy of `template`."""
        D, K = self.spec.dim_pos_feature, self.spec.num_texture_basis
        layers = []
        for i, (old, tex) in enumerate(zip(template.layers, self.textures)):
            t = tex.detach().cpu().clamp(0, 1).numpy()
            arrays = dict(old.arrays)
            arrays["pos_texture"] = _to_u8(t[:D].transpose(1, 2, 0))
            rad = t[D:].reshape(K, 4, *t.shape[1:]).transpose(0, 2, 3, 1)
            rad = _to_u8(rad)
            if i == 0:
                rad[..., 3] = 255  # layer 0 is opaque; store it so (spec 5.5's bug fixed)
            arrays["radiance"] = rad
            layers.append(Layer(old.name, old.level, old.opaque, arrays))
        meta = dict(template.meta)
        if source is not None:
            meta["source"] = source
        mlp = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in self.frame_mlp.state_dict().items()}
        return Artifact(meta, layers, template.joints_template, template.joints_expr_basis, mlp, template.sequences)


def _to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def _batched(m: Tensor, B: int, shape: tuple[int, ...]) -> Tensor:
    m = m.reshape(-1, *shape)
    return m.expand(B, *shape) if m.shape[0] == 1 else m


def sample_texture(tex: Tensor, uv: Tensor) -> Tensor:
    """tex (C, Ht, Wt), uv (N, 2) -> (N, C): bilinear, no mipmaps, clamp-to-edge, texel (i, j)
    centred at ((j + .5)/Wt, (i + .5)/Ht), row 0 <-> v = 0 (GL LINEAR + CLAMP_TO_EDGE; the same
    as train.raster.texture(..., 'linear', 'clamp'), through grid_sample's fused kernels)."""
    grid = (uv * 2.0 - 1.0).reshape(1, 1, -1, 2)
    out = torch.nn.functional.grid_sample(tex[None], grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out[0, :, 0].transpose(0, 1)


def front_facing(p: Tensor, faces: Tensor, cam_centre: Tensor) -> Tensor:
    """p (N, 3) world vertices, faces (F, 3), cam_centre (3,) -> bool (F,) facing the camera."""
    a, b, c = p[faces[:, 0]], p[faces[:, 1]], p[faces[:, 2]]
    normal = torch.linalg.cross(b - a, c - a)
    return (normal * (cam_centre - a)).sum(-1) > 0


def render_baked(
    avatar: BakedAvatar,
    expression: Tensor,
    pose: Tensor,
    K: Tensor,
    w2c: Tensor,
    width: int,
    height: int,
    backend: str = "auto",
    background=(1.0, 1.0, 1.0),
    quantize: bool = True,
    n_layers: int | None = None,
    shading_cond: Tensor | None = None,
    view_noise: Tensor | None = None,
) -> Tensor:
    """Render B frames: expression (B, E), pose (B, 15), K (3,3)|(B,3,3), w2c (4,4)|(B,4,4).

    Returns rgba (B, H, W, 4): colour over `background`, alpha = avatar coverage. Differentiable
    w.r.t. avatar.textures and avatar.frame_mlp (textures pass `fake_quantize` when `quantize`).
    `n_layers` draws only the innermost layers (debugging); `shading_cond` (B, 9 + n_exp) replaces
    the frames' own per-frame MLP input (fine-tune noise); `view_noise` (B, H, W, 3) is added to the
    unit view direction the per-pixel shading reads (then renormalised; fine-tune noise, as stage 1's
    `train.view_dir_noise`); follows the module docstring.
    """
    dev = avatar.joints_template.device
    expression = expression.to(dev, torch.float32)
    pose = pose.to(dev, torch.float32)
    B = pose.shape[0]
    if expression.ndim != 2 or expression.shape[0] != B or expression.shape[1] < avatar.spec.n_exp:
        raise ValueError(f"expression must have shape (B={B}, >= {avatar.spec.n_exp}); got {tuple(expression.shape)}")
    K = _batched(torch.as_tensor(K, dtype=torch.float32, device=dev), B, (3, 3))
    w2c = _batched(torch.as_tensor(w2c, dtype=torch.float32, device=dev), B, (4, 4))
    backend = raster.get_backend(_BACKEND_ALIASES.get(backend, backend), dev)
    H, W = int(height), int(width)
    spec = avatar.spec

    A, pf = lbs.joint_transforms(avatar.joints_template, avatar.joints_expr_basis, avatar.parents, expression, pose)
    if shading_cond is None:
        shading_cond = frame_condition(expression, pose, spec.n_exp)
    theta = avatar.frame_mlp(shading_cond.to(dev, torch.float32))
    proj = torch.stack([torch.as_tensor(gl_projection(k.cpu(), W, H, NEAR, FAR), dtype=torch.float32) for k in K]).to(dev)
    full = proj @ w2c  # (B, 4, 4)
    cam_centre = -(w2c[:, :3, :3].transpose(1, 2) @ w2c[:, :3, 3:4])[..., 0]  # (B, 3)

    colour = torch.as_tensor(background, dtype=torch.float32, device=dev).expand(B, H, W, 3)
    keep = torch.ones(B, H, W, 1, device=dev)  # prod (1 - a_i)
    D, Kb = spec.dim_pos_feature, spec.num_texture_basis
    M = avatar.n_layers if n_layers is None else min(n_layers, avatar.n_layers)
    colour = colour.reshape(B * H * W, 3)
    keep = keep.reshape(B * H * W, 1)
    for i in range(M):
        g = avatar.geometry[i]
        xd, nd = lbs.deform_layer(g.vertices, g.normals, g.expr_basis, g.pose_basis, g.skin_weights, A, pf, expression,
                                  g.normal_expr, g.normal_pose)
        clip = torch.cat([xd, torch.ones_like(xd[..., :1])], -1) @ full.transpose(1, 2)
        rast = torch.cat([_rasterize_front(clip[b], xd[b], g.faces, cam_centre[b], (H, W), backend) for b in range(B)])
        # shade only the covered pixels (sorted, so each frame's pixels are one contiguous run)
        flat = rast.reshape(-1, 4)
        pix = torch.nonzero(flat[:, 3] > 0)[:, 0]
        if pix.numel() == 0:
            continue
        bi = torch.div(pix, H * W, rounding_mode="floor")
        tri = g.faces[flat[pix, 3].long() - 1]  # (N, 3)
        w0, w1 = flat[pix, 0:1], flat[pix, 1:2]

        def interp(attr: Tensor) -> Tensor:  # (V, C) or (B, V, C) -> (N, C), perspective-correct
            a3 = attr[tri] if attr.dim() == 2 else attr[bi[:, None], tri]
            return w0 * a3[:, 0] + w1 * a3[:, 1] + (1.0 - w0 - w1) * a3[:, 2]

        uv = interp(g.uvs)
        n = torch.nn.functional.normalize(interp(nd), dim=-1)
        v = torch.nn.functional.normalize(interp(xd) - cam_centre[bi], dim=-1)
        if view_noise is not None:
            v = torch.nn.functional.normalize(v + view_noise.reshape(-1, 3)[pix].to(v), dim=-1)
        tex = avatar.textures[i]
        tex = fake_quantize(tex) if quantize else tex
        sampled = sample_texture(tex, uv)  # (N, D + 4K)
        counts = torch.bincount(bi, minlength=B).tolist()
        parts = zip(sampled.split(counts), n.split(counts), v.split(counts))
        rgba = torch.cat([
            shade(sm[None, :, :D], nn_[None], vv[None], sm[None, :, D:].reshape(1, -1, Kb, 4), theta[b : b + 1], spec)[0]
            for b, (sm, nn_, vv) in enumerate(parts)
        ])
        alpha = torch.ones_like(rgba[:, 3:4]) if i == 0 else rgba[:, 3:4].clamp(0.0, 1.0)
        a = torch.zeros_like(keep).index_put((pix,), alpha)
        rgb = torch.zeros_like(colour).index_put((pix,), rgba[:, :3])
        colour = a * rgb + (1.0 - a) * colour
        keep = keep * (1.0 - a)
    colour = colour.reshape(B, H, W, 3)
    keep = keep.reshape(B, H, W, 1)
    return torch.cat([colour, 1.0 - keep], dim=-1)


def _rasterize_front(clip: Tensor, xd: Tensor, faces: Tensor, cam_centre: Tensor, res, backend) -> Tensor:
    """One frame: rasterise only front-facing faces; triangle ids refer to the full face list."""
    with torch.no_grad():
        idx = torch.nonzero(front_facing(xd, faces, cam_centre))[:, 0]
        if idx.numel() == 0:  # nothing faces the camera (e.g. seen from inside)
            return torch.zeros(1, res[0], res[1], 4, device=clip.device)
        rast = backend.rasterize(clip[None].contiguous(), faces[idx].int().contiguous(), res)
        fid = rast[..., 3].long()
        full_id = torch.where(fid > 0, idx[(fid - 1).clamp_min(0)] + 1, torch.zeros_like(fid))
        return torch.cat([rast[..., :3], full_id[..., None].float()], dim=-1)


def as_baked_avatar(art, device: str | torch.device = "cpu") -> BakedAvatar:
    """Artifact | BakedAvatar | artifact folder path | tensors dict -> BakedAvatar on `device`.

    A tensors dict holds the safetensors keys of docs/formats.md plus 'meta' (avatar.json content).
    """
    if isinstance(art, BakedAvatar):
        return art.to(device)
    if isinstance(art, (str, os.PathLike)):
        art = load_artifact(Path(art))
    elif isinstance(art, dict):
        art = artifact_from_tensors(art)
    if not isinstance(art, Artifact):
        raise TypeError(f"art must be an Artifact, BakedAvatar, folder path or tensors dict; got {type(art).__name__}")
    return BakedAvatar(art).to(device)


def artifact_from_tensors(d: dict) -> Artifact:
    """Build an Artifact from {'meta': avatar.json dict, '<safetensors key>': array, ...}."""
    if "meta" not in d:
        raise ValueError("tensors dict must hold 'meta' (the avatar.json content)")
    meta = d["meta"]
    arr = {k: np.asarray(v) for k, v in d.items() if k != "meta"}
    layers = [
        Layer(l["name"], l["level"], l["opaque"], {k[len(f"layers.{i}.") :]: v for k, v in arr.items() if k.startswith(f"layers.{i}.")})
        for i, l in enumerate(meta["layers"])
    ]
    mlp = {k[len("frame_mlp.") :]: v for k, v in arr.items() if k.startswith("frame_mlp.")}
    seqs: dict = {}
    for k, v in arr.items():
        if k.startswith("sequences."):
            name, field_ = k[len("sequences.") :].rsplit(".", 1)
            seqs.setdefault(name, {})[field_] = v
    m = {k: v for k, v in meta.items() if k not in ("layers", "sequences")}
    return Artifact(m, layers, arr["joints_template"], arr["joints_expr_basis"], mlp, seqs)


def render_artifact(
    art,
    expression,
    pose,
    K,
    w2c,
    width: int,
    height: int,
    backend: str = "auto",
    background=(1.0, 1.0, 1.0),
    device: str | torch.device | None = None,
) -> Tensor:
    """Reference render of a baked avatar: rgba (B, H, W, 4) float32 in [0, 1] (no gradient).

    art: Artifact | BakedAvatar | artifact folder | tensors dict; expression (B, E) and pose
    (B, 15) (numpy or torch; a single (E,) / (15,) frame is promoted to B = 1); K (3, 3) pixels
    with negative fx; w2c (4, 4) world -> camera. The maths are in this module's docstring.
    """
    if device is None:
        device = "cuda" if backend == "nvdiffrast" else "cpu"
    avatar = as_baked_avatar(art, device)
    e = torch.as_tensor(np.asarray(expression, dtype=np.float32) if not torch.is_tensor(expression) else expression)
    p = torch.as_tensor(np.asarray(pose, dtype=np.float32) if not torch.is_tensor(pose) else pose)
    if e.ndim == 1:
        e, p = e[None], p[None]
    with torch.no_grad():
        return render_baked(avatar, e, p, torch.as_tensor(np.asarray(K, dtype=np.float32)), torch.as_tensor(np.asarray(w2c, dtype=np.float32)), width, height, backend, background)
