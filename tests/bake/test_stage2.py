"""Stage 2 on the analytic source: meshes, UVs, textures, attributes, artifact, atomic writes."""

import numpy as np
import pytest
import torch

from bake import lbs, meshing
from bake.baked_render import render_artifact
from bake.config import BakeConfig
from bake.layers import bake_layers
from bake.levelset import LevelGrid, evaluate_coarse_to_fine, marching_cubes, smooth
from bake.source import AnalyticSource
from bake.stage2 import build_artifact
from bake.texture import bake_textures, dilate
from export.artifact import ArtifactError, load_artifact, save_artifact, validate
from train.raster import texture as sample_texture
from train.shading import frame_condition, shade

CFG = BakeConfig(mc_resolution=64, mc_coarse_resolution=16, faces_per_layer=900, texture_size=64, supersample=2,
                 uv_padding=3, dilation=6)
SIZE = 64
CAMERA = {"K": [[-3.0 * SIZE, 0.0, SIZE / 2], [0.0, 3.0 * SIZE, SIZE / 2], [0.0, 0.0, 1.0]],
          "w2c": [[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, -4.0], [0, 0, 0, 1.0]], "width": SIZE, "height": SIZE}


@pytest.fixture(scope="module")
def baked():
    torch.manual_seed(0)
    src = AnalyticSource(n_levels=3, n_exp=4)
    layers, reports, grid = bake_layers(src, CFG, progress=False)
    seq = {"train": {"expression": np.zeros((2, 4), np.float32), "pose": np.zeros((2, 15), np.float32)}}
    art = build_artifact(src, layers, seq, CAMERA, {"kind": "test"})
    return src, art, reports, grid


def _weld(v, f):
    """Merge split (seam) vertices with identical positions -> faces over unique positions."""
    _, inv = np.unique(np.round(v, 6), axis=0, return_inverse=True)
    return inv.reshape(-1)[f]


def test_coarse_to_fine_matches_dense_grid_with_fewer_queries():
    src = AnalyticSource(n_levels=3)
    lo, hi = src.bbox()
    g = evaluate_coarse_to_fine(src.manifold, lo, hi, src.levels, 32, 8, chunk=4096)
    ax = np.linspace(0, 1, 33)
    pts = np.stack(np.meshgrid(ax, ax, ax, indexing="ij"), -1).reshape(-1, 3) * (g.hi - g.lo) + g.lo
    dense = src.manifold(torch.tensor(pts, dtype=torch.float32)).numpy().reshape(33, 33, 33)
    assert g.n_evaluated < dense.size
    for lv in src.levels.tolist():
        v1, f1 = marching_cubes(g, lv)
        v2, f2 = marching_cubes(type(g)(dense, g.lo, g.hi, 0), lv)
        assert f1.shape == f2.shape and f1.shape[0] > 100
        np.testing.assert_allclose(np.sort(v1, 0), np.sort(v2, 0), atol=1e-5)


def test_smoothing_removes_noise_handles():
    """A sphere SDF with voxel-scale noise: its level set has bubbles and handles (Euler
    characteristic far from 2) and many faces; after `smooth` (bake.mc_smoothing) it is one
    sphere again (one component, Euler characteristic 2), still at the right radius."""
    R = 48
    ax = np.linspace(-1.0, 1.0, R + 1)
    x = np.stack(np.meshgrid(ax, ax, ax, indexing="ij"), -1)
    noise = np.random.default_rng(0).normal(0.0, 0.05, x.shape[:3])
    grid = LevelGrid((np.linalg.norm(x, axis=-1) - 0.6 + noise).astype(np.float32), np.full(3, -1.0), np.ones(3), 0)

    def euler(g):
        v, f = marching_cubes(g, 0.0)
        e = np.unique(np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), 1), axis=0)
        return len(np.unique(f)) - len(e) + len(f), v, f

    chi0, _, f0 = euler(grid)
    chi1, v1, f1 = euler(smooth(grid, 1.5))
    assert abs(chi0 - 2) > 20 and chi1 == 2, (chi0, chi1)
    assert meshing.components(f1, len(v1)).max() == 0
    assert len(f1) < 0.7 * len(f0)
    np.testing.assert_allclose(np.linalg.norm(v1, axis=1).mean(), 0.6, atol=0.02)
    assert smooth(grid, 0.0) is grid


