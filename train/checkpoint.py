"""Atomic stage-1 checkpoints: `<workdir>/train/checkpoint.pt`.

Contents (torch.save, loadable with weights_only=True): `step`, `model` (state dict),
`optimizer`, `scheduler`, `rng` (torch CPU and CUDA generator states), `meta` (free-form).
Written to a temp file in the same folder, fsync'ed, then `os.replace`d: a crash mid-write
leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from train.configlib import atomic_write


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, payload: dict) -> Path:
    """Atomically write `payload` to `path`."""
    return atomic_write(path, lambda fh: torch.save(payload, fh), binary=True)


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint written by `save_checkpoint` (no arbitrary pickles)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated / foreign file
        raise ValueError(f"{path}: not a readable stage-1 checkpoint ({exc})") from None
    for key in ("step", "model", "optimizer", "scheduler"):
        if key not in ckpt:
            raise ValueError(f"{path}: checkpoint lacks field {key!r}")
    return ckpt
