"""Reachability pruning (`bake.reach`): a sheet in a fold shadow is dropped, real geometry kept."""

import numpy as np
import pytest
import torch

from bake import meshing
from bake.config import BakeConfig
from bake.layers import bake_layers, level_mesh
from bake.levelset import LevelGrid
from bake.reach import drop_unreached, reach_fraction, reach_lattice
from bake.source import AnalyticSource

CFG = BakeConfig(mc_resolution=64, mc_coarse_resolution=16, faces_per_layer=3000, texture_size=64, uv_padding=2)
R_HEAD = 0.4  # the "morphable model": a sphere


def _box(x: np.ndarray, c, half) -> np.ndarray:
    q = np.abs(x - np.asarray(c)) - np.asarray(half)
    return np.linalg.norm(np.maximum(q, 0), axis=-1) + np.minimum(q.max(-1), 0)


def _field(x: np.ndarray) -> np.ndarray:
    """Head sphere joined by two thin sheets sticking 0.45 out in +z (spurious) and -z (real, reached).
    The sheets' field is steep (|grad s| = 10, like a learnt crumpled one), so coarse lattice
    corners around a sheet can be far from every level."""
    head = np.linalg.norm(x, axis=-1) - R_HEAD
    front = 10.0 * _box(x, (0, -0.1875, 0.6), (0.25, 0.02, 0.25))
    back = 10.0 * _box(x, (0, -0.1875, -0.6), (0.25, 0.02, 0.25))
    return np.minimum(head, np.minimum(front, back))


class ToyReach:
    """Frames translate the head; the inverse starts from the head and folds z > 0.5 back onto the
    fold surface z = 0.5 (a shadowed region, like the canonical space in front of the chin), and
    also fails on a cap of the head surface (x > 0.3: like an eyelid fold, right on the model)."""

    def __init__(self, n_frames: int = 8):
        self.shift = torch.linspace(-0.1, 0.1, n_frames)[:, None] * torch.tensor([1.0, 0.5, 0.0])

    def reach_fraction(self, x_c):
        def fwd(x):
            x_d = x[None] + self.shift[:, None]
            return x_d, torch.ones(x_d.shape[:2], dtype=torch.bool)

        def inv(x_d):
            x = x_d - self.shift[:, None]
            x = torch.cat([x[..., :2], x[..., 2:].clamp(max=0.5)], -1)
            valid = x[..., 0] < 0.3
            return x, valid

        return reach_fraction(fwd, inv, x_c, tol=0.02)

    def surface_distance(self, x_c):
        return (x_c.norm(dim=-1) - R_HEAD).abs()


@pytest.fixture(scope="module")
def meshes():
    R = CFG.mc_resolution
    lo, hi = np.full(3, -1.0), np.full(3, 1.0)
    ax = np.linspace(-1, 1, R + 1)
    pts = np.stack(np.meshgrid(ax, ax, ax, indexing="ij"), -1)
    grid = LevelGrid(_field(pts).astype(np.float32), lo, hi, (R + 1) ** 3)
    # a coarse reach lattice (cells 0.125): the sheets (0.04 thick, centred between two of its
    # planes) pass between its corners
    q = reach_lattice(grid, [0.0], ToyReach(), CFG.reach_min_fraction, CFG.reach_band, resolution=16)
    return grid, q, level_mesh(grid, 0, 0.0, CFG), level_mesh(grid, 0, 0.0, CFG, q)


def test_spurious_sheet_dropped_real_geometry_kept(meshes):
    grid, q, lm, out = meshes
    cen = lm.v[lm.f].mean(1)
    assert (cen[:, 2] > 0.6).sum() > 50 and (cen[:, 2] < -0.6).sum() > 50  # both sheets were extracted
    assert lm.unreached == 0 and out.unreached > 0
    c2 = out.v[out.f].mean(1)
    # the shadowed sheet is gone beyond the band (+ a reach-lattice cell); its root within reach_band stays
    assert (c2[:, 2] > 0.4 + CFG.reach_band + 0.13).sum() == 0
    # the reached sheet and the whole head, shadowed cap included (within the band), are kept;
    # the face budget freed by the dropped sheet goes to the rest (decimation comes after)
    area = lambda v, f, sel: meshing.face_areas(v, f)[sel].sum()
    assert area(out.v, out.f, c2[:, 2] < -0.6) == pytest.approx(area(lm.v, lm.f, cen[:, 2] < -0.6), rel=0.05)
    head, head2 = (np.abs(np.linalg.norm(c, axis=1) - R_HEAD) < 0.03 for c in (cen, c2))
    assert area(out.v, out.f, head2) == pytest.approx(area(lm.v, lm.f, head), rel=0.03)
    cap, cap2 = (c[:, 0] > 0.32 for c in (cen, c2))
    assert cap.sum() > 20 and area(out.v, out.f, cap2) == pytest.approx(area(lm.v, lm.f, cap), rel=0.05)
    assert out.uvm.faces.shape[0] == len(out.f) <= 1.02 * CFG.faces_per_layer


def test_rule_needs_both_conditions(meshes):
    grid, q, lm, _ = meshes
    assert drop_unreached(lm.v, lm.f, q).any()
    reach = ToyReach()
    for min_reach, band in ((0.0, CFG.reach_band), (CFG.reach_min_fraction, 10.0)):  # nothing unreached / all in band
        q2 = reach_lattice(grid, [0.0], reach, min_reach, band)
        assert not drop_unreached(lm.v, lm.f, q2).any()


def test_bake_layers_without_reach_capability_is_unchanged():
    cfg = BakeConfig(mc_resolution=32, faces_per_layer=300, texture_size=32, uv_padding=2, workers=1)
    _, reports, _ = bake_layers(AnalyticSource(n_levels=2, n_exp=4), cfg, progress=False)
    assert [r.unreached_faces for r in reports] == [0, 0]


def test_config_validation():
    for bad in ({"reach_frames": -1}, {"reach_min_fraction": 1.5}, {"reach_band": -0.1}):
        with pytest.raises(ValueError):
            BakeConfig(**bad).validate()
    BakeConfig(reach_frames=0).validate()