def test_layers_closed_within_budget_and_outward(baked):
    src, art, reports, _ = baked
    assert [r.level for r in reports] == pytest.approx(src.levels.tolist())
    for layer, rep in zip(art.layers, reports):
        f = layer.arrays["faces"]
        assert len(f) <= CFG.faces_per_layer * 1.02
        # the analytic level sets are closed: once seams are welded there is no boundary
        assert len(meshing.boundary_edges(_weld(layer.arrays["vertices"], f))) == 0
        assert rep.boundary_length == 0.0
        # right-hand face normals agree with the stored outward vertex normals
        p = layer.arrays["vertices"][f]
        fn = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
        agree = (fn * layer.arrays["normals"][f].mean(1)).sum(1) > 0
        assert agree.mean() == 1.0
        # the mesh lies on its level set (canonical vertices, float32 marching cubes + decimation)
        s = src.manifold(torch.tensor(rep.canonical_vertices)).numpy()
        assert np.abs(s - rep.level).max() < 0.01


def test_back_of_head_is_coarser(baked):
    _, art, _, _ = baked
    layer = art.layers[-1]
    v, f = layer.arrays["vertices"], layer.arrays["faces"]
    area = meshing.face_areas(v, f)
    back = meshing._back_mask(v, f, np.array([0.0, 0.0, -1.0]), 0.5)
    front = meshing._back_mask(v, f, np.array([0.0, 0.0, 1.0]), 0.5)
    # mean triangle area on the back (away from the camera) is clearly larger than on the front
    assert area[back].mean() > 1.4 * area[front].mean()


def test_uvs_inside_unit_square_without_overlap(baked):
    _, art, _, _ = baked
    n = CFG.texture_size
    centres = (np.arange(n) + 0.5) / n
    for layer in art.layers:
        uv, f = layer.arrays["uvs"], layer.arrays["faces"]
        assert uv.min() >= 0.0 and uv.max() <= 1.0
        count = np.zeros((n, n), np.int32)
        for t in uv[f]:
            x0, x1 = np.searchsorted(centres, [t[:, 0].min(), t[:, 0].max()])
            y0, y1 = np.searchsorted(centres, [t[:, 1].min(), t[:, 1].max()])
            if x1 <= x0 or y1 <= y0:
                continue
            px, py = np.meshgrid(centres[x0:x1], centres[y0:y1])
            e = [(t[(i + 2) % 3, 0] - t[(i + 1) % 3, 0]) * (py - t[(i + 1) % 3, 1]) - (t[(i + 2) % 3, 1] - t[(i + 1) % 3, 1]) * (px - t[(i + 1) % 3, 0]) for i in range(3)]
            inside = ((e[0] > 0) & (e[1] > 0) & (e[2] > 0)) | ((e[0] < 0) & (e[1] < 0) & (e[2] < 0))
            count[y0:y1, x0:x1] += inside
        # a texel centre strictly inside two triangles means overlapping charts
        assert count.max() <= 1
        assert (count > 0).mean() > 0.2  # the atlas is used (64^2 with 3-texel padding packs loosely)


