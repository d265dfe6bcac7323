"""BakedAvatar's `mesh_data.pkl` (spec 4.2) -> Artifact, without running pickled code.

Also reads the folder BakedAvatar's `unpack_pkl.py` makes of it (spec 6.1: metadata.json with
array descriptors + .npy files, textures as atlases), with `np.load(allow_pickle=False)` and every
path confined to that folder.

`torch.save` writes a zip whose `*/data.pkl` is a pickle of dicts, lists, numbers, numpy
arrays and possibly torch tensors (their bytes in `*/data/<key>`). We unpickle `data.pkl` with
an unpickler whose `find_class` admits only numpy's array/dtype/scalar reconstructors,
`_codecs.encode`, `collections.OrderedDict`, and torch's tensor/storage rebuild names, which we
map to our own functions building numpy arrays from the zip's raw storage bytes. Anything else
(`os.system`, `builtins.eval`, ...) is refused with an error naming the file and the global.
"""

from __future__ import annotations

import codecs
import collections
import pickle
import zipfile
from pathlib import Path

import numpy as np

from export.artifact import Artifact, ArtifactError, Layer, validate

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "IntStorage": np.int32, "LongStorage": np.int64, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}
_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")


class _StorageType:
    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)


def _rebuild_tensor(storage, offset, size, stride, *_):
    """torch._utils._rebuild_tensor_v2 stand-in: a numpy copy of the strided view."""
    item = storage.itemsize
    return np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size), strides=tuple(s * item for s in stride)).copy()


def _encode(obj, encoding="latin1"):
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode refused for encoding {encoding!r}")
    return codecs.encode(obj, "latin1")


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, zf: zipfile.ZipFile, prefix: str, where: str):
        super().__init__(file, encoding="latin1")
        self.zf, self.prefix, self.where = zf, prefix, where

    def find_class(self, module, name):
        if module in _NUMPY_MODULES and name in ("_reconstruct", "scalar"):
            try:
                from numpy._core import multiarray
            except ImportError:  # numpy < 2
                from numpy.core import multiarray
            return getattr(multiarray, name)
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        if module.startswith("numpy.dtypes") and name.endswith("DType"):
            import numpy.dtypes

            return getattr(numpy.dtypes, name)
        if module == "_codecs" and name == "encode":
            return _encode
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        raise ArtifactError(f"{self.where}: refusing to load global '{module}.{name}' (only numpy arrays and tensors are allowed)")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel)
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
            raise ArtifactError(f"{self.where}: unsupported persistent id {pid!r}")
        raw = self.zf.read(f"{self.prefix}data/{pid[2]}")
        return np.frombuffer(raw, pid[1].dtype, count=int(pid[4]))


