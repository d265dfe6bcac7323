"""`model.manifold_pin`: the pinned field (train.fields.pin), its blend into the manifold, and where
and how deep the sweep puts the layers (train.depth_sweep.layer_pin)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from train.depth_sweep import SweepResult, extend_layers, layer_pin
from train.fields import ManifoldField
from train.fields.pin import layer_levels, offset_to_s, pin_volume

LEVELS = torch.linspace(-0.1, 0.0, 8)


def test_layers_sit_on_the_outermost_level_and_every_second_inwards():
    assert layer_levels(8, 4) == [1, 3, 5, 7]
    assert layer_levels(8, 2) == [5, 7]
    assert layer_levels(8, 7) == [1, 2, 3, 4, 5, 6, 7]
    assert layer_levels(5, 4) == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="at least 5 levels"):
        layer_levels(4, 4)


def test_offset_to_s_puts_each_layer_on_its_level_and_is_monotone():
    offsets = torch.tensor([0.0225, 0.045, 0.0675, 0.09])
    s = offset_to_s(torch.cat([torch.zeros(1), offsets]), offsets, LEVELS)
    torch.testing.assert_close(s, LEVELS[[0, 1, 3, 5, 7]])
    mid = offset_to_s(torch.tensor([(0.0225 + 0.045) / 2]), offsets, LEVELS)  # the level between two layers: midway
    torch.testing.assert_close(mid, LEVELS[2:3])
    d = torch.linspace(-0.3, 0.4, 2001)
    v = offset_to_s(d, offsets, LEVELS)
    assert (v[1:] > v[:-1]).all()
    # slope 1 beyond both ends
    assert float(offset_to_s(torch.tensor([-0.05]), offsets, LEVELS)) == pytest.approx(-0.15, abs=1e-6)
    assert float(offset_to_s(torch.tensor([0.2]), offsets, LEVELS)) == pytest.approx(0.11, abs=1e-6)


def test_pinned_manifold_blends_by_the_weight_and_round_trips():
    lo, hi = -torch.ones(3), torch.ones(3)
    base = torch.zeros(8, 8, 8)
    pin = torch.zeros(2, 8, 8, 8)
    pin[0] = 0.5
    pin[1, :, :, 4:] = 1.0  # weight 1 where the lattice's last axis (x) is in the upper half
    f = ManifoldField(lo, hi, base, [4], 2, 8, pin)
    x = torch.tensor([[0.9, 0.0, 0.0], [-0.9, 0.0, 0.0]])
    with torch.no_grad():
        s = f(x)
    assert float(s[0]) == pytest.approx(0.5)  # pinned
    assert float(s[1]) == pytest.approx(0.0)  # learnt (the base; the residual starts at zero)
    g = ManifoldField(lo, hi, base, [4], 2, 8, torch.zeros(2, 8, 8, 8))
    g.load_state_dict(f.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(g(x), s)
    assert "pin" not in ManifoldField(lo, hi, base, [4], 2, 8).state_dict()


def test_pin_volume_follows_the_distance_to_the_mesh_and_the_anchors_weight():
    # a unit-ish octahedron: the pinned s at points straight above a face's centre
    v = torch.tensor([[1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0], [0, 0, 1.0], [0, 0, -1.0]]) * 0.5
    f = torch.tensor([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])
    offsets = torch.tensor([0.05, 0.1])
    anchors = torch.tensor([[0.3, 0.3, 0.3], [-0.3, -0.3, -0.3]])
    vol = pin_volume(v, f, -torch.ones(3), torch.ones(3), 81, offsets, LEVELS, anchors, torch.tensor([1.0, 0.0]))
    assert vol.shape == (2, 81, 81, 81)
    from train.fields import sample_volume, to_grid_coords

    n = torch.ones(3) / math.sqrt(3.0)
    c = torch.full((3,), 0.5 / 3)  # centre of face (0, 2, 4)
    pts = torch.stack([c + t * n for t in (0.0, 0.05, 0.1)])
    got = sample_volume(vol[None], to_grid_coords(pts[None], -torch.ones(3), torch.ones(3)))[0]
    torch.testing.assert_close(got[:, 0], LEVELS[[0, 5, 7]], atol=6e-3, rtol=0)  # trilinear rounds the kink at 0.05 by ~1/4 voxel
    torch.testing.assert_close(got[:, 1], torch.ones(3))  # the (+, +, +) anchor's weight
    far = sample_volume(vol[None], to_grid_coords(-pts[None], -torch.ones(3), torch.ones(3)))[0]
    torch.testing.assert_close(far[:, 1], torch.zeros(3))


def test_extend_layers_continues_outward_at_the_mean_spacing():
    torch.testing.assert_close(extend_layers(torch.tensor([0.02, 0.04]), 4, 0.12), torch.tensor([0.02, 0.04, 0.06, 0.08]))
    four = torch.tensor([0.0225, 0.045, 0.0675, 0.09])
    torch.testing.assert_close(extend_layers(four, 4, 0.12), four)
    torch.testing.assert_close(extend_layers(torch.tensor([0.05]), 4, 0.12), torch.tensor([0.05, 0.1]))  # 0.15 > far
    assert extend_layers(torch.empty(0), 4, 0.12).numel() == 0


def _fake_sweep(n: int = 3000):
    """Points on a unit sphere; the upper cap (z > 0.3) has a layered 'hair' profile (cost rises just
    after offsets 0.03 and 0.06) and is seen on the masks' translucent fringe; the rest is plain."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=g)
    x = x / x.norm(dim=1, keepdim=True)
    offsets = torch.arange(0.0, 0.1 + 1e-6, 0.005)
    D = offsets.shape[0]
    hair = x[:, 2] > 0.3
    saw = torch.ones(D)
    for o in (0.03, 0.06):
        saw[offsets > o + 1e-6] += 0.5
    cost = torch.where(hair[:, None], saw[None].expand(n, D), torch.ones(n, D))
    cost = cost * (1 + 0.05 * torch.rand(n, D, generator=g))
    fringe = torch.where(hair[:, None], torch.full((n, D), 0.3), torch.zeros(n, D))
    res = SweepResult(offsets, cost, torch.full((n, D), 20.0), torch.ones(n, D), fringe)
    return x, offsets, res, hair


def test_layer_pin_finds_the_region_and_the_depths(monkeypatch):
    import train.depth_sweep as ds

    x, offsets, res, hair = _fake_sweep()
    monkeypatch.setattr(ds, "_surface_sweep", lambda model, frames, tc, progress=None: (x, x, offsets, res))
    tc = SimpleNamespace(layer_depth_offsets=(0.015, 0.1), layer_depth_radius=0.1, layer_pin_fringe=0.02, layer_pin_min_rise=0.01)
    model = SimpleNamespace(levels=LEVELS)
    got = layer_pin(model, None, tc)
    torch.testing.assert_close(got.offsets, torch.tensor([0.03, 0.06, 0.09]))  # two found, continued to 8 // 2 = 4 (0.12 > far)
    inner = x[:, 2] > 0.5
    assert (got.weight[inner] == 1).all()
    assert (got.weight[x[:, 2] < 0.1] == 0).all()
    # no translucent fringe anywhere: nothing is pinned
    res.fringe.zero_()
    none = layer_pin(model, None, tc)
    assert none.offsets.numel() == 0 and (none.weight == 0).all()
