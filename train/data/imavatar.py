"""Reader for subjects in the IMavatar / PointAvatar layout (reference spec 1.1-1.6).

```
<root>/<video>/flame_params.json     intrinsics, shape_params, frames[] (see spec 1.2)
<root>/<video>/image/<k>.png|.jpg    RGB, k = 1-based frame number from `file_path`
<root>/<video>/mask/<k>.png|.jpg     soft foreground matte (grey 0..255)
```

Conventions (`train.conventions`): K in pixels at the loaded resolution with **negative fx**
(IMavatar's encoding of the x flip; legacy pixel intrinsics with cy > 1 are normalised first);
`world_mat` (3x4 or 4x4) is world->camera; c2w is its inverse. `bbox` and `flame_keypoints` are
converted from IMavatar's normalised coordinates `2 u / size - 1` to pixels at `img_res`.
Masks follow BakedAvatar: resized as floats, then values < 0.5 -> 0 and > 0.99 -> 1 (soft in
between). Frame selection (`subsample`) is BakedAvatar's, per video: an int `s` keeps frames whose
0-based in-video index `k - 1` is a multiple of `s`; a list keeps those 0-based indices.

Malformed input raises `DatasetError` naming the file and the field.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Sequence

import numpy as np
from PIL import Image
from tqdm import tqdm

from train.conventions import N_POSE, intrinsics_from_normalized, w2c_from_world_mat

IMAGE_EXTS = (".png", ".jpg")
TOP_KEYS = {"intrinsics", "shape_params", "frames"}
FRAME_REQUIRED = {"file_path", "world_mat", "expression", "pose", "bbox"}
FRAME_OPTIONAL = {"flame_keypoints"}
MASK_ZERO_BELOW = 0.5
MASK_ONE_ABOVE = 0.99


class DatasetError(ValueError):
    """Malformed dataset input; the message names the file and the field."""


@dataclass
class SubjectFrames:
    """All selected frames of a subject, in video order then frame order. N frames at (H, W)."""

    images: np.ndarray  # (N,H,W,3) uint8 RGB
    masks: np.ndarray  # (N,H,W) float16 in [0,1] (soft; half precision halves the memory)
    K: np.ndarray  # (N,3,3) float64, pixels at (H, W), fx < 0
    w2c: np.ndarray  # (N,4,4) float64 world -> camera (OpenGL axes, camera looks along -z)
    c2w: np.ndarray  # (N,4,4) float64 camera -> world
    expression: np.ndarray  # (N,n_exp) float32
    pose: np.ndarray  # (N,15) float32
    bbox: np.ndarray  # (N,4) float32 [xmin, ymin, xmax, ymax] pixels
    keypoints: np.ndarray | None  # (N,P,2) float32 pixels, when every frame has flame_keypoints
    video: list[str]  # (N,) video folder name per frame
    frame: np.ndarray  # (N,) int64 1-based frame number within its video
    shape_params: np.ndarray  # (S,) float32 identity coefficients (100 in IMavatar data)
    videos: list[str]  # the video names in order
    img_res: tuple[int, int]  # (H, W)
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)  # RGB the ground truth composites over

    def __len__(self) -> int:
        return int(self.images.shape[0])


def _fail(path: Path, field: str, msg: str) -> DatasetError:
    return DatasetError(f"{path}: field '{field}': {msg}")


def _array(value, path: Path, field: str, shapes: Sequence[tuple[int | None, ...]]) -> np.ndarray:
    """JSON value -> finite float64 array whose shape matches one of `shapes` (None = any)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise _fail(path, field, f"must be numbers; got {str(value)[:60]}") from exc
    ok = any(arr.ndim == len(s) and all(d is None or d == n for d, n in zip(s, arr.shape)) for s in shapes)
    if not ok:
        want = " or ".join("x".join("N" if d is None else str(d) for d in s) for s in shapes)
        raise _fail(path, field, f"must have shape {want}; got {'x'.join(map(str, arr.shape)) or 'scalar'}")
    if not np.isfinite(arr).all():
        raise _fail(path, field, "contains NaN or inf")
    return arr


def _check_keys(obj, path: Path, where: str, required: set[str], optional: set[str]) -> None:
    if not isinstance(obj, dict):
        raise _fail(path, where, f"must be an object; got {type(obj).__name__}")
    missing = sorted(required - obj.keys())
    extra = sorted(obj.keys() - required - optional)
    if missing:
        raise _fail(path, f"{where}.{missing[0]}" if where else missing[0], "missing")
    if extra:
        raise _fail(path, f"{where}.{extra[0]}" if where else extra[0], f"unknown key (allowed: {sorted(required | optional)})")


