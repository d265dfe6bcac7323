"""train.depth_sweep: the plane sweep's pieces (the whole sweep runs in tests/test_diagnosis_scripts.py)."""

from __future__ import annotations

import math

import pytest
import torch

from train.depth_sweep import SweepResult, camera_depth, layer_offsets, model_depth, pooled_profiles, surface_samples

K = torch.tensor([[-204.8, 0.0, 32.0], [0.0, 204.8, 32.0], [0.0, 0.0, 1.0]])  # configs/tiny.yaml's camera
W2C = torch.tensor([[1.0, 0.0, 0.0, 0.02], [0.0, 1.0, 0.0, -0.06], [0.0, 0.0, 1.0, -4.0], [0.0, 0.0, 0.0, 1.0]])


def test_model_depth_is_the_camera_distance_where_the_mesh_covers():
    s = 0.2
    verts = torch.tensor([[-s, -s, 0.5], [s, -s, 0.5], [s, s, 0.5], [-s, s, 0.5]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3], [0, 2, 1], [0, 3, 2]])  # both windings
    assert torch.allclose(camera_depth(verts, W2C), torch.full((4,), 3.5))
    d = model_depth(verts, faces, K, W2C, (64, 64))
    assert d.shape == (64, 64)
    assert d[32, 32] == pytest.approx(3.5, abs=1e-4)
    assert d[0, 0] == 0 and d[63, 63] == 0  # the quad (~0.4 of the image at that depth) leaves the corners
    covered = (d > 0).float().mean()
    want = (2 * s * 204.8 / 3.5) ** 2 / 64**2
    assert float(covered) == pytest.approx(want, rel=0.1)


def test_surface_samples_lie_on_the_faces_with_outward_normals():
    # a tetrahedron around the origin, faces wound outward
    v = torch.tensor([[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])
    f = torch.tensor([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]])
    p, n, tri = surface_samples(v, f, 500, torch.Generator().manual_seed(0))
    assert p.shape == (500, 3) and n.shape == (500, 3) and tri.shape == (500,)
    torch.testing.assert_close(n.norm(dim=1), torch.ones(500))
    assert ((p * n).sum(1) > 0).all()  # outward: the centre is inside
    a = v[f[tri, 0]]
    assert ((p - a) * n).sum(1).abs().max() < 1e-5  # on the face's plane
    assert len(set(tri.tolist())) == 4  # equal areas: every face drawn


