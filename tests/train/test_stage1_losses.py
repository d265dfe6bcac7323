"""Stage-1 loss terms that need no model (train.losses)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from train.config import HeadbakeConfig
from train.losses import compute_losses, level_thresholds


def _out(s_min: torch.Tensor) -> dict:
    b, r = s_min.shape
    zero = torch.zeros(())
    return {"rgb": torch.zeros(b, r, 3), "alpha": torch.zeros(b, r), "s_min": s_min,
            "has_valid": torch.ones(b, r, dtype=torch.bool), "prior_expr": zero, "prior_pose": zero,
            "prior_skin": zero, "eikonal": zero, "deform_residual": zero, "surface": zero,
            "outer_alpha": torch.zeros(b, r, 3), "basis_spread": zero, "normal_smooth": zero}


@pytest.mark.parametrize("which,picked", [("all", [0, 1, 2, 3]), ("ends", [0, 3]), ("opaque", [0])])
def test_level_loss_places_only_the_chosen_levels(which, picked):
    g = torch.Generator().manual_seed(0)
    s_min = torch.randn(2, 64, generator=g) * 0.05
    mask = torch.rand(2, 64, generator=g)
    levels = torch.linspace(-0.1, 0.0, 4)
    tc = HeadbakeConfig().train
    tc.level_loss_levels = which
    got = compute_losses(_out(s_min), torch.zeros(2, 64, 3), mask, levels, tc)["level"]
    thr = level_thresholds(4)[picked]
    cover = (mask.reshape(-1, 1) > thr).float()
    want = F.binary_cross_entropy_with_logits(-tc.level_sharpness * (s_min.reshape(-1, 1) - levels[picked]), cover)
    torch.testing.assert_close(got, want)


def test_level_loss_levels_is_validated():
    tc = HeadbakeConfig().train
    tc.level_loss_levels = "outer"
    with pytest.raises(ValueError, match="level_loss_levels"):
        tc.validate()
