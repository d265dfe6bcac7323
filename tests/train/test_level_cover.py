"""The level loss's coverage: the mask's local maximum for the translucent levels
(`train.level_cover_window`), the mask itself for the opaque one."""

from __future__ import annotations

import pytest
import torch

from train.losses import compute_losses, level_thresholds
from train.render.frames import dilated_masks
from train.stage1_config import TrainConfig


def test_dilated_masks_take_the_local_maximum():
    m = torch.zeros(2, 9, 9, dtype=torch.uint8)
    m[0, 4, 4] = 200
    m[1, 0, 8] = 255
    m[1, 8, 0] = 10
    d = dilated_masks(m, 3, chunk=1)
    assert d.dtype == torch.uint8 and d.shape == m.shape
    assert int((d[0] == 200).sum()) == 9 and bool((d[0, 3:6, 3:6] == 200).all())  # a 3x3 block
    assert int(d[0].sum()) == 9 * 200
    assert d[1, 1, 7] == 255 and d[1, 7, 1] == 10 and d[1, 4, 4] == 0  # corners clip, no wrap
    assert torch.equal(dilated_masks(m, 1), m)
    for bad in (0, 2, -3):
        with pytest.raises(ValueError, match="odd"):
            dilated_masks(m, bad)


def _out(s_min: torch.Tensor) -> dict:
    zero = torch.tensor(0.0)
    r = s_min.shape[1]
    return {"rgb": torch.full((1, r, 3), 0.5), "alpha": torch.zeros(1, r), "s_min": s_min,
            "has_valid": torch.ones(1, r, dtype=torch.bool), "outer_alpha": torch.zeros(1, r, 3),
            "prior_expr": zero, "prior_pose": zero, "prior_skin": zero, "eikonal": zero, "deform_residual": zero,
            "surface": zero, "basis_spread": zero, "normal_smooth": zero}


def test_cover_pulls_only_the_translucent_levels_over_strand_gaps():
    """A gap between strands (mask 0, neighbourhood covered) whose ray passes just outside the
    outermost level: with the cover, the translucent levels are asked to cover it, the opaque one
    is not; without it nothing is asked. The loss's gradient on s_min says which way it pulls."""
    levels = torch.linspace(-0.1, 0.0, 4)
    tc = TrainConfig()
    rgb, mask, cover = torch.full((1, 1, 3), 0.5), torch.zeros(1, 1), torch.ones(1, 1)

    def level_grad(target_cover):
        s = torch.full((1, 1), 0.01, requires_grad=True)
        loss = compute_losses(_out(s), rgb, mask, levels, tc, target_cover=target_cover)["level"]
        (g,) = torch.autograd.grad(loss, s)
        return float(loss.detach()), float(g)

    plain, g_plain = level_grad(None)
    covered, g_cover = level_grad(cover)
    # descent moves s_min against the gradient: without the cover it is pushed up (stay outside the
    # levels), with it pulled down (below the translucent levels)
    assert g_plain < 0 < g_cover
    assert covered > plain

    # exactly: the opaque level's target from the mask, the others' from the cover
    s_mid = torch.full((1, 1), -0.05)
    mask, cover = torch.full((1, 1), 0.97), torch.full((1, 1), 0.5)
    got = compute_losses(_out(s_mid), rgb, mask, levels, tc, target_cover=cover)["level"]
    thr = level_thresholds(4)
    target = torch.cat([(mask[0] > thr[:1]), (cover[0] > thr[1:])]).float()
    assert target.tolist() == [1.0, 0.0, 1.0, 1.0]
    expect = torch.nn.functional.binary_cross_entropy_with_logits(-tc.level_sharpness * (s_mid[0] - levels), target)
    torch.testing.assert_close(got, expect)


def test_level_cover_window_must_be_odd():
    TrainConfig(level_cover_window=7).validate()
    for bad in (2, -1):
        with pytest.raises(ValueError, match="level_cover_window"):
            TrainConfig(level_cover_window=bad).validate()
