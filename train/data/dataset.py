"""`torch.utils.data.Dataset` over frames read by `train.data.imavatar.read_subject`."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from train.data.imavatar import SubjectFrames, read_subject


class ImavatarDataset(torch.utils.data.Dataset):
    """One item per frame: a dict of torch tensors (float32 unless noted).

    `rgb` (H,W,3) in [0,1], composited over `background` with the soft mask
    (`rgb = image * mask + background * (1 - mask)`, BakedAvatar's ground truth);
    `image` (H,W,3) the raw frame; `mask` (H,W); `K` (3,3) pixels, fx < 0; `w2c`, `c2w` (4,4);
    `expression` (n_exp,); `pose` (15,); `bbox` (4,) pixels; `index` (int64, dataset index);
    `frame` (int64, 1-based frame number in its video); `video` (int64, index into
    `self.videos`, the names); and `keypoints` (P,2) pixels when every frame has landmarks.
    """

    def __init__(self, frames: SubjectFrames, background: Sequence[float] | None = None):
        self.frames = frames
        bg = frames.background if background is None else background
        if len(tuple(bg)) != 3:
            raise ValueError(f"background must be 3 floats; got {bg}")
        self.background = torch.tensor([float(c) for c in bg], dtype=torch.float32)
        self.videos = list(frames.videos)
        self._video_index = np.array([self.videos.index(v) for v in frames.video], dtype=np.int64)

    @classmethod
    def from_config(cls, data, split: str = "train", progress: bool = True) -> "ImavatarDataset":
        """Build from a `train.config.DataConfig` section; `split` is 'train' or 'test'."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
        videos = data.train_videos if split == "train" else data.test_videos
        subsample = data.train_subsample if split == "train" else data.test_subsample
        frames = read_subject(data.root, videos, subsample, tuple(data.img_res), tuple(data.background), data.n_exp, progress,
                              mask_thresholds=tuple(data.mask_thresholds))
        return cls(frames)

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} frames")
        i = i % len(self)
        f = self.frames
        image = torch.from_numpy(f.images[i]).float() / 255.0
        mask = torch.from_numpy(f.masks[i].astype(np.float32))
        rgb = image * mask[..., None] + self.background * (1.0 - mask[..., None])
        item = {
            "rgb": rgb,
            "image": image,
            "mask": mask,
            "K": torch.from_numpy(f.K[i]).float(),
            "w2c": torch.from_numpy(f.w2c[i]).float(),
            "c2w": torch.from_numpy(f.c2w[i]).float(),
            "expression": torch.from_numpy(f.expression[i]),
            "pose": torch.from_numpy(f.pose[i]),
            "bbox": torch.from_numpy(f.bbox[i]),
            "index": torch.tensor(i, dtype=torch.int64),
            "frame": torch.tensor(int(f.frame[i]), dtype=torch.int64),
            "video": torch.tensor(int(self._video_index[i]), dtype=torch.int64),
        }
        if f.keypoints is not None:
            item["keypoints"] = torch.from_numpy(f.keypoints[i])
        return item
