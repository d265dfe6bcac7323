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
            "surface": zero, "surface_inside": zero, "basis_spread": zero, "normal_smooth": zero}


def _level(tc: TrainConfig, s: float, mask: float, levels: torch.Tensor) -> tuple[float, float]:
    s_min = torch.full((1, 1), s, requires_grad=True)
    loss = compute_losses(_out(s_min), torch.full((1, 1, 3), 0.5), torch.full((1, 1), mask), levels, tc)["level"]
    (g,) = torch.autograd.grad(loss, s_min)
    return float(loss.detach()), float(g)


def _expected(tc: TrainConfig, s: float, mask: float, levels: torch.Tensor) -> float:
    """The hinge form by hand: BCE on the opaque level, sharpness/2 x wrong-side distance on the rest."""
    cover = (mask > level_thresholds(levels.shape[0])).float()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(-tc.level_sharpness * (s - levels[:1]), cover[:1])
    wrong = ((s - levels[1:]) * (2 * cover[1:] - 1)).clamp_min(0.0)
    return float((bce + (0.5 * tc.level_sharpness * wrong).sum()) / levels.shape[0])


def test_hinge_pulls_only_from_the_wrong_side():
    levels = torch.linspace(-0.1, 0.0, 4)
    bce, hinge = TrainConfig(), TrainConfig(level_loss="hinge")
    thr = level_thresholds(4)
    # a fringe ray (coverage 0.2: only the outermost level covers it) whose s_min lies between the
    # two outer levels: every level is satisfied -> the hinge levels say nothing, only the opaque
    # level's BCE tail remains, while the BCE form's tails of all levels push s_min up
    assert [bool(0.2 > t) for t in thr] == [False, False, False, True]
    loss_h, g_h = _level(hinge, -0.02, 0.2, levels)
    loss_b, g_b = _level(bce, -0.02, 0.2, levels)
    assert loss_h == pytest.approx(_expected(hinge, -0.02, 0.2, levels), rel=1e-5)
    assert 0 < loss_h < loss_b and abs(g_h) < abs(g_b) / 5
    # wrong side of the outermost level (s_min above 0 while covered): the hinge pulls s down with
    # sharpness/2 per wrong level, averaged over the levels (the opaque tail is negligible here)
    loss, g = _level(hinge, 0.01, 0.2, levels)
    assert loss == pytest.approx(_expected(hinge, 0.01, 0.2, levels), rel=1e-5)
    assert g == pytest.approx(0.5 * hinge.level_sharpness / 4, rel=2e-2)
    # uncovered ray inside two translucent levels: pushes s up with the force of both
    loss, g = _level(hinge, -0.05, 0.0, levels)
    assert loss == pytest.approx(_expected(hinge, -0.05, 0.0, levels), rel=1e-5)
    assert g < -2 * 0.5 * hinge.level_sharpness / 4 * 0.999
    # at a translucent level the two forms pull with the same force (two levels, the outer one at 0,
    # covering coverage 0.2; the opaque level far below adds nothing)
    l2 = torch.tensor([-0.5, 0.0])
    _, g_b = _level(bce, 0.0, 0.2, l2)
    _, g_h = _level(hinge, 1e-6, 0.2, l2)
    assert g_b == pytest.approx(g_h, rel=1e-3) and g_b == pytest.approx(0.25 * bce.level_sharpness, rel=1e-3)


def test_level_loss_must_be_known():
    with pytest.raises(ValueError, match="level_loss"):
        TrainConfig(level_loss="l2").validate()


def test_surface_inside_weight_enters_the_total_and_must_be_non_negative():
    out = _out(torch.zeros(1, 2))
    out["surface_inside"] = torch.tensor(0.03)
    args = torch.full((1, 2, 3), 0.5), torch.ones(1, 2), torch.linspace(-0.1, 0.0, 4)
    off = compute_losses(out, *args, TrainConfig())
    on = compute_losses(out, *args, TrainConfig(w_surface_inside=2.0))
    assert float(on["total"] - off["total"]) == pytest.approx(0.06, rel=1e-5)
    with pytest.raises(ValueError, match="w_surface_inside"):
        TrainConfig(w_surface_inside=-1.0).validate()
