"""A small, fully procedural baked avatar artifact (no training, no baking; milliseconds).

Nested ellipsoid shells with smooth procedural textures, skinning weights and blendshapes, a
random FrameMLP and a short sequence. It is a valid `export.artifact.Artifact` that exercises
every field, for tests of the renderer, the exporter and the players before a real bake exists:

    from bake.toy import toy_artifact
    art = toy_artifact(n_layers=2, n_exp=4, texture_size=32)
"""

from __future__ import annotations

import numpy as np
import torch

from export.artifact import Artifact, Layer
from train.conventions import srgb_to_uint8
from train.shading import FrameMLP, ShadingSpec

JOINT_NAMES = ["ghost", "root", "neck", "jaw", "eye_left", "eye_right"]
PARENTS = [-1, -1, 1, 2, 2, 2]
JOINTS = np.array([[0, -0.45, -0.05], [0, -0.3, -0.05], [0, -0.1, 0.05], [0.12, 0.1, 0.3], [-0.12, 0.1, 0.3]], np.float32)


def uv_sphere(n_lat: int, n_lon: int, radii=(0.4, 0.5, 0.42), centre=(0.0, 0.0, 0.0)):
    """Ellipsoid with a lat-long UV layout split at the seam (duplicated vertices at u = 0 and 1).

    Returns vertices (V, 3), faces (F, 3) counter-clockwise seen from outside, uvs (V, 2) in
    [0, 1] and outward unit normals (V, 3), all float32 / int32. Pole triangles are non-degenerate.
    """
    i, j = np.meshgrid(np.arange(n_lat + 1), np.arange(n_lon + 1), indexing="ij")
    theta = np.pi * (i + 0.5 * (i == 0) - 0.5 * (i == n_lat)) / n_lat  # keep poles as small rings
    phi = 2 * np.pi * j / n_lon
    unit = np.stack([np.sin(theta) * np.sin(phi), np.cos(theta), np.sin(theta) * np.cos(phi)], -1).reshape(-1, 3)
    r = np.asarray(radii, np.float64)
    verts = unit * r + np.asarray(centre)
    normals = unit / r
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    uvs = np.stack([j / n_lon, i / n_lat], -1).reshape(-1, 2)
    idx = (i * (n_lon + 1) + j)[:-1, :-1].reshape(-1)
    a, b, c, d = idx, idx + 1, idx + n_lon + 1, idx + n_lon + 2
    faces = np.concatenate([np.stack([a, c, b], 1), np.stack([b, c, d], 1)])
    # orient counter-clockwise seen from outside (right-hand normal along the outward normal)
    p = verts[faces]
    fn = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    flip = (fn * normals[faces].mean(1)).sum(1) < 0
    faces[flip] = faces[flip][:, ::-1]
    return verts.astype(np.float32), faces.astype(np.int32), uvs.astype(np.float32), normals.astype(np.float32)


def _skin_weights(v: np.ndarray) -> np.ndarray:
    """Smooth weights over the 6 bones (ghost, root, neck, jaw, eyes) from the position."""
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    logits = np.stack(
        [
            -8 - 0 * y,
            2 * (-y - 0.2),
            4 * (-y - 0.1),
            8 * (z - 0.1) - 8 * (y + 0.05),
            -30 * ((x - 0.12) ** 2 + (y - 0.1) ** 2 + (z - 0.35) ** 2) * 10,
            -30 * ((x + 0.12) ** 2 + (y - 0.1) ** 2 + (z - 0.35) ** 2) * 10,
        ],
        1,
    )
    e = np.exp(logits - logits.max(1, keepdims=True))
    return (e / e.sum(1, keepdims=True)).astype(np.float32)


