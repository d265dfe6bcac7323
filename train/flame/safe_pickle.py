"""Load a FLAME model pickle without running code from it.

FLAME 2020's `generic_model.pkl` is a Python-2 pickle: numpy arrays, some wrapped in
`chumpy.ch.Ch` objects, a `scipy.sparse` joint regressor and two latin-1 strings. FLAME 2023
holds plain numpy arrays. A plain `pickle.load` would import and call whatever the file names,
so we use an unpickler whose `find_class` admits only what those layouts need:

* numpy's array/dtype/scalar reconstructors, and `_codecs.encode` for latin-1 only (how a
  Python-3 protocol-2 pickle stores raw bytes);
* scipy.sparse matrix classes -> `SparseStandIn` (just records the state; densified by us);
* any `chumpy.*` class -> `ChumpyStandIn` (keeps the array chumpy stores in `state['x']`);
* `copy_reg._reconstructor` restricted to stand-ins, and the builtins `set`/`frozenset`/`list`/
  `dict`/`tuple`/`object` (chumpy keeps a `set` in its state).

Everything else (e.g. `os.system`, `builtins.eval`, `subprocess.Popen`) raises
`FlameModelError` naming the file and the refused `module.name`; nothing is executed.
"""

from __future__ import annotations

import codecs
import io
import os
import pickle
from pathlib import Path

import numpy as np

# FLAME's kinematic tree: root, neck, jaw, two eyes
N_JOINTS = 5
MIN_SHAPEDIRS = 300  # identity columns come first; expression columns start at 300


class FlameModelError(ValueError):
    """The morphable-model file is missing, unsafe or malformed; the message names file and key."""


class ChumpyStandIn:
    """Stands in for chumpy's array classes; keeps the stored array (chumpy: `state['x']`)."""

    x = None  # NEWOBJ creates instances without __init__; BUILD then calls __setstate__

    def __init__(self, *args, **kwargs):
        self.x = None

    @property
    def cls_name(self) -> str:
        return type(self).__name__

    def __setstate__(self, state):
        self.x = state.get("x") if isinstance(state, dict) else None

    def __reduce__(self):  # pragma: no cover - never pickled back
        raise TypeError("ChumpyStandIn cannot be pickled")


class SparseStandIn:
    """Stands in for scipy.sparse matrices; records their state for densification."""

    format_name = "csc"
    state: dict = {}

    def __init__(self, *args, **kwargs):
        self.state = {}

    def __setstate__(self, state):
        self.state = dict(state) if isinstance(state, dict) else {}


def _sparse_class(fmt: str):
    return type(f"Sparse_{fmt}", (SparseStandIn,), {"format_name": fmt})


_SPARSE = {fmt: _sparse_class(fmt) for fmt in ("csc", "csr", "coo")}
_CHUMPY: dict[str, type] = {}


def _chumpy_class(name: str) -> type:
    if name not in _CHUMPY:
        _CHUMPY[name] = type(name, (ChumpyStandIn,), {})
    return _CHUMPY[name]


def _latin1_encode(obj, encoding="latin1", errors="strict"):
    """`_codecs.encode` as protocol-2 pickles use it for bytes: latin-1 only."""
    if codecs.lookup(encoding).name != "iso8859-1" or not isinstance(obj, str):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not allowed")
    return obj.encode("latin-1", errors)


def _numpy_helper(name: str):
    """numpy's `_reconstruct`/`scalar`/`_frombuffer` (module moved from numpy.core to numpy._core)."""
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy < 2
        from numpy.core import multiarray, numeric
    return getattr(numeric if name == "_frombuffer" else multiarray, name)


def _safe_reconstructor(cls, base, state):
    """copy_reg._reconstructor restricted to our stand-ins (protocol 0/1 object creation)."""
    if not (isinstance(cls, type) and issubclass(cls, (ChumpyStandIn, SparseStandIn))) or base is not object:
        raise pickle.UnpicklingError(f"_reconstructor refused for {cls!r} / {base!r}")
    return cls()


_NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
_NUMPY_NAMES = {"_reconstruct", "scalar", "_frombuffer"}
_BUILTINS = {"set": set, "frozenset": frozenset, "list": list, "dict": dict, "tuple": tuple, "object": object}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, where: str):
        super().__init__(file, encoding="latin1")
        self.where = where

    def find_class(self, module: str, name: str):
        if module in _NUMPY_CORE and name in _NUMPY_NAMES:
            return _numpy_helper(name)
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        if module == "numpy" and name in np.sctypeDict and isinstance(np.sctypeDict[name], type):
            return np.sctypeDict[name]  # dtype classes, e.g. numpy.float64
        if module.startswith("numpy.dtypes") and name.endswith("DType"):
            import numpy.dtypes

            return getattr(numpy.dtypes, name)
        if module.startswith("scipy.sparse") and name.endswith("_matrix") and name[:3] in _SPARSE:
            return _SPARSE[name[:3]]
        if module == "chumpy" or module.startswith("chumpy."):
            return _chumpy_class(name)
        if module in ("copy_reg", "copyreg") and name == "_reconstructor":
            return _safe_reconstructor
        if module == "_codecs" and name == "encode":
            return _latin1_encode
        if module in ("__builtin__", "builtins") and name in _BUILTINS:
            return _BUILTINS[name]
        raise FlameModelError(f"{self.where}: refusing to load '{module}.{name}' (not a numpy/scipy/chumpy array)")


