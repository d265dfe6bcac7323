"""Tracked FLAME sequences from IMavatar `flame_params.json` files (spec 1.2) for animations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from export.artifact import ArtifactError
from train.conventions import intrinsics_from_normalized, w2c_from_world_mat


def sequence_name(path: Path) -> str:
    """`<subject>/<video>/flame_params.json` -> `<subject>_<video>` (BakedAvatar's naming)."""
    path = Path(path).resolve()
    return f"{path.parent.parent.name}_{path.parent.name}".strip("_")


def load_flame_params(path, n_exp: int, width: int = 512, height: int = 512) -> tuple[str, dict, dict]:
    """Read one flame_params.json -> (name, {'expression' (N, n_exp), 'pose' (N, 15)}, camera).

    Errors name the file and the field. The camera (K in pixels at width x height, w2c of the
    first frame) is what `--from-bakedavatar` uses when no artifact camera exists.
    """
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: sequence file not found")
    try:
        d = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path}: not valid JSON ({exc})") from None
    frames = d.get("frames") if isinstance(d, dict) else None
    if not isinstance(frames, list) or not frames:
        raise ArtifactError(f"{path}: field 'frames' must be a non-empty list")
    expr, pose = [], []
    for i, fr in enumerate(frames):
        e, p = fr.get("expression") if isinstance(fr, dict) else None, fr.get("pose") if isinstance(fr, dict) else None
        if not isinstance(e, list) or len(e) < n_exp:
            raise ArtifactError(f"{path}: frames[{i}].expression must be a list of >= {n_exp} numbers")
        if not isinstance(p, list) or len(p) != 15:
            raise ArtifactError(f"{path}: frames[{i}].pose must be a list of 15 numbers")
        expr.append(e[:n_exp])
        pose.append(p)
    try:
        ex, po = np.asarray(expr, np.float32), np.asarray(pose, np.float32)
    except (TypeError, ValueError):
        raise ArtifactError(f"{path}: frames[*].expression/pose must hold numbers only") from None
    if not (np.isfinite(ex).all() and np.isfinite(po).all()):
        raise ArtifactError(f"{path}: frames[*].expression/pose contain NaN or inf")
    camera = {}
    if "intrinsics" in d and "world_mat" in frames[0]:
        K = intrinsics_from_normalized(d["intrinsics"], width, height)
        camera = {"K": K.tolist(), "w2c": w2c_from_world_mat(frames[0]["world_mat"]).tolist(), "width": width, "height": height}
    return sequence_name(path), {"expression": ex, "pose": po}, camera