def _textures(size: int, layer: int, n_layers: int, spec: ShadingSpec, rng: np.random.Generator):
    t = (np.arange(size) + 0.5) / size
    u, v = np.meshgrid(t, t, indexing="xy")  # u along columns, v along rows
    D, K = spec.dim_pos_feature, spec.num_texture_basis
    freq = rng.uniform(1, 4, size=(D, 2))
    pos = 0.5 + 0.5 * np.sin(2 * np.pi * (freq[:, :1, None] * u + freq[:, 1:, None] * v) + layer)
    pos = pos.transpose(1, 2, 0)
    base = rng.uniform(0.1, 0.9, size=(K, 3))
    rad = np.empty((K, size, size, 4))
    for k in range(K):
        for c in range(3):
            rad[k, ..., c] = base[k, c] + 0.1 * np.sin(2 * np.pi * ((k + 1) * u + (c + 1) * v))
    alpha = 1.0 if layer == 0 else 0.5 + 0.5 * np.sin(2 * np.pi * 6 * u) * np.cos(2 * np.pi * 3 * v)
    rad[..., 3] = alpha * (1.0 - 0.5 * layer / max(n_layers, 1)) if layer else 1.0
    return srgb_to_uint8(np.clip(pos, 0, 1)), srgb_to_uint8(np.clip(rad, 0, 1))


def toy_artifact(
    n_layers: int = 2,
    n_exp: int = 4,
    texture_size: int = 32,
    n_lat: int = 12,
    n_lon: int = 16,
    num_texture_basis: int = 4,
    image_size: int = 64,
    seed: int = 0,
) -> Artifact:
    """Nested shells 0 (inner, opaque) .. n_layers-1 with every artifact field filled."""
    rng = np.random.default_rng(seed)
    spec = ShadingSpec(n_exp=n_exp, dim_pos_feature=8, num_texture_basis=num_texture_basis, frame_hidden=(16,), pixel_hidden=(8,))
    layers = []
    for i in range(n_layers):
        s = 1.0 + 0.08 * i
        v, f, uv, n = uv_sphere(n_lat, n_lon, radii=(0.4 * s, 0.5 * s, 0.42 * s))
        V = v.shape[0]
        ph = rng.uniform(0, 2 * np.pi, size=(n_exp, 3))
        expr = 0.03 * np.sin(3 * v[:, None, :] + ph[None]) * (v[:, None, 1:2] < 0.1)
        pose_b = 0.01 * np.sin(2 * v[:, None, :] + np.arange(36)[None, :, None])
        pos, rad = _textures(texture_size, i, n_layers, spec, rng)
        arrays = dict(
            vertices=v, faces=f, uvs=uv, normals=n,
            expr_basis=expr.astype(np.float32), pose_basis=pose_b.astype(np.float32),
            skin_weights=_skin_weights(v), pos_texture=pos, radiance=rad,
        )
        assert arrays["expr_basis"].shape == (V, n_exp, 3)
        layers.append(Layer(f"layer{i}", -0.2 + 0.2 * i / max(n_layers - 1, 1), i == 0, arrays))
    torch.manual_seed(seed)
    mlp = {k: v.detach().numpy().copy() for k, v in FrameMLP(spec).state_dict().items()}
    focal = 3.0 * image_size
    camera = {
        "K": [[-focal, 0.0, image_size / 2], [0.0, focal, image_size / 2], [0.0, 0.0, 1.0]],
        "w2c": [[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, -4.0], [0, 0, 0, 1.0]],
        "width": image_size,
        "height": image_size,
    }
    t = np.linspace(0, 1, 6, dtype=np.float32)[:, None]
    pose = np.zeros((6, 15), np.float32)
    pose[:, 1] = 0.3 * np.sin(2 * np.pi * t[:, 0])
    pose[:, 6] = 0.2 * t[:, 0]
    seq = {"expression": (0.5 * np.sin(2 * np.pi * t + np.arange(n_exp))).astype(np.float32), "pose": pose}
    meta = {
        "shading": spec.to_json(),
        "joint_names": JOINT_NAMES,
        "parents": PARENTS,
        "ghostbone": True,
        "camera": camera,
        "source": {"kind": "bake.toy", "seed": seed},
    }
    jeb = (0.01 * rng.standard_normal((5, 3, n_exp))).astype(np.float32)
    return Artifact(meta, layers, JOINTS.copy(), jeb, mlp, {"train": seq})