def test_pooled_profiles_average_neighbours_and_drop_points_seen_too_rarely():
    x = torch.tensor([[0.0, 0.0, 0.0], [0.005, 0.0, 0.0], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    cost = torch.tensor([[1.0, 3.0], [2.0, 2.0], [4.0, 0.0], [1.0, 1.0]])
    views = torch.tensor([[9.0, 9.0], [9.0, 9.0], [9.0, 9.0], [9.0, 3.0]])
    prof, keep = pooled_profiles(x, SweepResult(torch.tensor([0.0, 0.01]), cost, views), radius=0.01, min_views=8)
    assert keep.tolist() == [0, 1, 2]
    torch.testing.assert_close(prof[0], torch.tensor([0.75, 1.25]))  # mean of [0.5, 1.5] and [1, 1]
    torch.testing.assert_close(prof[1], prof[0])
    torch.testing.assert_close(prof[2], torch.tensor([2.0, 0.0]))  # alone


def test_layer_offsets_are_the_largest_rises_in_order():
    offsets = torch.linspace(0.0, 0.09, 10)  # 0.01 apart
    # rises after offsets 0.02 (+1.0), 0.05 (+0.5) and 0.07 (+0.04, under min_rise); flat elsewhere
    p = torch.tensor([[1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.5, 2.5, 2.54, 2.54]])
    got = layer_offsets(p, offsets, k=3, min_rise=0.05)
    assert got.shape == (1, 3)
    torch.testing.assert_close(got[0, :2], torch.tensor([0.02, 0.05]))
    assert math.isnan(float(got[0, 2]))
    # two equal rises in a row count once (at the second), falls never count
    p2 = torch.tensor([[0.0, 1.0, 2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    got2 = layer_offsets(p2, offsets, k=2, min_rise=0.05)
    torch.testing.assert_close(got2[0, :1], torch.tensor([0.01]))
    assert math.isnan(float(got2[0, 1]))


def test_sweep_on_the_tiny_subject_sees_the_front_and_finds_the_surface_consistent():
    """The whole sweep on the tiny synthetic subject's files: points on the back of the head are hidden
    (the posed model covers them), points facing the camera are seen; on the face the colours agree
    best on the surface itself (offset 0) and worse off it."""
    import dataclasses
    import os
    import subprocess
    import sys
    from pathlib import Path

    from train.config import load_config
    from train.data import ImavatarDataset
    from train.depth_sweep import sweep
    from train.warp_error import prior_model

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    r = subprocess.run([sys.executable, "-m", "train.synth", "-c", "configs/tiny.yaml"], cwd=root, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    cfg = load_config(root / "configs" / "tiny.yaml", [f"data.root={root / 'data' / 'synthetic_tiny'}"])
    ds = ImavatarDataset.from_config(dataclasses.replace(cfg.data, train_subsample=[0, 10, 20, 30, 40]), "train", progress=False)
    model = prior_model(cfg, "cpu")
    x_c, n_c, tri = surface_samples(model.canonical_vertices, model.flame.faces, 600, torch.Generator().manual_seed(0))
    offsets = torch.tensor([0.0, 0.05])
    res = sweep(model, [ds[i] for i in range(len(ds))], x_c, n_c, offsets)
    cam_dir = -W2C[2, :3]  # camera -> scene is -z in world; the camera sits at +z
    facing = (n_c @ -cam_dir) > 0.5
    back = (n_c @ -cam_dir) < -0.5
    assert facing.sum() > 50 and back.sum() > 50
    assert float((res.views[back, 0] > 0).float().mean()) < 0.1  # hidden by the head (but near its silhouette)
    assert float((res.views[facing, 0] >= 4).float().mean()) > 0.8
    names = list(model.flame.region_names)
    face = facing & torch.isin(model.flame.vertex_regions[model.flame.faces[tri, 0].long()],
                               torch.tensor([names.index("skin"), names.index("nose")]))
    seen = face & (res.views >= 4).all(1)
    assert seen.sum() > 20
    assert float(res.cost[seen, 0].median()) < 0.5 * float(res.cost[seen, 1].median())
    # the visual hull: the face's own surface is inside every mask that holds it
    assert res.hull is not None and float(res.hull[seen, 0].min()) >= 0.99
    no_mask = sweep(model, [{k: v for k, v in ds[i].items() if k != "mask"} for i in range(2)], x_c[:10], n_c[:10], offsets)
    assert no_mask.hull is None


def test_layer_depth_pull_draws_the_nearest_translucent_level_onto_the_points():
    from pathlib import Path

    from train.config import load_config
    from train.model import AvatarModel, build_flame

    cfg = load_config(Path(__file__).resolve().parents[2] / "configs" / "tiny.yaml")
    flame = build_flame(cfg, "cpu")
    model = AvatarModel(cfg, flame, torch.zeros(cfg.data.n_exp))
    g = torch.Generator().manual_seed(0)
    x, n, _ = surface_samples(model.canonical_vertices, flame.faces, 256, g)
    pts = x + 0.03 * n  # a layer 0.03 off the surface
    levels = model.levels[1:]
    spacing = float((model.levels[-1] - model.levels[0]) / (model.levels.shape[0] - 1))
    with torch.no_grad():
        s = model.manifold_field(pts)
        want = ((s[:, None] - levels[None]) / spacing).pow(2).amin(1).mean()
    before = model.layer_depth_pull(pts)
    torch.testing.assert_close(before, want)
    opt = torch.optim.Adam(model.manifold_field.parameters(), lr=1e-3)
    for _ in range(30):
        loss = model.layer_depth_pull(pts)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(model.layer_depth_pull(pts).detach()) < 0.5 * float(before.detach())
    empty = model.layer_depth_pull(pts[:0])
    assert float(empty.detach()) == 0.0 and empty.requires_grad


def test_fringe_image_drops_an_anti_aliased_edge_and_keeps_a_wide_translucent_band():
    from train.depth_sweep import fringe_image

    m = torch.zeros(40, 40)
    m[:, :10] = 1.0  # opaque
    m[:, 10] = 0.5  # its 1 px anti-aliased edge
    m[:, 20:32] = 0.4  # a 12 px translucent band (hair seen edge-on)
    f = fringe_image(m, 2)
    assert not f[:, :20].any()
    assert f[5:35, 22:30].all() and not f[:, 32:].any()
    assert fringe_image(m, 0)[:, 10].all()  # without erosion the edge counts
