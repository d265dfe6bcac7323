"""Conventions shared by every stage, defined once (the TypeScript twin is
`web_player/src/conventions.ts`; `tests/test_conventions.py` checks both on one asset).

* Units: FLAME model space scaled by `FLAME_SCALE` (= 4), as in IMavatar/BakedAvatar data.
* Camera: OpenGL axes (x right, y up, looking along -z); intrinsics in pixels with **negative
  fx** (IMavatar's encoding of the x flip); pixel (col, row) covers [col, col+1) x [row, row+1),
  so its centre is at +0.5 (stage 1 and the rasterizer agree; BakedAvatar's half-pixel
  inconsistency is fixed here).
  Projection of a world point p: q = R p + t (w2c), u = fx q_x / q_z + cx, v = fy q_y / q_z + cy.
* Clip space: `gl_projection` maps to NDC such that framebuffer row r (nvdiffrast layout,
  row 0 at NDC y = -1) is image row r: no flips anywhere.
* Textures: row 0 <-> v = 0 (glTF's and WebGL's convention without UNPACK_FLIP_Y).
* Colour: images and textures are display-referred sRGB values used as-is (no linearisation);
  alpha is straight (not premultiplied); layers composite with "over", inner to outer.
* Matrices: row-major 4x4 numpy/torch, applied to column vectors (glTF stores column-major).
"""

from __future__ import annotations

import numpy as np
import torch

FLAME_SCALE = 4.0
JOINT_NAMES = ("root", "neck", "jaw", "eye_left", "eye_right")
GHOST_NAME = "ghost"
N_POSE = 15
N_POSE_FEATURE = 36
UV_ORIGIN = "top-left, v down the image rows (row 0 = v 0)"


def intrinsics_from_normalized(values, width: int, height: int) -> np.ndarray:
    """IMavatar `intrinsics` [fx_n, fy_n, cx_n, cy_n] -> 3x3 pixel K (fx stays negative).

    Legacy files store pixels at 512^2 (cy_n > 1); they are normalised first.
    """
    fx, fy, cx, cy = (float(v) for v in values)
    if cy > 1.0:
        fx, fy, cx, cy = fx / 512.0, fy / 512.0, cx / 512.0, cy / 512.0
    return np.array(
        [[fx * width, 0.0, cx * width], [0.0, fy * height, cy * height], [0.0, 0.0, 1.0]],
        dtype=np.float64,
    )


def w2c_from_world_mat(world_mat) -> np.ndarray:
    """IMavatar `world_mat` (3x4 or 4x4 world->camera) -> 4x4 world->camera."""
    m = np.asarray(world_mat, dtype=np.float64)
    out = np.eye(4)
    out[:3, :4] = m[:3, :4]
    return out


def project(points: torch.Tensor, K: torch.Tensor, w2c: torch.Tensor) -> torch.Tensor:
    """World points (..., N, 3) -> continuous pixel coordinates (..., N, 2) (u = col, v = row)."""
    q = points @ w2c[..., :3, :3].transpose(-1, -2) + w2c[..., None, :3, 3]
    z = q[..., 2:3]
    u = K[..., None, 0, 0:1] * q[..., 0:1] / z + K[..., None, 0, 2:3]
    v = K[..., None, 1, 1:2] * q[..., 1:2] / z + K[..., None, 1, 2:3]
    return torch.cat([u, v], dim=-1)


def pixel_rays(K: torch.Tensor, c2w: torch.Tensor, uv: torch.Tensor):
    """Rays through continuous pixel coordinates uv (..., R, 2) (use +0.5 for pixel centres).

    Returns origins and unit directions in world space, each (..., R, 3).
    """
    x = (uv[..., 0] - K[..., None, 0, 2]) / K[..., None, 0, 0]
    y = (uv[..., 1] - K[..., None, 1, 2]) / K[..., None, 1, 1]
    # the camera looks along -z: a point at depth z=-1 projects to (x, y) when q = (-x, -y, -1)
    d_cam = torch.stack([-x, -y, -torch.ones_like(x)], dim=-1)
    d = d_cam @ c2w[..., :3, :3].transpose(-1, -2)
    d = d / d.norm(dim=-1, keepdim=True)
    o = c2w[..., None, :3, 3].expand_as(d)
    return o, d


def gl_projection(K: np.ndarray | torch.Tensor, width: int, height: int, near: float = 1.0, far: float = 10.0):
    """4x4 clip matrix for camera-space points: NDC x/y map to image columns/rows directly."""
    fx, fy, cx, cy = float(K[0][0]), float(K[1][1]), float(K[0][2]), float(K[1][2])
    return np.array(
        [
            [-2.0 * fx / width, 0.0, 1.0 - 2.0 * cx / width, 0.0],
            [0.0, -2.0 * fy / height, 1.0 - 2.0 * cy / height, 0.0],
            [0.0, 0.0, -(far + near) / (far - near), -2.0 * far * near / (far - near)],
            [0.0, 0.0, -1.0, 0.0],
        ],
        dtype=np.float64,
    )


def clip_space(verts: torch.Tensor, K, w2c: torch.Tensor, width: int, height: int, near: float = 1.0,
               far: float = 10.0) -> torch.Tensor:
    """World vertices (..., V, 3) -> clip space (..., V, 4) via w2c and `gl_projection(K)` (the
    rasterizers' input)."""
    proj = torch.as_tensor(gl_projection(np.asarray(K.detach().cpu() if torch.is_tensor(K) else K, dtype=np.float64),
                                         width, height, near, far), dtype=verts.dtype, device=verts.device)
    w2c = torch.as_tensor(w2c, dtype=verts.dtype, device=verts.device)
    q = verts @ w2c[:3, :3].T + w2c[:3, 3]
    return (torch.cat([q, torch.ones_like(q[..., :1])], -1) @ proj.T).contiguous()


def srgb_to_uint8(x: np.ndarray) -> np.ndarray:
    """[0,1] floats -> uint8 by rounding (the quantisation every stage and the player assume)."""
    return np.clip(np.rint(np.asarray(x, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
