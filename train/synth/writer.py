"""IMavatar-layout files of one synthetic video (reference spec section 1).

`flame_params.json`: normalised intrinsics with negative fx, 100 zero shape params, per frame
`file_path` "./image/<k>" (k 1-based), `world_mat` 3x4 `[I | t]`, `expression` (50, our n_exp
components zero padded), `pose` (15), `bbox` and `flame_keypoints` (68 projected landmarks) in
normalised coordinates `2 * u_px / size - 1`.
Ground truth for evaluation goes to `gt/` (see `docs/formats.md`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from train.conventions import intrinsics_from_normalized, srgb_to_uint8, w2c_from_world_mat

N_FLAME_EXPRESSION = 50
N_SHAPE_PARAMS = 100
PNG_LEVEL = 1  # fast zlib level: the frames are noise-rich, higher levels save little


def camera(focal: float, translation) -> tuple[list[float], np.ndarray]:
    """IMavatar camera: normalised intrinsics [-f, f, 0.5, 0.5] and world_mat (3, 4) = [I | t]."""
    world_mat = np.concatenate([np.eye(3), np.asarray(translation, dtype=np.float64).reshape(3, 1)], 1)
    return [-float(focal), float(focal), 0.5, 0.5], world_mat


def pixel_camera(intrinsics, world_mat, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(K (3, 3) pixels with fx < 0, w2c (4, 4)) exactly as a reader derives them."""
    return intrinsics_from_normalized(intrinsics, size, size), w2c_from_world_mat(world_mat)


def normalised(px: np.ndarray, size: int) -> np.ndarray:
    """Continuous pixel coordinates (..., 2) -> IMavatar normalised coordinates 2 u / size - 1."""
    return 2.0 * np.asarray(px, dtype=np.float64) / size - 1.0


def frame_record(k: int, expression: np.ndarray, pose: np.ndarray, world_mat: np.ndarray, keypoints_px: np.ndarray, size: int) -> dict:
    """One `frames` entry; k is the 1-based frame number, keypoints_px (68, 2) continuous pixels."""
    expr = np.zeros(N_FLAME_EXPRESSION)
    n = min(len(expression), N_FLAME_EXPRESSION)
    expr[:n] = np.asarray(expression, dtype=np.float64)[:n]
    kp = normalised(keypoints_px, size)
    bbox = [float(kp[:, 0].min()), float(kp[:, 1].min()), float(kp[:, 0].max()), float(kp[:, 1].max())]
    return {
        "file_path": f"./image/{k}",
        "world_mat": np.asarray(world_mat, dtype=np.float64)[:3, :4].tolist(),
        "expression": expr.tolist(),
        "pose": np.asarray(pose, dtype=np.float64).tolist(),
        "bbox": bbox,
        "flame_keypoints": kp.tolist(),
    }


def flame_params(intrinsics: list[float], frames: list[dict]) -> dict:
    """The whole `flame_params.json` object of one video."""
    return {"intrinsics": list(intrinsics), "shape_params": [0.0] * N_SHAPE_PARAMS, "frames": frames}


def write_json(path: Path, obj, indent: int | None = None) -> None:
    """JSON file (compact unless indent is given: flame_params of 600 frames stays small)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=indent, separators=None if indent else (",", ":")))


def save_rgb(path: Path, image: np.ndarray) -> None:
    """(H, W, 3) floats in [0, 1] -> 8-bit RGB PNG."""
    Image.fromarray(srgb_to_uint8(image), "RGB").save(path, compress_level=PNG_LEVEL)


def save_gray8(path: Path, value: np.ndarray) -> None:
    """(H, W) floats in [0, 1] -> 8-bit grey PNG (0..255)."""
    Image.fromarray(srgb_to_uint8(value), "L").save(path, compress_level=PNG_LEVEL)


def save_gray16(path: Path, value: np.ndarray) -> None:
    """(H, W) non-negative values already scaled to [0, 65535] -> 16-bit grey PNG."""
    v = np.clip(np.rint(np.asarray(value, dtype=np.float64)), 0, 65535).astype(np.uint16)
    Image.fromarray(v).save(path, compress_level=PNG_LEVEL)


def read_gray16(path: Path) -> np.ndarray:
    """16-bit grey PNG -> (H, W) uint16 (the inverse of save_gray16)."""
    return np.asarray(Image.open(path), dtype=np.uint16)
