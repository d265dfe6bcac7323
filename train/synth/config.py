"""Config section `synth`: the built-in synthetic subject (owned by train/synth)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SynthConfig:
    """How `python -m train.synth` renders the procedural head into an IMavatar folder."""

    resolution: int = 512
    """Square image size in pixels."""
    n_train_frames: int = 600
    """Frames in the `train` video."""
    n_test_frames: int = 150
    """Frames in the `test` video (expressions and poses not seen in training)."""
    seed: int = 0
    """Seed for the motion and appearance generators."""

    def validate(self) -> None:
        if self.resolution < 16:
            raise ValueError(f"synth.resolution must be >= 16; got {self.resolution}")
        if self.n_train_frames < 1 or self.n_test_frames < 1:
            raise ValueError("synth.n_train_frames and synth.n_test_frames must be >= 1")
