"""Stage-1 checkpoints store Adam's mostly-zero moments packed and restore them bit for bit."""

from __future__ import annotations

import torch

from train.checkpoint import PACK_MIN_NUMEL, load_checkpoint, pack_sparse, save_checkpoint, unpack_sparse


def test_pack_round_trip_is_exact_and_small():
    g = torch.Generator().manual_seed(0)
    t = torch.zeros(3, 70, 80, 90)
    idx = torch.randperm(t.numel(), generator=g)[: t.numel() // 20]
    t.view(-1)[idx] = torch.randn(idx.numel(), generator=g) * 1e-8  # tiny but non-zero values survive
    p = pack_sparse(t)
    assert isinstance(p, dict)
    assert p["bits"].numel() + 4 * p["values"].numel() < t.numel() * 4 / 5
    u = unpack_sparse(p)
    assert u.dtype == t.dtype and u.shape == t.shape and torch.equal(u, t)


def test_dense_small_and_integer_tensors_stay_as_they_are():
    dense = torch.randn(PACK_MIN_NUMEL)
    small = torch.zeros(100)
    ints = torch.zeros(PACK_MIN_NUMEL, dtype=torch.long)
    half = torch.zeros(PACK_MIN_NUMEL)
    half[: PACK_MIN_NUMEL // 2] = 1.0  # half non-zero: packing would not pay
    for t in (dense, small, ints, half):
        assert pack_sparse(t) is t
    assert unpack_sparse(dense) is dense and unpack_sparse({"a": 1}) == {"a": 1}


def test_checkpoint_with_a_sparse_adam_state_loads_identically(tmp_path):
    grid = torch.nn.Parameter(torch.zeros(1, 2, 48, 48, 48))
    opt = torch.optim.Adam([grid], lr=1e-2)
    loss = grid[0, :, 10:14, 20:24, 30:34].pow(2).sum() + (grid[0, 0, 0, 0, :3] - 1).pow(2).sum()
    loss.backward()
    opt.step()
    state = opt.state_dict()
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"step": 1, "model": {"grid": grid.detach()}, "optimizer": state, "scheduler": {}})
    raw = torch.load(path, weights_only=True)
    assert isinstance(raw["optimizer"]["state"][0]["exp_avg"], dict)  # stored packed
    back = load_checkpoint(path)["optimizer"]
    for name in ("exp_avg", "exp_avg_sq"):
        assert torch.equal(back["state"][0][name], state["state"][0][name])
    assert torch.equal(back["state"][0]["step"], state["state"][0]["step"])
    opt2 = torch.optim.Adam([torch.nn.Parameter(grid.detach().clone())], lr=1e-2)
    opt2.load_state_dict(back)
