"""The root configuration of headbake: one YAML file, one section per stage.

Sections live beside the code they configure (`train/synth/config.py`,
`train/stage1_config.py`, `bake/config.py`, `export/config.py`); this module only assembles
them, so each stage's owner edits one small file.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bake.config import BakeConfig
from export.config import ExportConfig
from train.configlib import ConfigError, apply_overrides, atomic_write_text, from_dict, read_yaml, to_dict
from train.stage1_config import ModelConfig, TrainConfig
from train.synth.config import SynthConfig


@dataclass
class DataConfig:
    """Where the subject lives and how its frames are selected (IMavatar layout)."""

    root: str = "data/synthetic"
    """Subject folder holding one sub-folder per video (`<root>/<video>/flame_params.json`)."""
    train_videos: list[str] = field(default_factory=lambda: ["train"])
    """Video folders used for training."""
    test_videos: list[str] = field(default_factory=lambda: ["test"])
    """Video folders used for evaluation."""
    train_subsample: int | list[int] = 1
    """Keep every s-th frame (int) or these 0-based in-video indices (list)."""
    test_subsample: int | list[int] = 1
    """Same for the test videos."""
    img_res: tuple[int, int] = (512, 512)
    """Image size (H, W) the frames are resized to when loaded."""
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """RGB background the ground truth is composited over (soft mask)."""
    mask_thresholds: tuple[float, float] = (0.5, 0.99)
    """(low, high): matte values below low become 0, above high 1 before compositing.
    BakedAvatar's (0.5, 0.99) cleans up estimated (segmentation) mattes of real videos; an exact
    matte (the synthetic subject) keeps its soft values with (0, 1): thresholding it turns the
    translucent hair into view-dependent white/grey patches no model can reproduce (the
    thresholded target is only 27.7 dB from the exact composite on the 512 px test video)."""
    flame_model: str = "procedural"
    """`procedural` for the built-in head, or a path to FLAME's `generic_model.pkl`."""
    n_exp: int = 50
    """Number of expression coefficients used (FLAME data: 50; procedural head: its count)."""
    ghostbone: bool = True
    """Prepend an identity 'ghost' bone for points that must not follow the head (torso)."""

    def validate(self) -> None:
        h, w = self.img_res
        if h <= 0 or w <= 0:
            raise ValueError(f"data.img_res must be positive; got {self.img_res}")
        if self.n_exp <= 0:
            raise ValueError(f"data.n_exp must be positive; got {self.n_exp}")
        lo, hi = self.mask_thresholds
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"data.mask_thresholds must be (low, high) with 0 <= low <= high <= 1; got {self.mask_thresholds}")


@dataclass
class HeadbakeConfig:
    """Everything one avatar needs, from data to bundle."""

    name: str = "avatar"
    """Avatar name: names the run folder and the exported `<name>.glb`."""
    workdir: str = "runs/avatar"
    """Folder for every stage's outputs (train/, bake/, ...)."""
    seed: int = 0
    """Global random seed."""
    data: DataConfig = field(default_factory=DataConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    bake: BakeConfig = field(default_factory=BakeConfig)
    export: ExportConfig = field(default_factory=ExportConfig)

    @property
    def workpath(self) -> Path:
        return Path(self.workdir)


def load_config(path: str | os.PathLike, overrides: list[str] | None = None) -> HeadbakeConfig:
    """Read a YAML config strictly; errors name the file and the dotted key."""
    data = apply_overrides(read_yaml(path), overrides)
    try:
        return from_dict(HeadbakeConfig, data, where="config")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def save_config(cfg: HeadbakeConfig, path: str | os.PathLike) -> Path:
    """Write the resolved config (every default filled in) atomically."""
    path = Path(path)
    atomic_write_text(path, yaml.safe_dump(to_dict(cfg), sort_keys=False))
    return path


def replace(cfg, **changes):
    """dataclasses.replace re-exported for convenience."""
    return dataclasses.replace(cfg, **changes)