def _frame_number(file_path, path: Path, field: str) -> tuple[int, str]:
    """'./image/17' -> (17, 'image')."""
    if not isinstance(file_path, str):
        raise _fail(path, field, f"must be a string like './image/17'; got {file_path!r}")
    p = PurePosixPath(file_path.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts:
        raise _fail(path, field, f"must be relative to the video folder; got {file_path!r}")
    if not p.name.isdigit() or int(p.name) < 1:
        raise _fail(path, field, f"basename must be a 1-based frame number; got {file_path!r}")
    return int(p.name), str(p.parent)


def _find_image(folder: Path, k: int, field: str, params: Path) -> Path:
    for ext in IMAGE_EXTS:
        cand = folder / f"{k}{ext}"
        if cand.is_file():
            return cand
    raise _fail(params, field, f"frame {k}: no {folder / str(k)}.png or .jpg")


def _open(path: Path, mode: str, field: str) -> Image.Image:
    try:
        with Image.open(path) as im:
            im.load()
            return im.convert(mode)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise _fail(path, field, f"unreadable image ({exc.__class__.__name__}: {exc})") from exc


def load_image(path: Path, img_res: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """RGB file -> ((H,W,3) uint8 at img_res, native (H, W))."""
    im = _open(path, "RGB", "image")
    native = (im.height, im.width)
    if native != tuple(img_res):
        im = im.resize((img_res[1], img_res[0]), Image.BILINEAR)
    return np.asarray(im, dtype=np.uint8), native


def load_mask(path: Path, img_res: tuple[int, int],
              thresholds: tuple[float, float] = (MASK_ZERO_BELOW, MASK_ONE_ABOVE)) -> tuple[np.ndarray, tuple[int, int]]:
    """Grey matte file -> ((H,W) float32 soft mask at img_res, native (H, W)).

    Values below `thresholds[0]` become 0 and above `thresholds[1]` become 1 (BakedAvatar's
    clean-up of estimated mattes by default; (0, 1) keeps an exact matte as it is).
    8-bit mattes (any mode; colour is converted to grey) and 16-bit grey mattes are accepted.
    """
    try:
        with Image.open(path) as raw:
            raw.load()
            sixteen = raw.mode in ("I;16", "I;16B", "I;16L", "I")
            m = raw.convert("F") if sixteen else raw.convert("L").convert("F")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise _fail(path, "mask", f"unreadable image ({exc.__class__.__name__}: {exc})") from exc
    native = (m.height, m.width)
    if native != tuple(img_res):
        m = m.resize((img_res[1], img_res[0]), Image.BILINEAR)
    a = np.asarray(m, dtype=np.float32) / (65535.0 if sixteen else 255.0)
    lo, hi = thresholds
    a = np.where(a < lo, 0.0, np.where(a > hi, 1.0, a)).astype(np.float32)
    return a, native


def select_indices(indices: Sequence[int], subsample: int | Sequence[int]) -> list[bool]:
    """BakedAvatar per-video selection on 0-based in-video indices -> keep flags."""
    if isinstance(subsample, bool) or not isinstance(subsample, (int, list, tuple)):
        raise ValueError(f"subsample must be an int >= 1 or a list of 0-based indices; got {subsample!r}")
    if isinstance(subsample, int):
        if subsample < 1:
            raise ValueError(f"subsample must be >= 1; got {subsample}")
        return [i % subsample == 0 for i in indices]
    wanted = set()
    for s in subsample:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ValueError(f"subsample list entries must be ints >= 0; got {s!r}")
        wanted.add(s)
    return [i in wanted for i in indices]


def read_flame_params(video_dir: Path, n_exp: int) -> dict:
    """Parse and validate `<video_dir>/flame_params.json` (no images). Returns plain arrays."""
    path = video_dir / "flame_params.json"
    if not path.is_file():
        hint = "" if video_dir.is_dir() else f" (no video folder {video_dir})"
        nested = video_dir.parent / video_dir.parent.name / video_dir.name / "flame_params.json"
        if nested.is_file():  # IMavatar's own loaders repeat the subject name: <root>/<subject>/<subject>/<video>
            hint += f"; found {nested}: set the data root to {nested.parent.parent}"
        raise _fail(path, "flame_params.json", "file not found" + hint)
    try:
        obj = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(path, "flame_params.json", f"not valid JSON ({exc})") from exc
    _check_keys(obj, path, "", TOP_KEYS, set())
    intr = _array(obj["intrinsics"], path, "intrinsics", [(4,)])
    if intr[0] == 0 or intr[1] == 0:
        raise _fail(path, "intrinsics", f"focal lengths must be non-zero; got {intr.tolist()}")
    shape = _array(obj["shape_params"], path, "shape_params", [(None,)])
    frames = obj["frames"]
    if not isinstance(frames, list):
        raise _fail(path, "frames", f"must be a list; got {type(frames).__name__}")
    if not frames:
        raise _fail(path, "frames", "empty video: no frames")
    out = {k: [] for k in ("k", "image_dir", "world_mat", "expression", "pose", "bbox", "keypoints")}
    for i, fr in enumerate(frames):
        where = f"frames[{i}]"
        _check_keys(fr, path, where, FRAME_REQUIRED, FRAME_OPTIONAL)
        k, parent = _frame_number(fr["file_path"], path, f"{where}.file_path")
        wm = _array(fr["world_mat"], path, f"{where}.world_mat", [(3, 4), (4, 4)])
        if wm.shape == (4, 4) and not np.allclose(wm[3], [0, 0, 0, 1]):
            raise _fail(path, f"{where}.world_mat", f"4x4 last row must be [0,0,0,1]; got {wm[3].tolist()}")
        if abs(np.linalg.det(wm[:3, :3])) < 1e-12:
            raise _fail(path, f"{where}.world_mat", "rotation block is singular")
        expr = _array(fr["expression"], path, f"{where}.expression", [(None,)])
        if expr.shape[0] < n_exp:
            raise _fail(path, f"{where}.expression", f"needs at least n_exp={n_exp} values; got {expr.shape[0]}")
        pose = _array(fr["pose"], path, f"{where}.pose", [(N_POSE,)])
        bbox = _array(fr["bbox"], path, f"{where}.bbox", [(4,)])
        kp = None
        if "flame_keypoints" in fr:
            kp = _array(fr["flame_keypoints"], path, f"{where}.flame_keypoints", [(None, 2)])
        values = {"k": k, "image_dir": parent, "world_mat": wm, "expression": expr[:n_exp], "pose": pose, "bbox": bbox}
        for key, val in {**values, "keypoints": kp}.items():
            out[key].append(val)
    ks = out["k"]
    if len(set(ks)) != len(ks):
        dup = next(k for k in ks if ks.count(k) > 1)
        raise _fail(path, "frames", f"frame number {dup} appears twice")
    kps = out["keypoints"]
    if any(kp is not None for kp in kps) and len({None if kp is None else kp.shape for kp in kps}) != 1:
        raise _fail(path, "frames.flame_keypoints", "must be present in every frame with the same count")
    out["intrinsics"], out["shape_params"], out["path"] = intr, shape, path
    return out


def _mask_dir(image_dir: str, path: Path, field: str) -> str:
    parts = PurePosixPath(image_dir).parts
    if "image" not in parts:
        raise _fail(path, field, f"images must live in an 'image' folder (mask path is derived from it); got {image_dir!r}")
    return str(PurePosixPath(*["mask" if p == "image" else p for p in parts]))


def _to_pixels(norm: np.ndarray, img_res: tuple[int, int]) -> np.ndarray:
    """IMavatar normalised coordinates (..., 2k) ordered x, y, x, y... -> pixels at img_res."""
    H, W = img_res
    scale = np.tile([W / 2.0, H / 2.0], norm.shape[-1] // 2)
    return (norm + 1.0) * scale


def read_subject(
    root: str | Path,
    videos: Sequence[str],
    subsample: int | Sequence[int] = 1,
    img_res: tuple[int, int] = (512, 512),
    background: Sequence[float] = (1.0, 1.0, 1.0),
    n_exp: int = 50,
    progress: bool = True,
    mask_thresholds: Sequence[float] = (MASK_ZERO_BELOW, MASK_ONE_ABOVE),
    max_frames: int | None = None,
) -> SubjectFrames:
    """Load the selected frames of `videos` under `root` (IMavatar layout) into memory.

    `max_frames` keeps only the first that many selected frames (in video, then frame order), so
    tools that look at a few frames decode only those; None keeps all.

    `img_res` is (H, W); images are resized (PIL bilinear) when their size differs.
    `background` is kept for `ImavatarDataset` (SubjectFrames holds the raw RGB).
    `mask_thresholds` (low, high): matte values below low become 0, above high 1 (`load_mask`).
    """
    root = Path(root)
    H, W = (int(v) for v in img_res)
    if H <= 0 or W <= 0:
        raise ValueError(f"img_res must be (H, W) positive; got {img_res}")
    if len(tuple(background)) != 3:
        raise ValueError(f"background must be 3 floats; got {background}")
    if isinstance(videos, str) or not videos:
        raise ValueError(f"videos must be a non-empty list of folder names; got {videos!r}")
    if n_exp <= 0:
        raise ValueError(f"n_exp must be positive; got {n_exp}")
    if max_frames is not None and (isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 1):
        raise ValueError(f"max_frames must be an int >= 1 or None; got {max_frames!r}")
    lo, hi = (float(v) for v in mask_thresholds)
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"mask_thresholds must be (low, high) with 0 <= low <= high <= 1; got {tuple(mask_thresholds)}")
    plan, shape_params = [], None
    for video in videos:
        fp = read_flame_params(root / video, n_exp)
        keep = select_indices([k - 1 for k in fp["k"]], list(subsample) if not isinstance(subsample, int) else subsample)
        K = intrinsics_from_normalized(fp["intrinsics"], W, H)
        if shape_params is None:
            shape_params = fp["shape_params"]
        for i, k in enumerate(fp["k"]):
            if keep[i]:
                plan.append((video, fp, i, k, K, _mask_dir(fp["image_dir"][i], fp["path"], f"frames[{i}].file_path")))
    if not plan:
        raise DatasetError(f"{root}: field 'subsample': selects no frame of videos {list(videos)} (subsample={subsample!r})")
    plan = plan[:max_frames]
    N = len(plan)
    images = np.empty((N, H, W, 3), dtype=np.uint8)
    masks = np.empty((N, H, W), dtype=np.float16)
    # every file is located first, so a missing frame fails fast, before any decoding
    files = []
    for video, fp, i, k, _, mask_dir in plan:
        vdir = root / video
        img_path = _find_image(vdir / fp["image_dir"][i], k, f"frames[{i}].file_path", fp["path"])
        files.append((img_path, _find_image(vdir / mask_dir, k, f"frames[{i}] mask", fp["path"])))

    def decode(n: int) -> None:
        img_path, mask_path = files[n]
        images[n], native_img = load_image(img_path, (H, W))
        mask, native_mask = load_mask(mask_path, (H, W), (lo, hi))
        if native_img != native_mask:
            (mh, mw), (ih, iw) = native_mask, native_img
            raise _fail(mask_path, "mask", f"size {mw}x{mh} differs from image {img_path.name} {iw}x{ih}")
        masks[n] = mask

    # PIL releases the GIL while decoding: a few threads keep the cores busy on big subjects
    workers = max(1, min(8, os.cpu_count() or 1, N // 8))
    with ThreadPoolExecutor(workers) as pool:
        for _ in tqdm(pool.map(decode, range(N)), total=N, desc=f"loading {root.name}", unit="frame", disable=not progress):
            pass
    w2c = np.stack([w2c_from_world_mat(fp["world_mat"][i]) for (_, fp, i, *_r) in plan])
    kps = [fp["keypoints"][i] for (_, fp, i, *_r) in plan]
    keypoints = None
    if all(kp is not None for kp in kps) and len({kp.shape for kp in kps}) == 1:
        keypoints = _to_pixels(np.stack(kps).reshape(N, -1), (H, W)).reshape(N, -1, 2).astype(np.float32)
    return SubjectFrames(
        images=images,
        masks=masks,
        K=np.stack([p[4] for p in plan]),
        w2c=w2c,
        c2w=np.linalg.inv(w2c),
        expression=np.stack([fp["expression"][i] for (_, fp, i, *_r) in plan]).astype(np.float32),
        pose=np.stack([fp["pose"][i] for (_, fp, i, *_r) in plan]).astype(np.float32),
        bbox=_to_pixels(np.stack([fp["bbox"][i] for (_, fp, i, *_r) in plan]), (H, W)).astype(np.float32),
        keypoints=keypoints,
        video=[p[0] for p in plan],
        frame=np.array([p[3] for p in plan], dtype=np.int64),
        shape_params=np.asarray(shape_params, dtype=np.float32),
        videos=list(videos),
        img_res=(H, W),
        background=tuple(float(c) for c in background),
    )