def test_no_unfilled_texel_under_any_triangle_and_seams_do_not_bleed(baked):
    src, art, reports, _ = baked
    layer, rep = art.layers[1], reports[1]
    uv, f = layer.arrays["uvs"], layer.arrays["faces"]
    xc = torch.tensor(rep.canonical_vertices)
    tex = bake_textures(src, xc, torch.tensor(f).long(), torch.tensor(uv), CFG.texture_size, 2, dilation=CFG.dilation, backend="torch")
    n = CFG.texture_size
    # conservative footprint: every texel whose bilinear taps can be reached from a point of a
    # triangle (texel centres within one texel of the triangle's bbox rows/cols)
    rng = np.random.default_rng(0)
    b = rng.dirichlet(np.ones(3), size=(len(f), 24))  # 24 random points per triangle
    pts_uv = np.einsum("fsk,fkc->fsc", b, uv[f]).reshape(-1, 2)
    x = np.clip(pts_uv[:, 0] * n - 0.5, 0, n - 1)
    y = np.clip(pts_uv[:, 1] * n - 0.5, 0, n - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, n - 1), np.minimum(y0 + 1, n - 1)
    for yy, xx in ((y0, x0), (y0, x1), (y1, x0), (y1, x1)):
        assert tex.filled[yy, xx].all(), "a bilinear tap of a surface point reads an unfilled texel"
    # sampled texture vs the field at the same 3-D points: dilation keeps chart borders close
    pts3 = torch.tensor(np.einsum("fsk,fkc->fsc", b, rep.canonical_vertices[f]).reshape(-1, 3), dtype=torch.float32)
    want = src.radiance(pts3)[1][:, 0]  # basis 0 RGB
    got = sample_texture(torch.tensor(tex.radiance[0][None, ..., :3]), torch.tensor(pts_uv, dtype=torch.float32).reshape(1, -1, 1, 2), boundary_mode="clamp")[0, :, 0]
    err = (got - want).abs().max(-1).values.numpy()
    assert np.quantile(err, 0.5) < 0.03 and np.quantile(err, 0.99) < 0.15, (np.quantile(err, 0.5), np.quantile(err, 0.99))


def test_dilation_fills_rings_from_neighbours():
    tex = torch.zeros(8, 8, 1)
    mask = torch.zeros(8, 8, dtype=torch.bool)
    tex[3:5, 3:5] = 0.5
    mask[3:5, 3:5] = True
    out, filled = dilate(tex, mask, 1)
    assert filled[2:6, 2:6].all() and not filled[0, 0]
    assert torch.allclose(out[2:6, 2:6], torch.full((4, 4, 1), 0.5))
    assert torch.allclose(out[0, 0], torch.tensor([0.5]))  # far texels get the filled mean


def test_attributes_finite_weights_normalised_and_original_space(baked):
    src, art, reports, _ = baked
    validate(art)
    A, pf = src.canonical_state()
    for layer, rep in zip(art.layers, reports):
        a = {k: torch.tensor(v) for k, v in layer.arrays.items() if v.dtype == np.float32}
        for k, v in a.items():
            assert torch.isfinite(v).all(), k
        assert torch.allclose(a["skin_weights"].sum(-1), torch.ones(len(a["skin_weights"])), atol=1e-5)
        # playing the original-space mesh at the canonical frame returns the canonical mesh
        xd, nd = lbs.deform_layer(a["vertices"], a["normals"], a["expr_basis"], a["pose_basis"], a["skin_weights"], A, pf, src.canonical_expression[None])
        assert (xd[0] - torch.tensor(rep.canonical_vertices)).abs().max() < 1e-4
        n_can = src.manifold_normal(torch.tensor(rep.canonical_vertices))
        assert (nd[0] * n_can).sum(-1).min() > 0.999
    layer0 = art.layers[0]
    assert (layer0.arrays["radiance"][..., 3] == 255).all()


def _analytic_render(src, size):
    """Direct field evaluation at the canonical frame: ray/ellipsoid intersections per level."""
    K, w2c = np.array(CAMERA["K"]), np.array(CAMERA["w2c"])
    c = -w2c[:3, :3].T @ w2c[:3, 3]
    rows, cols = np.mgrid[0:size, 0:size] + 0.5
    d = np.stack([-(cols - K[0, 2]) / K[0, 0], -(rows - K[1, 2]) / K[1, 1], -np.ones_like(rows)], -1).reshape(-1, 3)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    r, ctr = src.radii.numpy().astype(np.float64), src.centre.numpy().astype(np.float64)
    spec = src.shading_spec
    with torch.no_grad():
        theta = src.frame_mlp(frame_condition(src.canonical_expression[None], src.canonical_pose[None], spec.n_exp))
    colour, cov = np.ones((size * size, 3)), np.zeros(size * size, bool)
    for i, lv in enumerate(src.levels.tolist()):
        k = 1.0 + lv / r.min()  # |(x - ctr) / r| = k
        o, dd = (c - ctr) / r, d / r
        A = (dd * dd).sum(1)
        B = 2 * (o * dd).sum(1)
        C = (o * o).sum() - k * k
        disc = B * B - 4 * A * C
        hit = disc > 0
        t = (-B - np.sqrt(np.where(hit, disc, 0))) / (2 * A)
        p = c + t[:, None] * d
        x = torch.tensor(p[hit], dtype=torch.float32)
        with torch.no_grad():
            f_pos, bases, alpha = src.radiance(x)
            n = src.manifold_normal(x)
            basis4 = torch.cat([bases, alpha[:, None, None].expand(-1, bases.shape[1], 1)], -1)
            v = torch.nn.functional.normalize(x - torch.tensor(c, dtype=torch.float32), dim=-1)
            rgba = shade(f_pos[None], n[None], v[None], basis4[None], theta, spec)[0].numpy()
        a = np.ones(len(rgba)) if i == 0 else rgba[:, 3]
        colour[hit] = a[:, None] * rgba[:, :3] + (1 - a[:, None]) * colour[hit]
        cov |= hit
    return colour.reshape(size, size, 3), cov.reshape(size, size)


