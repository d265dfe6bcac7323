"""train.fields.grid.FeaturePlanes and the radiance field's `model.radiance_plane_res`."""

import pytest
import torch

from train.fields.grid import FeaturePlanes
from train.fields.radiance import RadianceField

LO, HI = torch.tensor([-1.0, -1.0, -1.0]), torch.tensor([1.0, 1.0, 1.0])


def test_planes_read_the_projections():
    """Plane xy is read at (x, y) whatever z is, xz at (x, z), yz at (y, z); texel centres exactly."""
    fp = FeaturePlanes(LO, HI, [5], channels=2)
    with torch.no_grad():
        for p in fp.planes:
            p.zero_()
        # texel (row 3, col 1) of each plane: row <-> the pair's second axis, col <-> its first
        fp.planes[0][0, :, 3, 1] = torch.tensor([1.0, 2.0])   # xy: x = -0.5, y = 0.5
        fp.planes[0][1, :, 3, 1] = torch.tensor([3.0, 4.0])   # xz: x = -0.5, z = 0.5
        fp.planes[0][2, :, 3, 1] = torch.tensor([5.0, 6.0])   # yz: y = -0.5, z = 0.5
    x = torch.tensor([[-0.5, 0.5, -0.9], [-0.5, 0.0, 0.5], [0.7, -0.5, 0.5], [0.0, 0.0, 0.0]])
    f = fp(x)
    assert f.shape == (4, 6) and fp.out_dim == 6
    torch.testing.assert_close(f[0], torch.tensor([1.0, 2.0, 0, 0, 0, 0]))
    torch.testing.assert_close(f[1], torch.tensor([0, 0, 3.0, 4.0, 0, 0]))
    torch.testing.assert_close(f[2], torch.tensor([0, 0, 0, 0, 5.0, 6.0]))
    torch.testing.assert_close(f[3], torch.zeros(6))


def test_planes_fit_detail_finer_than_the_grid():
    """A stripe pattern of period 4 texels of a 64^2 plane is learnt through planes (the 8^3 grid
    beside them alone cannot); the planes get gradients and the batch shape is kept."""
    torch.manual_seed(0)
    x = torch.rand(4096, 3) * 2 - 1
    target = (torch.sin(x[:, 0] * 3.1416 * 8) > 0).float()

    def fit(plane_res):
        rf = RadianceField(LO, HI, [8], channels=4, hidden=32, dim_pos_feature=2, num_bases=2,
                           plane_res=plane_res)
        opt = torch.optim.Adam(rf.parameters(), lr=2e-2)
        for _ in range(150):
            _, _, alpha = rf(x)
            loss = (alpha - target).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return float(loss.detach()), rf

    loss_grid, _ = fit(None)
    loss_planes, rf = fit([64])
    assert loss_planes < 0.25 * loss_grid, (loss_planes, loss_grid)
    f_pos, bases, alpha = rf(x[:6].reshape(2, 3, 3))
    assert f_pos.shape == (2, 3, 2) and bases.shape == (2, 3, 2, 3) and alpha.shape == (2, 3)
    assert "planes.planes.0" in rf.state_dict()
    assert not any(k.startswith("planes") for k in RadianceField(LO, HI, [8], 4, 32, 2, 2).state_dict())


def test_plane_resolutions_are_validated():
    from train.stage1_config import ModelConfig

    ModelConfig(radiance_plane_res=[256, 1024]).validate()
    with pytest.raises(ValueError, match="radiance_plane_res"):
        ModelConfig(radiance_plane_res=[1]).validate()
