"""The level loss's two forms: binary cross-entropy (soft tails past each level) and the hinge
(`train.level_loss` hinge: only levels on the wrong side of the ray's smallest s pull)."""

from __future__ import annotations

import pytest
import torch

from train.losses import compute_losses, level_thresholds
from train.stage1_config import TrainConfig


def _out(s_min: torch.Tensor) -> dict:
    zero = torch.tensor(0.0)
    r = s_min.shape[1]
    return {"rgb": torch.full((1, r, 3), 0.5), "alpha": torch.zeros(1, r), "s_min": s_min,
            "has_valid": torch.ones(1, r, dtype=torch.bool), "outer_alpha": torch.zeros(1, r, 3),
            "prior_expr": zero, "prior_pose": zero, "prior_skin": zero, "eikonal": zero, "deform_residual": zero,
            "surface": zero, "basis_spread": zero, "normal_smooth": zero}


def _level(tc: TrainConfig, s: float, mask: float, levels: torch.Tensor) -> tuple[float, float]:
    s_min = torch.full((1, 1), s, requires_grad=True)
    loss = compute_losses(_out(s_min), torch.full((1, 1, 3), 0.5), torch.full((1, 1), mask), levels, tc)["level"]
    (g,) = torch.autograd.grad(loss, s_min)
    return float(loss.detach()), float(g)


def test_hinge_pulls_only_from_the_wrong_side():
    levels = torch.linspace(-0.1, 0.0, 4)
    bce, hinge = TrainConfig(), TrainConfig(level_loss="hinge")
    thr = level_thresholds(4)
    # a fringe ray (coverage 0.2: only the outermost level covers it) whose s_min lies between the
    # two outer levels: every level is satisfied except none -> the hinge has nothing to say,
    # while the BCE's tails still push s_min up (descent against a negative gradient)
    assert [bool(0.2 > t) for t in thr] == [False, False, False, True]
    loss, g = _level(hinge, -0.02, 0.2, levels)
    assert loss == 0.0 and g == 0.0
    loss, g = _level(bce, -0.02, 0.2, levels)
    assert loss > 0 and g != 0.0
    # wrong side of the outermost level (s_min above 0 while covered): the hinge pulls s down, with
    # sharpness/2 per level on the wrong side, averaged over the levels
    loss, g = _level(hinge, 0.01, 0.2, levels)
    assert loss == pytest.approx(0.5 * hinge.level_sharpness * 0.01 / 4)
    assert g == pytest.approx(0.5 * hinge.level_sharpness / 4)
    # uncovered ray inside two levels: pushes s up, the force of two wrong levels
    loss, g = _level(hinge, -0.05, 0.0, levels)
    assert g == pytest.approx(-2 * 0.5 * hinge.level_sharpness / 4)
    # at a level the two forms pull with the same force (one level: coverage 0.2 is "uncovered")
    l1 = levels[3:]
    _, g_b = _level(bce, 0.0, 0.2, l1)
    _, g_h = _level(hinge, -1e-6, 0.2, l1)
    assert g_b == pytest.approx(g_h, rel=1e-4) and g_b == pytest.approx(-0.5 * bce.level_sharpness)


def test_level_loss_must_be_known():
    with pytest.raises(ValueError, match="level_loss"):
        TrainConfig(level_loss="l2").validate()
