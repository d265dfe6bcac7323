"""Preview images of a baked avatar a person can look at (PNG bytes, for save_artifact extras).

* `layers.png`: every layer alone, normal-shaded, from the front and from the side;
* `atlas_<i>.png`: layer i's textures: position features 0-2 as RGB, basis 0 RGB, alpha;
* `renders.png`: the composited avatar for a few frames (next to the ground truth if given).
"""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from bake import lbs
from bake.baked_render import NEAR, FAR, BakedAvatar, _rasterize_front, render_baked
from export.artifact import Artifact
from train import raster
from train.conventions import gl_projection


def png_bytes(img: np.ndarray) -> bytes:
    """float [0, 1] or uint8 image (H, W[, C]) -> PNG bytes."""
    if img.dtype != np.uint8:
        img = np.clip(np.rint(np.asarray(img, np.float64) * 255.0), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def orbit_w2c(w2c: np.ndarray, angle: float, centre=(0.0, 0.0, 0.0)) -> np.ndarray:
    """The camera rotated by `angle` (rad) about the world y axis through `centre`."""
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, 0, s, 0], [0, 1, 0, 0], [-s, 0, c, 0], [0, 0, 0, 1.0]])
    T = np.eye(4)
    T[:3, 3] = centre
    Ti = np.eye(4)
    Ti[:3, 3] = -np.asarray(centre)
    return np.asarray(w2c, np.float64) @ T @ R @ Ti


@torch.no_grad()
def layer_normal_images(avatar: BakedAvatar, K, w2c, width: int, height: int, backend: str = "auto") -> list[np.ndarray]:
    """Each layer alone at zero pose/expression, colour = 0.5 + 0.5 n (white background)."""
    dev = avatar.joints_template.device
    n_exp = avatar.spec.n_exp
    A, pf = lbs.joint_transforms(avatar.joints_template, avatar.joints_expr_basis, avatar.parents, torch.zeros(1, n_exp, device=dev), torch.zeros(1, 15, device=dev))
    w2c_t = torch.as_tensor(np.asarray(w2c), dtype=torch.float32, device=dev)
    full = torch.as_tensor(gl_projection(np.asarray(K), width, height, NEAR, FAR), dtype=torch.float32, device=dev) @ w2c_t
    centre = -(w2c_t[:3, :3].T @ w2c_t[:3, 3])
    be = raster.get_backend({"nvdiffrast": "cuda"}.get(backend, backend), dev)
    out = []
    for g in avatar.geometry:
        xd, nd = lbs.deform_layer(g.vertices, g.normals, g.expr_basis, g.pose_basis, g.skin_weights, A, pf,
                                  torch.zeros(1, n_exp, device=dev), g.normal_expr, g.normal_pose)
        clip = torch.cat([xd[0], torch.ones_like(xd[0, :, :1])], -1) @ full.T
        rast = _rasterize_front(clip, xd[0], g.faces, centre, (height, width), be)
        n = be.interpolate(nd.contiguous(), rast, g.faces.int())[0]
        n = torch.nn.functional.normalize(n, dim=-1)
        cov = rast[0, ..., 3:4] > 0
        out.append(torch.where(cov, 0.5 + 0.5 * n, torch.ones_like(n)).cpu().numpy())
    return out


def layers_png(avatar: BakedAvatar, K, w2c, width: int, height: int, backend: str = "auto") -> bytes:
    """Front row and side row (60 degrees) of per-layer normal renders."""
    geo = torch.cat([g.vertices for g in avatar.geometry])
    centre = ((geo.min(0).values + geo.max(0).values) / 2).cpu().numpy()
    rows = [np.concatenate(layer_normal_images(avatar, K, w, width, height, backend), 1) for w in (w2c, orbit_w2c(w2c, np.pi / 3, centre))]
    return png_bytes(np.concatenate(rows, 0))


def atlas_png(art: Artifact, i: int) -> bytes:
    """Layer i: position features 0-2 | basis 0 RGB | alpha of basis 0 (grey)."""
    layer = art.layers[i]
    pos = layer.arrays["pos_texture"]
    rad = layer.arrays["radiance"]
    pos3 = pos[..., :3] if pos.shape[-1] >= 3 else np.repeat(pos[..., :1], 3, -1)
    alpha = np.repeat(rad[0, ..., 3:4], 3, -1)
    return png_bytes(np.concatenate([pos3, rad[0, ..., :3], alpha], 1))


@torch.no_grad()
def renders_png(avatar: BakedAvatar, expression, pose, K, w2c, width: int, height: int, gt: np.ndarray | None = None, backend: str = "auto") -> bytes:
    """Composited renders of B frames in a row; the ground truth (B, H, W, 3) in a second row."""
    dev = avatar.joints_template.device
    img = render_baked(avatar, torch.as_tensor(expression).float().to(dev), torch.as_tensor(pose).float().to(dev),
                       torch.as_tensor(np.asarray(K)).float(), torch.as_tensor(np.asarray(w2c)).float(), width, height, backend)
    row = np.concatenate(list(img[..., :3].cpu().numpy()), 1)
    if gt is not None:
        row = np.concatenate([row, np.concatenate(list(np.asarray(gt, np.float32)), 1)], 0)
    return png_bytes(row)
