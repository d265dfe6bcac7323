"""train.frame_inputs: the learnt per-frame corrections read back for stage 3."""

from __future__ import annotations

import numpy as np
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


def test_correct_sequences_follow_the_dataset_order_and_fill_skipped_frames(tmp_path):
    """Stage 2's tracked sequences get the learnt corrections of the frame stage 1 trained (dataset
    order: videos, then the JSON's frame order, subsample applied); frames between get them
    interpolated; the test video and the camera stay as tracked."""
    from types import SimpleNamespace

    from bake.stage2 import tracked_sequences
    from tests.train.test_imavatar_reader import _frame, make_video
    from train.data import ImavatarDataset
    from train.frame_inputs import correct_sequences

    make_video(tmp_path, "A", ks=(3, 1, 2, 5, 4), frames=[_frame(k) for k in (3, 1, 2, 5, 4)])  # JSON out of frame order
    make_video(tmp_path, "B", ks=(1, 2, 3, 4))
    make_video(tmp_path, "T", ks=(1, 2))
    data = SimpleNamespace(root=str(tmp_path), train_videos=["A", "B"], test_videos=["T"], train_subsample=2,
                           test_subsample=1, img_res=[16, 16], n_exp=10, background=[1.0, 1.0, 1.0], mask_thresholds=[0.5, 0.99])
    ds = ImavatarDataset.from_config(data, "train", progress=False)
    n = len(ds)
    corr = {"pose": torch.randn(n, 15, dtype=torch.float64).float(), "expression": torch.randn(n, 10),
            "camera": torch.randn(n, 3)}
    seqs, _ = tracked_sequences(SimpleNamespace(data=data))
    before = {v: {k: a.copy() for k, a in s.items()} for v, s in seqs.items()}
    assert correct_sequences(seqs, data, corr) == ["expression", "pose"]
    videos = ds.videos
    for i in range(n):  # every trained frame carries exactly its own correction
        it = ds[i]
        row = int(it["frame"]) - 1  # tracked_sequences' rows are in frame order (k = 1..N here)
        video = videos[int(it["video"])]
        for part in ("expression", "pose"):
            np.testing.assert_allclose(seqs[video][part][row], before[video][part][row] + corr[part][i].numpy(), atol=1e-6)
    # the subsample keeps frame numbers 1, 3, 5 of A and 1, 3 of B (wherever the JSON lists them):
    # frames between get the mean of their trained neighbours, B's frame 4 its last one's
    trained = {(videos[int(ds[i]["video"])], int(ds[i]["frame"])): i for i in range(n)}
    assert sorted(trained) == [("A", 1), ("A", 3), ("A", 5), ("B", 1), ("B", 3)]
    d = lambda v, k: seqs[v]["pose"][k - 1] - before[v]["pose"][k - 1]
    c = lambda v, k: corr["pose"][trained[(v, k)]].numpy()
    np.testing.assert_allclose(d("A", 2), (c("A", 1) + c("A", 3)) / 2, atol=1e-6)
    np.testing.assert_allclose(d("A", 4), (c("A", 3) + c("A", 5)) / 2, atol=1e-6)
    np.testing.assert_allclose(d("B", 2), (c("B", 1) + c("B", 3)) / 2, atol=1e-6)
    np.testing.assert_allclose(d("B", 4), c("B", 3), atol=1e-6)
    assert all(np.array_equal(seqs["T"][k], before["T"][k]) for k in ("expression", "pose"))
    assert correct_sequences(seqs, data, {"camera": corr["camera"]}) == []
    with pytest.raises(ValueError, match="cover .* frames, the training videos select 5"):
        correct_sequences(seqs, data, {"pose": torch.zeros(6, 15)})
