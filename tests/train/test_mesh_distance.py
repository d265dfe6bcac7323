"""Signed distance to a triangle mesh (the manifold's `mesh` init)."""

from __future__ import annotations

import math

import pytest
import torch

from train.fields.mesh_distance import closest_point_on_triangle, mesh_signed_distance, vertex_faces


def test_closest_point_matches_dense_sampling_of_the_triangle():
    g = torch.Generator().manual_seed(0)
    n = 400
    a, b, c = (torch.randn(n, 3, generator=g) for _ in range(3))
    p = 1.5 * torch.randn(n, 3, generator=g)  # points in every Voronoi region (vertices, edges, face)
    q, bary = closest_point_on_triangle(p, a, b, c)
    assert torch.all(bary >= -1e-5) and torch.allclose(bary.sum(-1), torch.ones(n), atol=1e-5)
    torch.testing.assert_close(q, bary[:, :1] * a + bary[:, 1:2] * b + bary[:, 2:] * c)
    m = 120  # barycentric lattice on each triangle
    i, j = torch.meshgrid(torch.arange(m + 1), torch.arange(m + 1), indexing="ij")
    keep = (i + j) <= m
    u, v = i[keep].float() / m, j[keep].float() / m
    pts = a[:, None] + u[None, :, None] * (b - a)[:, None] + v[None, :, None] * (c - a)[:, None]
    brute = (pts - p[:, None]).norm(dim=-1).min(dim=1).values
    got = (q - p).norm(dim=-1)
    assert torch.all(got <= brute + 1e-5)  # never farther than any sampled point
    assert (brute - got).max() < 0.02  # and as close as the lattice resolves


def _icosphere(subdiv: int = 3):
    t = (1 + 5 ** 0.5) / 2
    v = torch.tensor([[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t],
                      [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]], dtype=torch.float64)
    f = [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2], [10, 7, 6],
         [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10],
         [8, 6, 7], [9, 8, 1]]
    verts = [row for row in (v / v.norm(dim=1, keepdim=True)).tolist()]
    for _ in range(subdiv):
        cache, nf = {}, []

        def mid(i, j):
            key = (min(i, j), max(i, j))
            if key not in cache:
                m = torch.tensor(verts[i]) + torch.tensor(verts[j])
                verts.append((m / m.norm()).tolist())
                cache[key] = len(verts) - 1
            return cache[key]

        for a, b, c in f:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            nf += [[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]
        f = nf
    return torch.tensor(verts, dtype=torch.float32), torch.tensor(f)


def test_signed_distance_of_a_sphere_mesh():
    verts, faces = _icosphere(3)
    normals = verts / verts.norm(dim=1, keepdim=True)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2000, 3, generator=g)
    x = x / x.norm(dim=1, keepdim=True) * (0.8 + 0.4 * torch.rand(2000, 1, generator=g))  # shell 0.8 .. 1.2
    d = mesh_signed_distance(x, verts, faces, normals)
    exact = x.norm(dim=1) - 1.0
    clear = exact.abs() > 0.01  # beyond the facets' sag the sign is the sphere's
    assert clear.sum() > 1500 and torch.equal((d > 0)[clear], (exact > 0)[clear])
    # the mesh lies inside the unit sphere by at most its chord sag (642 vertices: ~0.005)
    assert (d - exact).abs().max() < 0.012
    on = mesh_signed_distance(verts[::7], verts, faces, normals)
    assert on.abs().max() < 1e-5


def test_vertex_faces_lists_every_incident_face():
    verts, faces = _icosphere(1)
    table = vertex_faces(faces, verts.shape[0])
    for vi in range(verts.shape[0]):
        got = sorted(int(f) for f in table[vi] if f >= 0)
        assert got == sorted(int(fi) for fi in torch.nonzero((faces == vi).any(1)).squeeze(1))


def test_mesh_init_gives_the_layers_the_models_normals():
    """The nearest-vertex init shingles the opaque level (normals ~12 deg off the model's on the
    synthetic head); the mesh distance init follows the model's surface."""
    from train.config import load_config
    from train.model import AvatarModel, build_flame
    from train.normal_error import normal_error

    med = {}
    for mode in ("vertices", "mesh"):
        cfg = load_config("configs/tiny.yaml", [f"model.sdf_init={mode}", "model.manifold_base_res=64"])
        torch.manual_seed(0)
        m = AvatarModel(cfg, build_flame(cfg, "cpu"), torch.zeros(cfg.data.n_exp))
        med[mode] = normal_error(m)["regions"]["skin"]["median"]
    assert med["mesh"] < 0.5 * med["vertices"], med
    assert not math.isnan(med["mesh"])


def test_sdf_init_is_validated():
    from train.config import load_config
    from train.configlib import ConfigError

    with pytest.raises((ConfigError, ValueError), match="sdf_init"):
        load_config("configs/tiny.yaml", ["model.sdf_init=spheres"])