def test_baked_render_matches_direct_field_evaluation(baked):
    src, art, _, _ = baked
    img = render_artifact(art, src.canonical_expression.numpy(), src.canonical_pose.numpy(), CAMERA["K"], CAMERA["w2c"], SIZE, SIZE, backend="torch")[0].numpy()
    want, cov = _analytic_render(src, SIZE)
    got_cov = img[..., 3] > 0
    iou = (got_cov & cov).sum() / (got_cov | cov).sum()
    assert iou > 0.99  # measured 0.998
    mse = ((img[..., :3] - want) ** 2).mean()
    psnr = -10 * np.log10(mse)
    # measured 35.3 dB at 64 px / 64^2 textures / 900 faces (mesh + texel discretisation)
    assert psnr > 32.0, psnr


def test_artifact_round_trip_and_atomic_write_survives_interruption(baked, tmp_path, monkeypatch):
    _, art, _, _ = baked
    out = save_artifact(art, tmp_path / "baked", extras={"previews/x.png": b"png", "config.yaml": b"a: 1\n"})
    back = load_artifact(out)
    assert (out / "previews" / "x.png").read_bytes() == b"png"
    for a, b in zip(art.layers, back.layers):
        for k in a.arrays:
            np.testing.assert_array_equal(a.arrays[k], b.arrays[k])
    # a second bake interrupted while writing tensors leaves the first artifact intact
    import export.artifact as ea

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ea, "save_file", boom)
    art.layers[0].arrays["pos_texture"] = art.layers[0].arrays["pos_texture"] // 2
    with pytest.raises(KeyboardInterrupt):
        save_artifact(art, out)
    again = load_artifact(out)
    np.testing.assert_array_equal(again.layers[0].arrays["pos_texture"], back.layers[0].arrays["pos_texture"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baked"]  # no temp folder left behind
    art.layers[0].arrays["pos_texture"] = back.layers[0].arrays["pos_texture"]


def test_corrupt_artifact_is_reported(baked, tmp_path):
    _, art, _, _ = baked
    out = save_artifact(art, tmp_path / "a")
    data = (out / "avatar.safetensors").read_bytes()
    (out / "avatar.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="avatar.safetensors"):
        load_artifact(out)


def test_parallel_level_meshing_matches_serial():
    from dataclasses import replace

    from bake.layers import level_grid, level_meshes

    src = AnalyticSource(n_levels=2)
    cfg = replace(CFG, mc_resolution=32, faces_per_layer=300, texture_size=32, uv_padding=2)
    grid = level_grid(src, cfg, "cpu", progress=False)
    serial = level_meshes(grid, src.levels.tolist(), replace(cfg, workers=1), progress=False)
    pooled = level_meshes(grid, src.levels.tolist(), replace(cfg, workers=2), progress=False)
    for a, b in zip(serial, pooled):
        np.testing.assert_array_equal(a.f, b.f)
        np.testing.assert_allclose(a.v, b.v)
        np.testing.assert_array_equal(a.uvm.uvs, b.uvm.uvs)
