"""A small but realistic synthetic baked avatar, built in code, and its bundle.

    python -m export.testbundle -o out.glb [--seed 0] [--preset small|default|realistic] [--artifact-out DIR]
                                   [--normal-blendshapes]

Layers are nested ellipsoids (lat-long UVs, split at the seam), with smooth random position
features and radiance bases, localised expression bases and pose correctives, FLAME-like skin
weights over [ghost, root, neck, jaw, eye_left, eye_right], a FrameMLP with random weights, the
FLAME joint layout and a short tracked sequence. The `default` preset has the sizes of
configs/synthetic.yaml (8 layers, 512 px textures, ~10k faces per layer); `small` is for tests;
`realistic` also has what makes a real bake big (dense morph deltas, UV-chart vertex counts,
detailed textures: docs/bundle.md, Compactness).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from export.artifact import Artifact, Layer, validate

PRESETS = {
    # layers, latitude bands, longitude segments, texture side, expressions, sequence frames
    "small": dict(n_layers=3, n_lat=12, n_lon=20, tex=64, n_exp=8, n_frames=12),
    "default": dict(n_layers=8, n_lat=70, n_lon=72, tex=512, n_exp=16, n_frames=150),
    # what a real stage-1 bake of configs/synthetic.yaml looks like to the exporter (see
    # `realistic_deltas`, `realistic_textures`): ~10k faces and 7.5k-9.3k vertices per layer (UV charts duplicate
    # vertices), dense morph deltas on every vertex, textures with fine detail
    "realistic": dict(n_layers=8, n_lat=70, n_lon=72, tex=512, n_exp=16, n_frames=150, realistic=True),
}
JOINT_NAMES = ["ghost", "root", "neck", "jaw", "eye_left", "eye_right"]
PARENTS = [-1, -1, 1, 2, 2, 2]
JOINTS = np.array([[0.0, -0.55, -0.05], [0.0, -0.35, -0.1], [0.0, -0.2, 0.05], [0.13, 0.1, 0.33], [-0.13, 0.1, 0.33]], np.float32)


def ellipsoid(radii, n_lat: int, n_lon: int):
    """Lat-long ellipsoid with a UV seam: vertices (V,3), normals (V,3), uvs (V,2), faces (F,3) CCW outward."""
    th = np.linspace(0.0, np.pi, n_lat + 1)  # from +y (top) to -y
    ph = np.linspace(0.0, 2 * np.pi, n_lon + 1)  # seam duplicated at phi = 0 / 2 pi
    T, P = np.meshgrid(th, ph, indexing="ij")
    # the UV seam (phi = 0) at the back of the head (-z), where the camera does not look
    d = np.stack([-np.sin(T) * np.sin(P), np.cos(T), -np.sin(T) * np.cos(P)], -1).reshape(-1, 3)
    r = np.asarray(radii, np.float64)
    v = d * r
    n = d / r
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    uv = np.stack([P / (2 * np.pi), T / np.pi], -1).reshape(-1, 2)
    idx = np.arange((n_lat + 1) * (n_lon + 1)).reshape(n_lat + 1, n_lon + 1)
    a, b, c, e = idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]
    f = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, e], -1).reshape(-1, 3)])
    # drop the degenerate triangles at the poles
    area = np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
    f = f[area > 1e-12]
    return v.astype(np.float32), n.astype(np.float32), uv.astype(np.float32), f.astype(np.int32)


def smooth_field(rng, shape_hw, channels: int, cells: int = 6) -> np.ndarray:
    """Smooth random values in [0,1]: bilinear upsampling of a coarse random grid, (H, W, C)."""
    H, W = shape_hw
    g = rng.random((cells + 1, cells + 1, channels))
    y = np.linspace(0, cells, H)
    x = np.linspace(0, cells, W)
    y0, x0 = np.minimum(y.astype(int), cells - 1), np.minimum(x.astype(int), cells - 1)
    fy, fx = (y - y0)[:, None, None], (x - x0)[None, :, None]
    top = g[y0][:, x0] * (1 - fx) + g[y0][:, x0 + 1] * fx
    bot = g[y0 + 1][:, x0] * (1 - fx) + g[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bot * fy


def fractal_field(rng, size: int, channels: int, slope: float, cells=(4, 8, 16, 32, 64, 128, 256)) -> np.ndarray:
    """Zero-mean detail at every scale, (size, size, C) float32: octaves of bilinear noise with
    amplitude cells**-slope (slope 1 ~ natural images' 1/f spectrum), normalised to std 1."""
    import torch
    import torch.nn.functional as F

    out = torch.zeros(1, channels, size, size)
    for c in cells:
        g = torch.from_numpy(rng.standard_normal((1, channels, c + 1, c + 1)).astype(np.float32))
        out += F.interpolate(g, size=(size, size), mode="bilinear", align_corners=True) * float(c) ** -slope
    out /= out.std()
    return out[0].permute(1, 2, 0).numpy()


def chart_split(v, n, uv, f, block: tuple[int, int], n_lon: int):
    """Cut the lat-long grid into charts of block = (bands, segments) quads, duplicating the
    vertices on chart borders as a UV atlas does (a real bake has ~0.85 vertices per face)."""
    cols = n_lon + 1
    r, c = np.divmod(f.astype(np.int64), cols)  # grid row/col of each corner
    quad_r, quad_c = r.min(1), np.minimum(c.min(1), n_lon - 1)
    chart = (quad_r // block[0]) * 10000 + quad_c // block[1]
    key = chart[:, None] * (10 ** 7) + f.astype(np.int64)  # one vertex per (chart, original vertex)
    uniq, inv = np.unique(key.reshape(-1), return_inverse=True)
    src = uniq % (10 ** 7)
    return v[src], n[src], uv[src], inv.reshape(-1, 3).astype(np.int32)


class DeformVolume:
    """A stand-in for stage 1's deformation field: one trilinear volume of per-target deltas
    sampled at every layer's vertices, so deltas are dense (non-zero at every vertex), smooth,
    and alike across nested layers, as in a real bake (docs/bundle.md, Compactness)."""

    def __init__(self, rng, n_exp: int, res: int = 32, lo: float = -0.8, hi: float = 0.8):
        self.lo, self.hi, self.res = lo, hi, res
        T = n_exp + 36
        # broad, low-frequency part (the morphable-model prior spread by the fitted residual)
        coarse = rng.standard_normal((T * 3, 5, 5, 5))
        self.coarse = coarse.astype(np.float32)
        self.fine = rng.standard_normal((T * 3, res + 1, res + 1, res + 1)).astype(np.float32)

    @staticmethod
    def _trilinear(grid: np.ndarray, p: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        g = torch.from_numpy(grid)[None]  # (1, C, X, Y, Z): grid_sample reads the last coordinate as x
        q = torch.from_numpy(np.ascontiguousarray(p[:, ::-1], dtype=np.float32))[None, :, None, None]
        out = F.grid_sample(g, q, mode="bilinear", align_corners=True)
        return out[0, :, :, 0, 0].numpy().T  # (N, C)

    def sample(self, v: np.ndarray, which: str) -> np.ndarray:
        p = np.clip((v - self.lo) / (self.hi - self.lo) * 2 - 1, -1, 1)
        grid = self.coarse if which == "coarse" else self.fine
        return self._trilinear(grid, p)


def realistic_deltas(vol: DeformVolume, v: np.ndarray, centres, dirs, pose_dirs) -> tuple[np.ndarray, np.ndarray]:
    """Dense expression basis (V, E, 3) and pose correctives (V, 36, 3): the localised
    morphable-model part (expressions up to ~0.02 units, neck/jaw correctives ~0.01) plus a broad
    smooth field and a fine residual on every vertex, as stage 1's fitted deformation field has
    them. Eye correctives (18..35) are residual only: small (std ~3e-4) but non-zero, which
    matches the real bake's int16 export storing ~96% of all vertex rows at morph_epsilon 1e-4."""
    E = centres.shape[0]
    V = v.shape[0]
    coarse = vol.sample(v, "coarse").reshape(V, E + 36, 3)
    fine = vol.sample(v, "fine").reshape(V, E + 36, 3)
    g = np.exp(-np.sum((v[:, None] - centres[None]) ** 2, -1) / 0.03)
    expr = 0.02 * g[..., None] * dirs[None] + 2e-3 * coarse[:, :E] + 4e-4 * fine[:, :E]
    neck = np.clip((-0.3 - v[:, 1]) / 0.2, 0, 1)
    chin = np.exp(-np.sum((v - np.array([0.0, -0.35, 0.3])) ** 2, -1) / 0.02)
    pose = 4e-4 * fine[:, E:].copy()
    pose[:, :9] += 0.01 * neck[:, None, None] * pose_dirs[None, :9] + 1.5e-3 * coarse[:, E : E + 9]
    pose[:, 9:18] += 0.01 * chin[:, None, None] * pose_dirs[None, 9:18] + 1.5e-3 * coarse[:, E + 9 : E + 18]
    return expr.astype(np.float32), pose.astype(np.float32)


def realistic_textures(rng, tex: int, D: int, K: int, opaque: bool) -> tuple[np.ndarray, np.ndarray]:
    """Position features (tex, tex, D) and radiance (K, tex, tex, 4) u8 with the fine detail of
    baked textures: UV charts covering ~75% of the atlas (zero outside), features and colours with
    detail at every scale; the K bases share most of their structure; one alpha field copied into
    every basis. Tuned so the export's lossless/q85 WebP sizes match the real bake's."""
    mask = smooth_field(rng, (tex, tex), 1, cells=10)[..., 0] > 0.3
    pos = 0.5 + 0.15 * fractal_field(rng, tex, D, slope=0.4)
    common = fractal_field(rng, tex, 3, slope=0.15)
    own = fractal_field(rng, tex, 3 * K, slope=0.15).reshape(tex, tex, K, 3)
    tint = rng.uniform(0.3, 0.7, (K, 3))
    rgb = tint[None, None] + 0.15 * common[:, :, None, :] + 0.3 * own
    if opaque:
        alpha = np.ones((tex, tex))
    else:
        alpha = 0.45 + 0.2 * fractal_field(rng, tex, 1, slope=0.5)[..., 0]
    rad = np.concatenate([rgb, np.broadcast_to(alpha[:, :, None, None], (tex, tex, K, 1))], -1).transpose(2, 0, 1, 3)
    pos = np.where(mask[..., None], pos, 0.0)
    rad = np.where(mask[None, ..., None], rad, 0.0)
    u8 = lambda x: np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)  # noqa: E731
    return u8(pos), u8(rad)


def skin_weights(v: np.ndarray) -> np.ndarray:
    """FLAME-like weights (V, 6): ghost at the very bottom, neck low, jaw front-bottom, eyes near the eyes."""
    y, z = v[:, 1], v[:, 2]
    w = np.zeros((v.shape[0], 6))
    w[:, 0] = np.clip((-0.42 - y) / 0.1, 0, 1) ** 2
    w[:, 2] = np.clip((-0.1 - y) / 0.3, 0, 1)
    w[:, 3] = np.clip((-0.05 - y) / 0.25, 0, 1) * np.clip(z / 0.3 + 0.3, 0, 1)
    for j in (4, 5):
        dist = np.linalg.norm(v - JOINTS[j - 1], axis=1)
        w[:, j] = np.clip(1.0 - dist / 0.12, 0, 1) * 2.0
    w[:, 1] = np.clip(1.0 - w[:, 2:].sum(1) - w[:, 0], 0.05, 1)
    return (w / w.sum(1, keepdims=True)).astype(np.float32)


def make_artifact(seed: int = 0, preset: str = "small", normal_blendshapes: bool = False) -> Artifact:
    """The synthetic artifact (validated). With `normal_blendshapes` every layer also carries
    first-order normal deltas (`normal_expr`, `normal_pose`: 30 n x delta: each target turns
    the normal about its own displacement, up to ~0.5 per unit weight), as stage 1's
    `model.normal_blendshapes` bakes them."""
    import torch

    from train.shading import FrameMLP, ShadingSpec

    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    E, tex = p["n_exp"], p["tex"]
    spec = ShadingSpec(n_exp=E)
    centres = rng.normal(0, 0.25, (E, 3)) + np.array([0, -0.1, 0.35])
    dirs = rng.normal(0, 1, (E, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    layers = []
    real = p.get("realistic", False)
    if real:
        vol = DeformVolume(rng, E)
        pose_dirs = rng.normal(0, 1, (36, 3))
    for i in range(p["n_layers"]):
        s = 1.0 + 0.04 * i
        v, n, uv, f = ellipsoid((0.38 * s, 0.5 * s, 0.42 * s), p["n_lat"], p["n_lon"])
        if real:
            v, n, uv, f = chart_split(v, n, uv, f, [(4, 4), (3, 4), (3, 3), (4, 3)][i % 4], p["n_lon"])
            expr, pose = realistic_deltas(vol, v, centres, dirs, pose_dirs)
            pos_tex, rad_u8 = realistic_textures(rng, tex, spec.dim_pos_feature, spec.num_texture_basis, i == 0)
            layers.append(Layer(f"layer{i}", -0.2 + 0.2 * i / max(1, p["n_layers"] - 1), i == 0, {
                "vertices": v, "faces": f, "uvs": uv, "normals": n, "expr_basis": expr,
                "pose_basis": pose, "skin_weights": skin_weights(v), "pos_texture": pos_tex, "radiance": rad_u8,
            }))
            continue
        V = v.shape[0]
        g = np.exp(-np.sum((v[:, None] - centres[None]) ** 2, -1) / 0.03)  # (V,E) localised bases
        expr = (0.02 * g[..., None] * dirs[None]).astype(np.float32)
        # pose correctives as FLAME has them: neck entries (0..8) low on the head, jaw entries
        # (9..17) around the chin, eye entries (18..35) zero (eyeballs rotate rigidly)
        neck = np.clip((-0.3 - v[:, 1]) / 0.2, 0, 1)
        chin = np.exp(-np.sum((v - np.array([0.0, -0.35, 0.3])) ** 2, -1) / 0.02)
        pose = np.zeros((V, 36, 3), np.float32)
        pose[:, :9] = 0.01 * neck[:, None, None] * rng.normal(0, 1, (1, 9, 3))
        pose[:, 9:18] = 0.01 * chin[:, None, None] * rng.normal(0, 1, (1, 9, 3))
        pos_tex = np.rint(smooth_field(rng, (tex, tex), spec.dim_pos_feature) * 255).astype(np.uint8)
        rad = smooth_field(rng, (tex, tex), 4 * spec.num_texture_basis, cells=8).reshape(tex, tex, -1, 4).transpose(2, 0, 1, 3)
        rad = rad.copy()
        # one alpha field copied into every basis, as bake's stage 2 writes it
        rad[..., 3] = 1.0 if i == 0 else 0.15 + 0.5 * rad[:1, ..., 3]
        layers.append(Layer(f"layer{i}", -0.2 + 0.2 * i / max(1, p["n_layers"] - 1), i == 0, {
            "vertices": v, "faces": f, "uvs": uv, "normals": n, "expr_basis": expr,
            "pose_basis": pose, "skin_weights": skin_weights(v),
            "pos_texture": pos_tex, "radiance": np.rint(rad * 255).astype(np.uint8),
        }))
    torch.manual_seed(seed)
    mlp = FrameMLP(spec)
    with torch.no_grad():
        mlp.out.weight.mul_(3.0)  # livelier coefficients than PyTorch's default init
    state = {k: v.detach().numpy().astype(np.float32) for k, v in mlp.state_dict().items()}
    N = p["n_frames"]
    t = np.linspace(0, 2 * np.pi, N)
    expression = (np.sin(t[:, None] * (1 + np.arange(E))[None] * 0.5 + rng.random(E)) * 1.5).astype(np.float32)
    pose = np.zeros((N, 15), np.float32)
    pose[:, 1] = 0.3 * np.sin(t)  # root yaw
    pose[:, 3] = 0.1 * np.sin(2 * t)  # neck pitch
    pose[:, 6] = 0.15 + 0.15 * np.sin(3 * t)  # jaw open
    pose[:, 10] = pose[:, 13] = 0.2 * np.sin(4 * t)  # eyes look left/right
    W = H = 512 if preset == "default" else 128
    K = [[-3.6 * W, 0.0, W / 2], [0.0, 3.6 * H, H / 2], [0.0, 0.0, 1.0]]
    w2c = np.eye(4)
    w2c[2, 3] = -4.5
    jeb = np.zeros((5, 3, E), np.float32)
    jeb[2, 1, :] = rng.normal(0, 0.01, E)  # the jaw joint moves a little with the expression
    jeb[0, :, :] = rng.normal(0, 0.003, (3, E))
    meta = {
        "name": f"testbundle-{preset}",
        "shading": spec.to_json(),
        "joint_names": JOINT_NAMES,
        "parents": PARENTS,
        "ghostbone": True,
        "camera": {"K": K, "w2c": w2c.tolist(), "width": W, "height": H},
        "source": {"generator": "export.testbundle", "seed": seed, "preset": preset},
    }
    if normal_blendshapes:
        for L in layers:
            a = L.arrays
            turn = lambda d: (30.0 * np.cross(a["normals"][:, None], d)).astype(np.float32)  # noqa: E731
            a["normal_expr"], a["normal_pose"] = turn(a["expr_basis"]), turn(a["pose_basis"])
    art = Artifact(meta, layers, JOINTS.copy(), jeb, state, {"talk": {"expression": expression, "pose": pose}})
    validate(art, "testbundle")
    return art


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m export.testbundle", description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", required=True, help="the .glb to write")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="small", help="sizes (default small)")
    ap.add_argument("--artifact-out", help="also save the artifact folder here")
    ap.add_argument("--normal-blendshapes", action="store_true",
                    help="layers also carry normal blendshapes (morph targets with NORMAL deltas)")
    ap.add_argument("--texture-format", choices=["png", "webp"], default=None, help="override export.texture_format")
    args = ap.parse_args(argv)
    from export.config import ExportConfig
    from export.writer import export_glb

    art = make_artifact(args.seed, args.preset, args.normal_blendshapes)
    if args.artifact_out:
        from export.artifact import save_artifact

        save_artifact(art, args.artifact_out)
    cfg = ExportConfig()
    if args.texture_format:
        cfg.texture_format = args.texture_format
    report = export_glb(art, args.output, cfg)
    print(f"wrote {args.output}")
    print("\n".join(report.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
