"""Reference texture sampling (train.raster.sampling, backend 'torch') against hand-computed values."""

from __future__ import annotations

import pytest
import torch

from train import raster

# 3 rows x 4 columns, 2 channels: value = (10 * row + col, -(10 * row + col))
H, W = 3, 4
_base = (10 * torch.arange(H)[:, None] + torch.arange(W)[None, :]).double()
TEX = torch.stack([_base, -_base], -1)[None]  # (1,3,4,2)


def _uv(points):
    return torch.tensor(points, dtype=torch.float64).reshape(1, 1, -1, 2)


def _texel_centre(col, row):
    return ((col + 0.5) / W, (row + 0.5) / H)


def test_texel_centres_return_texels_and_row0_is_v0():
    pts = [_texel_centre(c, r) for r in range(H) for c in range(W)]
    out = raster.texture(TEX, _uv(pts), backend="torch")
    torch.testing.assert_close(out[0, 0, :, 0], _base.reshape(-1))
    # v = 0.01 (near the top of the uv square) reads row 0, v = 0.99 reads the last row
    near = raster.texture(TEX, _uv([(0.5 / W, 0.01), (0.5 / W, 0.99)]), "nearest", backend="torch")
    assert near[0, 0, :, 0].tolist() == [0.0, 20.0]


def test_bilinear_matches_hand_computation():
    # point between texels (1,0),(2,0),(1,1),(2,1): texel-space x = 1.3, y = 0.25
    u, v = (1.3 + 0.5) / W, (0.25 + 0.5) / H
    out = raster.texture(TEX, _uv([(u, v)]), "linear", backend="torch")[0, 0, 0, 0].item()
    t = _base
    top = t[0, 1] * 0.7 + t[0, 2] * 0.3
    bot = t[1, 1] * 0.7 + t[1, 2] * 0.3
    assert out == pytest.approx(float(top * 0.75 + bot * 0.25), abs=1e-12)


def test_nearest_picks_the_containing_texel():
    out = raster.texture(TEX, _uv([(0.26, 0.34), (0.74, 0.67), (0.0, 0.0)]), "nearest", backend="torch")
    # u=0.26 -> col 1, v=0.34 -> row 1; u=0.74 -> col 2, v=0.67 -> row 2
    assert out[0, 0, :, 0].tolist() == [11.0, 22.0, 0.0]


def test_boundary_modes():
    outside = [(-0.3, 0.5 / H), (1.4, 2.5 / H)]
    clamp = raster.texture(TEX, _uv(outside), "linear", "clamp", backend="torch")[0, 0, :, 0]
    assert clamp.tolist() == [0.0, 23.0]
    # wrap: u and u + 1 read the same value
    pts = [(0.37, 0.61), (1.37, -0.39)]
    wrap = raster.texture(TEX, _uv(pts), "linear", "wrap", backend="torch")[0, 0, :, 0]
    assert wrap[0].item() == pytest.approx(wrap[1].item(), abs=1e-9)
    # wrap blends the last and the first column at u = 0 (texel-space x = -0.5)
    edge = raster.texture(TEX, _uv([(0.0, 0.5 / H)]), "linear", "wrap", backend="torch")[0, 0, 0, 0].item()
    assert edge == pytest.approx(0.5 * (0 + 3))
    with pytest.raises(ValueError, match="boundary_mode must be one of"):
        raster.texture(TEX, _uv(pts), "linear", "zero", backend="torch")


def test_batch_broadcast_of_the_texture():
    uv = torch.rand(2, 5, 6, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    both = raster.texture(TEX, uv, backend="torch")
    assert both.shape == (2, 5, 6, 2)
    torch.testing.assert_close(both[1:], raster.texture(TEX, uv[1:], backend="torch"))
    tex2 = torch.cat([TEX, 2 * TEX])
    torch.testing.assert_close(raster.texture(tex2, uv, backend="torch")[1], 2 * both[1])


@pytest.mark.parametrize("boundary", ["clamp", "wrap"])
def test_gradients_wrt_texture_and_uv_gradcheck(boundary):
    g = torch.Generator().manual_seed(1)
    tex = torch.rand(1, 5, 6, 3, dtype=torch.float64, generator=g, requires_grad=True)
    # keep samples off texel-centre lines (bilinear kinks) so finite differences are valid
    cells = torch.rand(1, 4, 4, 2, dtype=torch.float64, generator=g) * 0.8 + 0.1
    idx = torch.randint(-1, 6, (1, 4, 4, 2), generator=g).double()
    uv = ((idx + cells + 0.5) / torch.tensor([6.0, 5.0], dtype=torch.float64)).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t, q: raster.texture(t, q, "linear", boundary, backend="torch"), (tex, uv))


def test_clamped_uv_has_zero_gradient():
    uv = _uv([(-0.4, 0.5)]).requires_grad_(True)
    out = raster.texture(TEX, uv, backend="torch")
    out.sum().backward()
    assert uv.grad[0, 0, 0, 0] == 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="filter_mode"):
        raster.texture(TEX, _uv([(0.5, 0.5)]), "cubic", backend="torch")
    with pytest.raises(ValueError, match="boundary_mode"):
        raster.texture(TEX, _uv([(0.5, 0.5)]), "linear", "mirror", backend="torch")
    with pytest.raises(ValueError, match="uv must be"):
        raster.texture(TEX, torch.zeros(1, 2, 2, 3), backend="torch")
