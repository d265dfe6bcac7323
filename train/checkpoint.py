"""Atomic stage-1 checkpoints: `<workdir>/train/checkpoint.pt`.

Contents (torch.save, loadable with weights_only=True): `step`, `model` (state dict),
`optimizer`, `scheduler`, `rng` (torch CPU and CUDA generator states), `meta` (free-form).
Written to a temp file in the same folder, fsync'ed, then `os.replace`d: a crash mid-write
leaves the previous checkpoint intact.

Adam's moments of the dense grids are mostly exact zeros (voxels no ray has reached), so large
optimizer-state tensors that are mostly zero are stored packed (`pack_sparse`: a bit mask of the
non-zero entries and their values) and restored bit for bit on load.
"""

from __future__ import annotations

import math
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


PACKED = "__packed_sparse__"
PACK_MIN_NUMEL = 1 << 16
"""Smallest tensor `pack_sparse` considers."""


def pack_sparse(t: torch.Tensor) -> torch.Tensor | dict:
    """A large floating-point tensor that is at least 3/4 exact zeros -> {PACKED: 1, shape, bits
    (uint8, the non-zero mask packed 8 per byte), values (its non-zero entries, CPU)}; anything
    else unchanged. `unpack_sparse` inverts it exactly (bit for bit, signed zeros aside)."""
    if not torch.is_tensor(t) or t.numel() < PACK_MIN_NUMEL or not t.is_floating_point():
        return t
    flat = t.detach().reshape(-1)
    nz = flat != 0
    if int(nz.sum()) * 4 > flat.numel():
        return t
    pad = (-flat.numel()) % 8
    bits = torch.cat([nz, nz.new_zeros(pad)]).reshape(-1, 8).to(torch.uint8)
    bits = (bits << torch.arange(8, dtype=torch.uint8, device=bits.device)).sum(1, dtype=torch.uint8)
    return {PACKED: 1, "shape": list(t.shape), "bits": bits.cpu(), "values": flat[nz].cpu()}


def unpack_sparse(obj):
    """Inverse of `pack_sparse` (other objects unchanged)."""
    if not (isinstance(obj, dict) and obj.get(PACKED) == 1):
        return obj
    n = math.prod(int(d) for d in obj["shape"])
    bits = obj["bits"][:, None] >> torch.arange(8, dtype=torch.uint8)
    nz = (bits & 1).bool().reshape(-1)[:n]
    values = obj["values"]
    out = torch.zeros(n, dtype=values.dtype)
    out[nz] = values
    return out.reshape(obj["shape"])


def _map_optimizer_state(opt_state: dict, fn) -> dict:
    state = {k: {name: fn(v) for name, v in per.items()} for k, per in opt_state.get("state", {}).items()}
    return {**opt_state, "state": state}


def save_checkpoint(path: str | os.PathLike, payload: dict) -> Path:
    """Atomically write `payload` to `path` (the optimizer state's mostly-zero tensors packed)."""
    if isinstance(payload.get("optimizer"), dict):
        payload = {**payload, "optimizer": _map_optimizer_state(payload["optimizer"], pack_sparse)}
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
    if isinstance(ckpt["optimizer"], dict):
        ckpt["optimizer"] = _map_optimizer_state(ckpt["optimizer"], unpack_sparse)
    return ckpt
