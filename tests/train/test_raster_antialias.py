"""Reference analytic antialiasing (train.raster.antialiasing) against hand-computed coverage."""

from __future__ import annotations

import pytest
import torch

from train import raster
from train.raster.antialiasing import opposite_vertices

H = W = 8


def _quad(edge_px: float):
    """Two triangles forming a rectangle from x=-0.9 to a vertical right edge at pixel x = edge_px."""
    xe = edge_px / W * 2 - 1
    pos = torch.tensor([[-0.9, -0.9, 0, 1], [xe, -0.9, 0, 1], [xe, 0.9, 0, 1.0], [-0.9, 0.9, 0, 1]])
    tri = torch.tensor([[0, 1, 2], [0, 2, 3]], dtype=torch.int32)
    return pos, tri


def _white(rast):
    return (rast[..., 3:4] > 0).float().expand(-1, -1, -1, 3).contiguous()


def test_opposite_vertices_of_shared_and_boundary_edges():
    tri = torch.tensor([[0, 1, 2], [2, 1, 3], [4, 5, 6]])
    # edge (1,2) is shared: across it from triangle 0 lies vertex 3, from triangle 1 vertex 0
    assert opposite_vertices(tri).tolist() == [[3, -1, -1], [-1, -1, 0], [-1, -1, -1]]


@pytest.mark.parametrize("edge_px,col,expected", [(4.2, 4, 0.2), (4.45, 4, 0.45), (3.8, 3, 0.8), (3.6, 3, 0.6)])
def test_silhouette_pixels_get_their_analytic_coverage(edge_px, col, expected):
    """A vertical silhouette edge at pixel x = edge_px: the pixel it cuts is covered by the
    fraction of its width on the triangle's side (white triangle over black)."""
    pos, tri = _quad(edge_px)
    rast = raster.rasterize(pos, tri, (H, W), backend="torch")
    col_in = _white(rast)
    out = raster.antialias(col_in, rast, pos, tri, backend="torch")
    # rows 1..5 are covered by triangle 1, whose right edge is the silhouette
    torch.testing.assert_close(out[0, 1:6, col, 0], torch.full((5,), expected), atol=1e-5, rtol=0)
    untouched = torch.ones(H, W, dtype=torch.bool)
    untouched[1:6, col] = False
    untouched[:, 3:5] = False  # rows 0, 6, 7 at the edge belong to the other triangle (not examined)
    torch.testing.assert_close(out[0][untouched], col_in[0][untouched])


def test_internal_edges_between_front_facing_triangles_are_not_blended():
    pos, tri = _quad(6.3)
    rast = raster.rasterize(pos, tri, (H, W), backend="torch")
    ids = rast[..., 3:4]
    color = torch.cat([(ids == 1).float(), (ids == 2).float(), torch.zeros_like(ids)], -1)  # red / green
    out = raster.antialias(color, rast, pos, tri, backend="torch")
    inside = (rast[0, ..., 3] > 0) & (torch.arange(W)[None, :] < 5)  # away from the silhouette
    torch.testing.assert_close(out[0][inside], color[0][inside])


def test_gradients_move_the_edge_like_finite_differences():
    pos, tri = _quad(4.3)
    pos.requires_grad_(True)
    rast = raster.rasterize(pos, tri, (H, W), backend="torch")
    color = _white(rast).requires_grad_(True)
    out = raster.antialias(color, rast, pos, tri, backend="torch")
    out[0, :, 4, 0].sum().backward()
    # moving the edge right by d NDC units covers d * W/2 more of column 4 in each row where
    # triangle 1 (the one owning the silhouette edge) is in front at column 3
    rows = int(((rast[0, :, 3, 3] == 1) & (rast[0, :, 4, 3] == 0)).sum())
    assert rows >= 5
    g = pos.grad[1, 0] + pos.grad[2, 0]
    assert g.item() == pytest.approx(rows * W / 2, rel=2e-3)  # 2e-3: nvdiffrast's 1e-3 px epsilon
    # colour gradient: column-4 pixels are 0.3 * c(col 3) + 0.7 * c(col 4)
    assert color.grad[0, 2, 3, 0].item() == pytest.approx(0.3, abs=1e-6)
    assert color.grad[0, 2, 4, 0].item() == pytest.approx(0.7, abs=1e-6)


def test_no_discontinuities_returns_the_input():
    pos, tri = _quad(4.3)
    rast = torch.zeros(1, H, W, 4)
    color = torch.rand(1, H, W, 2)
    torch.testing.assert_close(raster.antialias(color, rast, pos, tri, backend="torch"), color)


@pytest.mark.parametrize("mirror", [False, True])
@pytest.mark.parametrize("transpose", [False, True])
def test_coverage_for_every_edge_orientation(mirror, transpose):
    """The same silhouette mirrored (triangle on the right: the covered pixel is the pair's
    second one) and/or transposed (a horizontal edge: vertical pixel pairs)."""
    pos, tri = _quad(4.2)  # column 4 is 20% covered
    if mirror:
        pos[:, 0] = -pos[:, 0]  # the edge now cuts column 3, 20% from its right side
    if transpose:
        pos = pos[:, [1, 0, 2, 3]].contiguous()
    rast = raster.rasterize(pos, tri, (H, W), backend="torch")
    out = raster.antialias(_white(rast), rast, pos, tri, backend="torch")[0, ..., 0]
    if transpose:
        out = out.T
    line = out[1:6, 3 if mirror else 4]
    torch.testing.assert_close(line, torch.full((5,), 0.2), atol=1e-5, rtol=0)