def safe_load(path) -> dict:
    """Unpickle a torch zip file (or a plain pickle) with the restricted unpickler."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: mesh_data.pkl not found")
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith("data.pkl")]
            if not names:
                raise ArtifactError(f"{path}: zip archive without data.pkl (not a torch.save file)")
            prefix = names[0][: -len("data.pkl")]
            with zf.open(names[0]) as fh:
                return _Unpickler(fh, zf, prefix, str(path)).load()
    except zipfile.BadZipFile:
        with open(path, "rb") as fh:  # legacy (non-zip) pickles: same restrictions, no storages
            try:
                return _Unpickler(fh, None, "", str(path)).load()
            except ArtifactError:
                raise
            except Exception as exc:
                raise ArtifactError(f"{path}: not a readable mesh_data.pkl ({exc})") from None
    except ArtifactError:
        raise
    except Exception as exc:  # truncated zip members, bad pickle opcodes, ...
        raise ArtifactError(f"{path}: not a readable mesh_data.pkl ({exc})") from None


def _get(d: dict, key: str, where: str):
    if not isinstance(d, dict) or key not in d:
        raise ArtifactError(f"{where}: missing field {key!r}")
    return d[key]


def _arr(d, key, where, dtype=np.float32):
    v = _get(d, key, where)
    try:
        return np.ascontiguousarray(np.asarray(v, dtype=dtype))
    except (TypeError, ValueError):
        raise ArtifactError(f"{where}: field {key!r} must be a numeric array") from None


def duplicate_uv_vertices(faces, faces_uv, n_uv, arrays: dict) -> dict:
    """Re-index per-vertex arrays to the UV vertex set (spec 6.2): new[faces_uv] = old[faces]."""
    out = {}
    for k, a in arrays.items():
        new = np.zeros((n_uv,) + a.shape[1:], a.dtype)
        new[faces_uv.reshape(-1)] = a[faces.reshape(-1)]
        out[k] = new
    return out


def mesh_data_to_artifact(d: dict, where: str) -> Artifact:
    """A loaded mesh_data dict -> validated Artifact."""
    common = _get(d, "common", where)
    meshes = _get(d, "meshes", where)
    if not isinstance(meshes, list) or not meshes:
        raise ArtifactError(f"{where}: field 'meshes' must be a non-empty list")
    ghost = bool(_get(d, "ghostbone", where))
    v_t = _arr(common, "v_template", f"{where}: common")
    sd = _arr(common, "shapedirs", f"{where}: common")
    Jr = _arr(common, "J_regressor", f"{where}: common")
    joints_template = (Jr @ v_t).astype(np.float32)
    joints_expr = np.einsum("jv,vce->jce", Jr, sd).astype(np.float32)
    E = sd.shape[2]
    g = _get(d, "global_mlp", where)
    w = f"{where}: global_mlp"
    hidden, state, i = [], {}, 0
    while f"fc{i + 1}_weight" in g:
        state[f"hidden.{i}.weight"] = _arr(g, f"fc{i}_weight", w)
        state[f"hidden.{i}.bias"] = _arr(g, f"fc{i}_bias", w)
        state[f"acts.{i}.weight"] = _arr(g, f"act{i}_weight", w)
        hidden.append(state[f"hidden.{i}.weight"].shape[0])
        i += 1
    state["out.weight"] = _arr(g, f"fc{i}_weight", w)
    state["out.bias"] = _arr(g, f"fc{i}_bias", w)
    D = int(d.get("dim_pos_feature", 8))
    K = int(d.get("num_texture_basis", 16))
    P = state["out.bias"].shape[0]
    mid = P // (D + 6 + K)
    if mid * (D + 6 + K) != P:
        raise ArtifactError(f"{where}: global_mlp output {P} is not (D+6)*h + h*K for D={D}, K={K}")
    if state["hidden.0.weight"].shape[1] != 9 + E:
        raise ArtifactError(f"{where}: global_mlp fc0 takes {state['hidden.0.weight'].shape[1]} inputs; expected 9 + n_exp = {9 + E}")
    layers = []
    for li, m in enumerate(meshes):
        mw = f"{where}: meshes[{li}]"
        faces = _arr(m, "faces", mw, np.int32)
        per_v = {
            "vertices": _arr(m, "vertices", mw), "normals": _arr(m, "normals", mw),
            "expr_basis": _arr(m, "shapedirs", mw), "pose_basis": _arr(m, "posedirs", mw),
            "skin_weights": _arr(m, "lbs_weights", mw),
        }
        uvs = _arr(m, "uvs", mw)
        faces_uv = _arr(m, "faces_uv", mw, np.int32) if "faces_uv" in m else faces
        if faces_uv.shape != faces.shape:
            raise ArtifactError(f"{mw}: faces_uv shape {faces_uv.shape} != faces shape {faces.shape}")
        if faces.size and (faces.max() >= per_v["vertices"].shape[0] or faces_uv.max() >= uvs.shape[0] or min(faces.min(), faces_uv.min()) < 0):
            raise ArtifactError(f"{mw}: faces or faces_uv index outside the vertex/uv arrays")
        if not np.array_equal(faces, faces_uv) or uvs.shape[0] != per_v["vertices"].shape[0]:
            per_v = duplicate_uv_vertices(faces, faces_uv, uvs.shape[0], per_v)
            # UV vertices no face uses carry no attributes: drop them and re-index
            used = np.unique(faces_uv)
            remap = np.full(uvs.shape[0], -1, np.int64)
            remap[used] = np.arange(used.size)
            per_v = {k: v[used] for k, v in per_v.items()}
            uvs, faces_uv = uvs[used], remap[faces_uv].astype(np.int32)
        w_ = per_v["skin_weights"]
        per_v["skin_weights"] = (w_ / np.maximum(w_.sum(1, keepdims=True), 1e-12)).astype(np.float32)
        rad = _arr(m, "radiance_textures", mw, np.uint8).copy()
        if li == 0:
            rad[..., 3] = 255  # spec 5.5: the innermost layer is opaque (fixes the stage-3 export bug)
        layers.append(Layer(f"mesh_{li}", float(_get(m, "level", mw)), li == 0, {
            **per_v, "faces": faces_uv, "uvs": uvs,
            "pos_texture": _arr(m, "position_texture", mw, np.uint8), "radiance": rad,
        }))
    names = (["ghost"] if ghost else []) + ["root", "neck", "jaw", "eye_left", "eye_right"]
    parents = [-1, -1, 1, 2, 2, 2] if ghost else [-1, 0, 1, 1, 1]
    meta = {
        "name": "bakedavatar",
        "shading": {"n_exp": E, "dim_pos_feature": D, "num_texture_basis": K,
                    "temperature": float(d.get("spatial_mlp_temperature", 10.0)),
                    "frame_hidden": hidden, "pixel_hidden": [mid]},
        "joint_names": names, "parents": parents, "ghostbone": ghost,
        # BakedAvatar exports no camera (spec 7.7): IMavatar's usual one, replaced by --sequence's
        "camera": {"K": [[-2.2 * 512, 0, 256], [0, 2.2 * 512, 256], [0, 0, 1]],
                   "w2c": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, -4.0], [0, 0, 0, 1]], "width": 512, "height": 512},
        "source": {"converter": "export.bakedavatar"},
    }
    art = Artifact(meta, layers, joints_template, joints_expr, state, {})
    validate(art, where)
    return art


def load_mesh_data(path, sequences: list[str] = ()) -> Artifact:
    """`python -m export --from-bakedavatar PATH [--sequence flame_params.json ...]`.

    PATH: a mesh_data.pkl, or the folder unpack_pkl.py made of one (metadata.json + .npy)."""
    from export.sequences import load_flame_params

    path = Path(path)
    data = load_unpacked(path) if path.is_dir() else safe_load(path)
    art = mesh_data_to_artifact(data, str(path))
    for sp in sequences:
        name, seq, cam = load_flame_params(sp, art.n_exp)
        art.sequences[name] = seq
        if cam and art.meta["source"].get("camera") is None:
            art.meta["camera"] = cam
            art.meta["source"]["camera"] = str(sp)
    validate(art, str(path))
    return art


# -- the web-demo layout written by BakedAvatar's unpack_pkl.py (spec 6.1, 6.3) ---------------
def _load_npy(root: Path, desc, where: str) -> np.ndarray:
    """One `{"path", "shape", "dtype"}` descriptor -> array; the path must stay inside `root`."""
    if not isinstance(desc, dict) or "path" not in desc:
        raise ArtifactError(f"{where}: must be an array descriptor with a 'path'")
    p = (root / str(desc["path"])).resolve()
    if root.resolve() not in p.parents:
        raise ArtifactError(f"{where}: path {desc['path']!r} points outside the folder {root}")
    if not p.is_file():
        raise ArtifactError(f"{where}: file {p} not found")
    try:
        arr = np.load(p, allow_pickle=False)
    except ValueError as exc:
        raise ArtifactError(f"{where}: {p} is not a plain .npy array ({exc})") from None
    if "shape" in desc and list(arr.shape) != list(desc["shape"]):
        raise ArtifactError(f"{where}: {p} has shape {list(arr.shape)}; metadata says {desc['shape']}")
    return arr


def _untile(atlas: np.ndarray, H: int, W: int, count: int) -> np.ndarray:
    """Row-major tiles of H x W -> (count, H, W, C)."""
    cols = atlas.shape[1] // W
    return np.stack([atlas[(k // cols) * H : (k // cols + 1) * H, (k % cols) * W : (k % cols + 1) * W] for k in range(count)])


def load_unpacked(folder) -> dict:
    """An unpack_pkl output folder (metadata.json + .npy files) -> the mesh_data dict (spec 4.2)."""
    import json

    root = Path(folder)
    meta_path = root / "metadata.json"
    if not meta_path.is_file():
        raise ArtifactError(f"{meta_path}: not found (expected BakedAvatar's unpack_pkl output)")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{meta_path}: not valid JSON ({exc})") from None
    w = str(meta_path)
    D = int(meta.get("dim_pos_feature", 8))
    K = int(meta.get("num_texture_basis", 16))
    out = {k: meta[k] for k in ("ghostbone", "dim_pos_feature", "num_texture_basis", "spatial_mlp_temperature") if k in meta}
    out["common"] = {k: _load_npy(root, v, f"{w}: common.{k}") for k, v in _get(meta, "common", w).items()}
    out["global_mlp"] = {k: _load_npy(root, v, f"{w}: global_mlp.{k}") for k, v in _get(meta, "global_mlp", w).items()}
    out["meshes"] = []
    for i, m in enumerate(_get(meta, "meshes", w)):
        mw = f"{w}: meshes[{i}]"
        d = {k: _load_npy(root, v, f"{mw}.{k}") for k, v in m.items() if isinstance(v, dict)}
        d["level"] = float(_get(m, "level", mw))
        pos = _get(d, "position_texture", mw)
        n_tiles = -(-D // 4)
        H, W = pos.shape[0], pos.shape[1] // n_tiles
        d["position_texture"] = np.concatenate(list(_untile(pos, H, W, n_tiles)), axis=-1)[..., :D]
        d["radiance_textures"] = _untile(_get(d, "radiance_texture", mw), H, W, K)
        out["meshes"].append(d)
    return out
