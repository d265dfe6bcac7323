"""train.frame_inputs: the learnt per-frame corrections read back for stage 3."""

from __future__ import annotations

import pytest
import torch

from train.checkpoint import save_checkpoint
from train.frame_inputs import CorrectedFrames, stage1_corrections


def test_stage1_corrections_reads_only_the_tables(tmp_path):
    pose = torch.randn(4, 15)
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"step": 3, "model": {"frame_inputs.pose": pose, "radiance_field.x": torch.ones(2)},
                           "optimizer": {"state": {}, "param_groups": []}, "scheduler": {}})
    got = stage1_corrections(path)
    assert list(got) == ["pose"]
    torch.testing.assert_close(got["pose"], pose)
    save_checkpoint(path, {"step": 3, "model": {"radiance_field.x": torch.ones(2)}, "optimizer": {}, "scheduler": {}})
    assert stage1_corrections(path) == {}


def _items(n: int) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(n):
        c2w = torch.eye(4)
        c2w[:3, 3] = torch.tensor([0.02, -0.06, 4.0]) + 0.01 * i
        out.append({"index": torch.tensor(i), "expression": torch.randn(5, generator=g), "pose": torch.randn(15, generator=g),
                    "c2w": c2w, "w2c": torch.linalg.inv(c2w), "rgb": torch.zeros(2, 2, 3)})
    return out


def test_corrected_frames_shift_inputs_and_move_the_camera_centre():
    items = _items(3)
    corr = {"expression": torch.randn(3, 5), "pose": torch.randn(3, 15), "camera": torch.randn(3, 3) * 0.01}
    ds = CorrectedFrames(items, corr)
    assert len(ds) == 3
    for i in range(3):
        it = ds[i]
        torch.testing.assert_close(it["expression"], items[i]["expression"] + corr["expression"][i])
        torch.testing.assert_close(it["pose"], items[i]["pose"] + corr["pose"][i])
        torch.testing.assert_close(it["c2w"][:3, 3], items[i]["c2w"][:3, 3] + corr["camera"][i])
        torch.testing.assert_close(it["w2c"] @ it["c2w"], torch.eye(4), atol=1e-6, rtol=0)
        assert torch.equal(items[i]["c2w"][:3, 3], torch.tensor([0.02, -0.06, 4.0]) + 0.01 * i)  # source untouched
    # only the parts learnt change
    only_pose = CorrectedFrames(items, {"pose": corr["pose"]})[1]
    assert torch.equal(only_pose["c2w"], items[1]["c2w"]) and torch.equal(only_pose["expression"], items[1]["expression"])
    with pytest.raises(ValueError, match="cover .* frames, the training videos have 3"):
        CorrectedFrames(items, {"pose": torch.zeros(4, 15)})
