"""Per-training-frame corrections of the tracked inputs, learnt with the fields
(`train.optimize_inputs`): expression, pose and camera translation, as BakedAvatar and IMavatar
optimise theirs when the tracking is noisy.

Each part is a zero-initialised table (N frames x dims) added to the dataset's values inside the
model's forward, so DDP sees the parameters used and reduces their gradients. Only training frames
have corrections; stage 3 fine-tunes on the corrected training frames (`CorrectedFrames`), and
stage 2's tracked sequences (its reach test, the exported animations) carry the expression and pose
corrections (`correct_sequences`); evaluation reads the test videos' tracked values.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from train.stage1_config import INPUT_PARTS


class FrameInputs(nn.Module):
    def __init__(self, n_frames: int, n_expression: int, parts: list[str] | tuple[str, ...]):
        super().__init__()
        bad = [p for p in parts if p not in INPUT_PARTS]
        if bad or n_frames < 1:
            raise ValueError(f"FrameInputs: parts must be among {list(INPUT_PARTS)} and n_frames >= 1; got {list(parts)}, {n_frames}")
        dims = {"expression": n_expression, "pose": 15, "camera": 3}
        for part in INPUT_PARTS:
            self.register_parameter(part, nn.Parameter(torch.zeros(n_frames, dims[part])) if part in parts else None)

    def correct(self, ids: Tensor, o: Tensor, expression: Tensor, pose: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Frames `ids` (B,) of rays o (B, R, 3) with inputs (B, E), (B, 15) -> the corrected three.
        The camera correction moves the camera centre, so every ray origin of the frame."""
        if self.expression is not None:
            expression = expression + self.expression[ids]
        if self.pose is not None:
            pose = pose + self.pose[ids]
        if self.camera is not None:
            o = o + self.camera[ids][:, None, :]
        return o, expression, pose


def stage1_corrections(checkpoint: str | os.PathLike) -> dict[str, Tensor]:
    """The learnt corrections {part: (N, dims)} in a stage-1 checkpoint ({} when it has none).
    Memory-maps the file: only these small tables are read."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)["model"]
    return {k.split(".", 1)[1]: v.clone() for k, v in state.items() if k.startswith("frame_inputs.")}


class CorrectedFrames(torch.utils.data.Dataset):
    """A training `train.data.ImavatarDataset` with stage 1's learnt corrections applied to each
    item (by its `index`, the order stage 1 read the same videos in): expression and pose shifted,
    the camera centre moved (`c2w` and `w2c` both)."""

    def __init__(self, dataset, corrections: dict[str, Tensor]):
        rows = {part: int(v.shape[0]) for part, v in corrections.items()}
        if any(n != len(dataset) for n in rows.values()):
            raise ValueError(f"stage-1 input corrections cover {rows} frames, the training videos have {len(dataset)}: "
                             "was stage 1 trained on other videos or another train_subsample?")
        self.dataset, self.corrections = dataset, corrections

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> dict:
        item = dict(self.dataset[i])
        k = int(item["index"])
        for part in ("expression", "pose"):
            if part in self.corrections:
                item[part] = item[part] + self.corrections[part][k].to(item[part])
        if "camera" in self.corrections:
            c2w = item["c2w"].clone()
            c2w[:3, 3] += self.corrections["camera"][k].to(c2w)
            item["c2w"], item["w2c"] = c2w, torch.linalg.inv(c2w)
        return item


def correct_sequences(sequences: dict[str, dict[str, np.ndarray]], data, corrections: dict[str, Tensor]) -> list[str]:
    """Add stage 1's learnt expression/pose corrections to the training videos' rows of `sequences`
    ({video: {'expression': (N, E), 'pose': (N, 15)}}, rows in frame order, as bake.stage2's
    tracked_sequences builds them), in place. Stage 1 learnt one row per training frame, in the
    order the dataset read them (`data.train_videos`, then each flame_params.json's frame order,
    `data.train_subsample` applied); frames the subsample skipped get the corrections linearly
    interpolated between their trained neighbours, so an exported animation does not jitter. The
    camera correction has no place in an animation of the head and is left out. Returns the parts
    applied."""
    from train.data.imavatar import read_flame_params, select_indices

    parts = [p for p in ("expression", "pose") if p in corrections]
    if not parts:
        return []
    rows, n = {}, 0
    for video in data.train_videos:
        k = np.asarray(read_flame_params(Path(data.root) / video, data.n_exp)["k"])
        sub = data.train_subsample
        keep = np.asarray(select_indices([int(v) - 1 for v in k], list(sub) if not isinstance(sub, int) else sub))
        rank = np.argsort(np.argsort(k, kind="stable"), kind="stable")  # JSON position -> row in frame order
        rows[video] = (rank[keep], n)
        n += int(keep.sum())
    have = {p: int(corrections[p].shape[0]) for p in parts}
    if any(v != n for v in have.values()):
        raise ValueError(f"stage-1 input corrections cover {have} frames, the training videos select {n}: "
                         "was stage 1 trained on other videos or another train_subsample?")
    for video, (trained, start) in rows.items():
        if len(trained) == 0:
            continue
        order = np.argsort(trained)
        for part in parts:
            seq = sequences[video][part]
            table = corrections[part][start : start + len(trained)].detach().cpu().double().numpy()[order]
            at = trained[order]
            every = np.arange(seq.shape[0])
            fill = np.stack([np.interp(every, at, table[:, d]) for d in range(table.shape[1])], 1)
            sequences[video][part] = (seq + fill).astype(seq.dtype)
    return parts