def _to_dense(value, where: str, key: str):
    """Stand-ins and numpy scalars -> ndarray; strings pass through."""
    if isinstance(value, ChumpyStandIn):
        x = value.x
        for _ in range(8):  # a Ch may wrap another Ch
            if not isinstance(x, ChumpyStandIn):
                break
            x = x.x
        if x is None or isinstance(x, ChumpyStandIn):
            raise FlameModelError(f"{where}: key '{key}' is a chumpy {value.cls_name} without a stored array")
        return np.asarray(x)
    if isinstance(value, SparseStandIn):
        return _densify(value, where, key)
    if isinstance(value, (str, np.ndarray)):
        return value
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (np.generic, int, float)):
        return np.asarray(value)
    if isinstance(value, (list, tuple)):  # e.g. lists of names in our own pickles
        return list(value)
    raise FlameModelError(f"{where}: key '{key}' has unsupported type {type(value).__name__}")


def _densify(sp: SparseStandIn, where: str, key: str) -> np.ndarray:
    import scipy.sparse

    st = sp.state
    shape = st.get("_shape", st.get("shape"))
    try:
        shape = tuple(int(s) for s in shape)
        if sp.format_name == "coo":
            row, col = st.get("row"), st.get("col")
            if row is None and "coords" in st:
                row, col = st["coords"]
            mat = scipy.sparse.coo_matrix((st["data"], (row, col)), shape=shape)
        else:
            ctor = scipy.sparse.csc_matrix if sp.format_name == "csc" else scipy.sparse.csr_matrix
            mat = ctor((st["data"], st["indices"], st["indptr"]), shape=shape)
        return np.asarray(mat.toarray())
    except (KeyError, TypeError, ValueError) as exc:
        raise FlameModelError(f"{where}: key '{key}' is a malformed sparse {sp.format_name} matrix ({exc})") from None


def _check_shapes(d: dict, where: str) -> None:
    def need(key):
        if key not in d:
            raise FlameModelError(f"{where}: missing key '{key}'")
        arr = d[key]
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiub":
            raise FlameModelError(f"{where}: key '{key}' must be a numeric array; got {type(arr).__name__}")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise FlameModelError(f"{where}: key '{key}' contains NaN or inf")
        return arr.shape

    def bad(key, want, got):
        raise FlameModelError(f"{where}: key '{key}' must have shape {want}; got {got}")

    vt = need("v_template")
    if len(vt) != 2 or vt[1] != 3:
        bad("v_template", "(V, 3)", vt)
    V = vt[0]
    f = need("f")
    if len(f) != 2 or f[1] != 3:
        bad("f", "(F, 3)", f)
    if d["f"].size and (d["f"].min() < 0 or d["f"].max() >= V):
        raise FlameModelError(f"{where}: key 'f' indexes vertices outside [0, {V})")
    s = need("shapedirs")
    if len(s) != 3 or s[:2] != (V, 3) or s[2] <= MIN_SHAPEDIRS:
        bad("shapedirs", f"({V}, 3, >{MIN_SHAPEDIRS})", s)
    p = need("posedirs")
    if p != (V, 3, 36):
        bad("posedirs", (V, 3, 36), p)
    jr = need("J_regressor")
    if jr != (N_JOINTS, V):
        bad("J_regressor", (N_JOINTS, V), jr)
    w = need("weights")
    if w != (V, N_JOINTS):
        bad("weights", (V, N_JOINTS), w)
    kt = need("kintree_table")
    if kt != (2, N_JOINTS):
        bad("kintree_table", (2, N_JOINTS), kt)


def safe_load_flame_pickle(path: str | os.PathLike) -> dict[str, np.ndarray | str | list]:
    """Read a FLAME 2020/2023 (or our procedural) pickle safely; arrays densified and validated.

    Returns a dict of the file's keys: ndarrays (chumpy -> ndarray, sparse -> dense), strings,
    and lists (our `hb_*` name lists). Raises `FlameModelError` naming the file and the key.
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise FlameModelError(f"{where}: morphable-model file not found")
    data = path.read_bytes()
    try:
        raw = _RestrictedUnpickler(io.BytesIO(data), where).load()
    except FlameModelError:
        raise
    except Exception as exc:  # truncated or corrupt pickles, refused reconstructors, ...
        raise FlameModelError(f"{where}: not a readable FLAME pickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(raw, dict):
        raise FlameModelError(f"{where}: top level must be a dict; got {type(raw).__name__}")
    out = {}
    for key, value in raw.items():
        key = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        out[key] = _to_dense(value, where, key)
    _check_shapes(out, where)
    return out
