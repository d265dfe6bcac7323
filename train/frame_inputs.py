"""Per-training-frame corrections of the tracked inputs, learnt with the fields
(`train.optimize_inputs`): expression, pose and camera translation, as BakedAvatar and IMavatar
optimise theirs when the tracking is noisy.

Each part is a zero-initialised table (N frames x dims) added to the dataset's values inside the
model's forward, so DDP sees the parameters used and reduces their gradients. Only training frames
have corrections; evaluation, the bake and the export read the tracked values.
"""

from __future__ import annotations

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
