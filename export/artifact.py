"""The baked avatar artifact: the contract between `bake` (writer) and `export` (reader).

A folder with two files, readable without pickle and without any torch model:
  avatar.json          metadata (format, version, sizes, layers, camera, sequence names)
  avatar.safetensors   every array, keyed as listed in `LAYER_ARRAYS` / `TOP_ARRAYS`

Layers are ordered inner (index 0, opaque) to outer. Vertices are in the morphable model's
*original* space (zero pose, zero expression): playback needs no canonical parameters.
Vertices are already split at UV seams, so one index buffer serves every attribute.
See docs/formats.md for the meaning of every field.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

FORMAT = "headbake-artifact"
VERSION = 1
JSON_NAME = "avatar.json"
TENSOR_NAME = "avatar.safetensors"

# name -> (dtype, shape pattern); V vertices, F faces, E n_exp, J joints, H/W texture, D pos dim, K bases
LAYER_ARRAYS = {
    "vertices": (np.float32, ("V", 3)),
    "faces": (np.int32, ("F", 3)),
    "uvs": (np.float32, ("V", 2)),
    "normals": (np.float32, ("V", 3)),
    "expr_basis": (np.float32, ("V", "E", 3)),
    "pose_basis": (np.float32, ("V", 36, 3)),
    "skin_weights": (np.float32, ("V", "J")),
    "pos_texture": (np.uint8, ("H", "W", "D")),
    "radiance": (np.uint8, ("K", "H", "W", 4)),
}
# optional, both or neither: first-order normal blendshapes (stage 1's `model.normal_blendshapes`);
# playback turns the normal by them before skinning (docs/formats.md)
NORMAL_BLEND_ARRAYS = {
    "normal_expr": (np.float32, ("V", "E", 3)),
    "normal_pose": (np.float32, ("V", 36, 3)),
}
TOP_ARRAYS = {
    "joints_template": (np.float32, (5, 3)),
    "joints_expr_basis": (np.float32, (5, 3, "E")),
}


class ArtifactError(ValueError):
    """The artifact is missing, truncated or inconsistent; the message names file and field."""


@dataclass
class Layer:
    name: str
    level: float
    opaque: bool
    arrays: dict[str, np.ndarray]

    def __getattr__(self, key):  # layer.vertices etc.
        arrays = self.__dict__.get("arrays", {})
        if key in arrays:
            return arrays[key]
        raise AttributeError(key)


@dataclass
class Artifact:
    """In-memory baked avatar. `meta` is the JSON minus the layer/sequence lists."""

    meta: dict
    layers: list[Layer]
    joints_template: np.ndarray
    joints_expr_basis: np.ndarray
    frame_mlp: dict[str, np.ndarray]
    """FrameMLP state dict (train.shading.FrameMLP), float32."""
    sequences: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    """name -> {'expression': (N, n_exp), 'pose': (N, 15)} tracked sequences for animations."""

    @property
    def n_exp(self) -> int:
        return int(self.meta["shading"]["n_exp"])

    @property
    def n_joints(self) -> int:
        return len(self.meta["joint_names"])


def _check_array(where: str, arr: np.ndarray, dtype, pattern, dims: dict) -> None:
    if arr.dtype != dtype:
        raise ArtifactError(f"{where} must have dtype {np.dtype(dtype).name}; got {arr.dtype}")
    if arr.ndim != len(pattern):
        raise ArtifactError(f"{where} must have shape {pattern}; got {arr.shape}")
    for size, want in zip(arr.shape, pattern):
        if isinstance(want, int):
            if size != want:
                raise ArtifactError(f"{where} must have shape {pattern}; got {arr.shape}")
        elif dims.setdefault(want, size) != size:
            raise ArtifactError(f"{where}: dimension {want} is {size} but {dims[want]} elsewhere; shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ArtifactError(f"{where} contains NaN or inf")


def validate(art: Artifact, where: str = "artifact") -> None:
    """Shapes, dtypes, finiteness, index ranges and skin-weight sums."""
    dims = {"E": art.n_exp, "J": art.n_joints}
    for name, (dtype, pattern) in TOP_ARRAYS.items():
        _check_array(f"{where}: {name}", getattr(art, name), dtype, pattern, dict(dims))
    for key, arr in art.frame_mlp.items():
        if not np.isfinite(arr).all():
            raise ArtifactError(f"{where}: frame_mlp.{key} contains NaN or inf")
    if not art.layers:
        raise ArtifactError(f"{where}: no layers")
    for i, layer in enumerate(art.layers):
        ldims = dict(dims)
        for name, (dtype, pattern) in LAYER_ARRAYS.items():
            if name not in layer.arrays:
                raise ArtifactError(f"{where}: layer {i} ({layer.name}) lacks {name}")
            _check_array(f"{where}: layers[{i}].{name}", layer.arrays[name], dtype, pattern, ldims)
        present = [name for name in NORMAL_BLEND_ARRAYS if name in layer.arrays]
        if present and len(present) != len(NORMAL_BLEND_ARRAYS):
            raise ArtifactError(f"{where}: layer {i} ({layer.name}) has {present[0]} without "
                                f"{[n for n in NORMAL_BLEND_ARRAYS if n not in present][0]}")
        for name in present:
            dtype, pattern = NORMAL_BLEND_ARRAYS[name]
            _check_array(f"{where}: layers[{i}].{name}", layer.arrays[name], dtype, pattern, ldims)
        faces = layer.arrays["faces"]
        if faces.size and (faces.min() < 0 or faces.max() >= ldims["V"]):
            raise ArtifactError(f"{where}: layers[{i}].faces index outside [0, {ldims['V']})")
        w = layer.arrays["skin_weights"]
        if np.abs(w.sum(axis=1) - 1.0).max(initial=0.0) > 1e-3:
            raise ArtifactError(f"{where}: layers[{i}].skin_weights rows must sum to 1")
    for name, seq in art.sequences.items():
        if seq["expression"].shape[0] != seq["pose"].shape[0] or seq["pose"].shape[1:] != (15,):
            raise ArtifactError(f"{where}: sequence {name} has mismatched expression/pose shapes")
        for k, v in seq.items():
            if not np.isfinite(v).all():
                raise ArtifactError(f"{where}: sequence {name}.{k} contains NaN or inf")


def save_artifact(art: Artifact, folder: str | os.PathLike, extras: dict[str, bytes] | None = None) -> Path:
    """Write atomically: build in a sibling temp folder, then swap it in place of `folder`.

    `extras` maps relative paths (e.g. "previews/layers.png", "config.yaml") to file contents
    written into the folder before the swap, so they appear together with the artifact.
    """
    validate(art)
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        tensors = {name: np.ascontiguousarray(getattr(art, name)) for name in TOP_ARRAYS}
        for k, v in art.frame_mlp.items():
            tensors[f"frame_mlp.{k}"] = np.ascontiguousarray(v, dtype=np.float32)
        for i, layer in enumerate(art.layers):
            for k, v in layer.arrays.items():
                tensors[f"layers.{i}.{k}"] = np.ascontiguousarray(v)
        for name, seq in art.sequences.items():
            for k, v in seq.items():
                tensors[f"sequences.{name}.{k}"] = np.ascontiguousarray(v, dtype=np.float32)
        save_file(tensors, str(tmp / TENSOR_NAME))
        meta = dict(art.meta)
        meta.update(
            format=FORMAT,
            version=VERSION,
            layers=[{"name": l.name, "level": float(l.level), "opaque": bool(l.opaque)} for l in art.layers],
            sequences=list(art.sequences),
            frame_mlp_keys=sorted(art.frame_mlp),
        )
        (tmp / JSON_NAME).write_text(json.dumps(meta, indent=1))
        for rel, data in (extras or {}).items():
            dest = (tmp / rel).resolve()
            if tmp.resolve() not in dest.parents or dest.name in (JSON_NAME, TENSOR_NAME):
                raise ValueError(f"extras path {rel!r} must be a relative path inside the artifact folder")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        # mkdtemp makes the folder private (0700); an artifact is ordinary readable data
        os.chmod(tmp, 0o755)
        for path in tmp.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def load_artifact(folder: str | os.PathLike) -> Artifact:
    """Read and validate; every failure is an ArtifactError naming the file and field."""
    folder = Path(folder)
    jpath, tpath = folder / JSON_NAME, folder / TENSOR_NAME
    if not folder.is_dir():
        raise ArtifactError(f"{folder}: artifact folder not found (run `python -m bake` first)")
    for p in (jpath, tpath):
        if not p.is_file():
            raise ArtifactError(f"{p}: missing file of the baked artifact")
    try:
        meta = json.loads(jpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{jpath}: not valid JSON ({exc})") from None
    if meta.get("format") != FORMAT:
        raise ArtifactError(f"{jpath}: field 'format' must be {FORMAT!r}; got {meta.get('format')!r}")
    if meta.get("version") != VERSION:
        raise ArtifactError(f"{jpath}: field 'version' must be {VERSION}; got {meta.get('version')!r}")
    for key in ("shading", "joint_names", "parents", "layers", "camera"):
        if key not in meta:
            raise ArtifactError(f"{jpath}: missing field {key!r}")
    try:
        t = load_file(str(tpath))
    except Exception as exc:  # safetensors raises several types for truncated files
        raise ArtifactError(f"{tpath}: unreadable safetensors file ({exc})") from None

    def take(key):
        if key not in t:
            raise ArtifactError(f"{tpath}: missing tensor {key!r}")
        return t[key]

    layers = [
        Layer(d["name"], d["level"], d["opaque"], {k: take(f"layers.{i}.{k}") for k in LAYER_ARRAYS}
              | {k: t[f"layers.{i}.{k}"] for k in NORMAL_BLEND_ARRAYS if f"layers.{i}.{k}" in t})
        for i, d in enumerate(meta["layers"])
    ]
    seqs = {n: {k: take(f"sequences.{n}.{k}") for k in ("expression", "pose")} for n in meta.get("sequences", [])}
    art = Artifact(
        meta={k: v for k, v in meta.items() if k not in ("layers", "sequences")},
        layers=layers,
        joints_template=take("joints_template"),
        joints_expr_basis=take("joints_expr_basis"),
        frame_mlp={k: take(f"frame_mlp.{k}") for k in meta.get("frame_mlp_keys", [])},
        sequences=seqs,
    )
    validate(art, where=str(folder))
    return art
