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


class ResumeError(ValueError):
    """A checkpoint that cannot be resumed (unreadable, or not the configured model)."""


def config_differences(current: dict, saved: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts, as "key: X here, Y in the run";
    keys present in only one of them are skipped (older or newer code)."""
    out = []
    for k in current.keys() & saved.keys():
        a, b = current[k], saved[k]
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_differences(a, b, f"{prefix}{k}.")
        elif a != b:  # both plain YAML values (`to_dict`, `read_yaml`): lists compare as lists
            out.append(f"{prefix}{k}: {a!r} here, {b!r} in the run")
    return sorted(out)


def load_for_resume(module: torch.nn.Module, ckpt: dict, ckpt_path: Path, current_cfg: dict, saved_cfg_path: Path) -> None:
    """Load the checkpoint's model state into `module`; a state that does not fit raises ResumeError
    naming the file and the `model`/`data` settings that differ from the run's saved config."""
    try:
        module.load_state_dict(ckpt["model"])
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()
        why = detail[1].strip() if len(detail) > 1 else detail[0]
        diffs = []
        if saved_cfg_path.is_file():
            from train.configlib import read_yaml

            saved = read_yaml(saved_cfg_path)
            diffs = [d for d in config_differences(current_cfg, saved) if d.startswith(("model.", "data."))]
        hint = ("; settings that differ from " + str(saved_cfg_path) + ": " + "; ".join(diffs[:8])) if diffs else (
            "; it was written by another model layout (older headbake?): train afresh without --resume")
        raise ResumeError(f"{ckpt_path}: does not fit the configured model ({why}){hint}") from None


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint written by `save_checkpoint` (no arbitrary pickles)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated / foreign file
        raise ResumeError(f"{path}: not a readable stage-1 checkpoint ({exc})") from None
    for key in ("step", "model", "optimizer", "scheduler"):
        if key not in ckpt:
            raise ResumeError(f"{path}: checkpoint lacks field {key!r}")
    return ckpt
