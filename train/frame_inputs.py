"""Per-training-frame corrections of the tracked inputs, learnt with the fields
(`train.optimize_inputs`): expression, pose and camera translation, as BakedAvatar and IMavatar
optimise theirs when the tracking is noisy.

Each part is a zero-initialised table (N frames x dims) added to the dataset's values inside the
model's forward, so DDP sees the parameters used and reduces their gradients. Only training frames
have corrections; stage 3 fine-tunes on the corrected training frames (`CorrectedFrames`), while
evaluation, stage 2 and the export read the tracked values.
"""

from __future__ import annotations

import os

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
