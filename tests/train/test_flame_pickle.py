"""Safe FLAME pickle loading: FLAME 2020's Python-2 structure, the 2023 layout, malicious files."""

from __future__ import annotations

import io
import os
import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse

from train.flame.safe_pickle import FlameModelError, safe_load_flame_pickle

V, F = 40, 30


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    jr = np.zeros((5, V))
    for j in range(5):
        idx = rng.choice(V, 4, replace=False)
        jr[j, idx] = 0.25
    return {
        "v_template": rng.normal(size=(V, 3)),
        "f": rng.integers(0, V, size=(F, 3)).astype(np.uint32),
        "shapedirs": rng.normal(size=(V, 3, 400)) * 1e-3,
        "posedirs": rng.normal(size=(V, 3, 36)) * 1e-3,
        "J_regressor": jr,
        "weights": rng.dirichlet(np.ones(5), size=V),
        "kintree_table": np.array([[2**32 - 1, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.int64),
        "J": rng.normal(size=(5, 3)),
    }


class _Py2Pickler(pickle._Pickler):
    """Writes what Python 2's cPickle (protocol 2) wrote: bytes as BINSTRING (py2 `str`) and
    scipy's sparse classes under their old module names."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + len(obj).to_bytes(4, "little") + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", "")
        if module == "numpy._core.multiarray":  # numpy 1.x (and FLAME's files) name it numpy.core
            self.write(pickle.GLOBAL + f"numpy.core.multiarray\n{obj.__name__}\n".encode())
            self.memoize(obj)
            return
        if module.startswith("scipy.sparse."):
            old = {"csc_matrix": "scipy.sparse.csc", "csr_matrix": "scipy.sparse.csr"}[obj.__name__]
            self.write(pickle.GLOBAL + f"{old}\n{obj.__name__}\n".encode())
            self.memoize(obj)
            return
        super().save_global(obj, name)


@pytest.fixture
def fake_chumpy():
    """A throwaway module named chumpy.ch with a Ch class pickling like chumpy's (state holds 'x')."""
    mod_pkg = types.ModuleType("chumpy")
    mod = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = np.asarray(x, dtype=np.float64)
            self._dirty_vars = set()
            self._itr = None
            self._depends_on_deps = {}
            self._make_dense = False
            self._make_sparse = False

        def __getstate__(self):  # like chumpy: the __dict__ minus weakref caches
            return dict(self.__dict__)

    Ch.__module__ = "chumpy.ch"
    Ch.__qualname__ = "Ch"
    mod.Ch = Ch
    mod_pkg.ch = mod
    sys.modules["chumpy"], sys.modules["chumpy.ch"] = mod_pkg, mod
    try:
        yield Ch
    finally:
        del sys.modules["chumpy"], sys.modules["chumpy.ch"]


def _flame2020_bytes(Ch, arrays) -> bytes:
    d = dict(arrays)
    d["shapedirs"] = Ch(d["shapedirs"])
    d["v_template"] = Ch(d["v_template"])
    d["J_regressor"] = scipy.sparse.csc_matrix(d["J_regressor"])
    d["bs_style"] = b"lbs"
    d["bs_type"] = b"lrotmin"
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump({k.encode(): v for k, v in d.items()})
    return buf.getvalue()


def test_flame2020_structure_loads_without_chumpy(tmp_path, fake_chumpy):
    arrays = _arrays()
    data = _flame2020_bytes(fake_chumpy, arrays)
    # the file really has FLAME 2020's ingredients
    assert b"chumpy.ch\nCh\n" in data and b"scipy.sparse.csc\ncsc_matrix\n" in data
    assert b"copy_reg" in data or b"__builtin__" in data
    assert pickle.SHORT_BINSTRING + b"\x03lbs" in data
    assert b"numpy.core.multiarray\n_reconstruct\n" in data
    path = tmp_path / "generic_model.pkl"
    path.write_bytes(data)
    del sys.modules["chumpy.ch"], sys.modules["chumpy"]  # loading must not need chumpy
    sys.modules["chumpy"] = sys.modules["chumpy.ch"] = None  # (the fixture's finaliser deletes these)
    out = safe_load_flame_pickle(path)
    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f"):
        assert isinstance(out[key], np.ndarray), key
        np.testing.assert_array_equal(out[key], arrays[key])
    assert out["bs_style"] == "lbs" and out["bs_type"] == "lrotmin"


def test_flame2023_layout_plain_numpy(tmp_path):
    arrays = _arrays(1)
    path = tmp_path / "flame2023.pkl"
    with open(path, "wb") as fh:
        pickle.dump(arrays, fh, protocol=4)
    out = safe_load_flame_pickle(path)
    for key, value in arrays.items():
        np.testing.assert_array_equal(out[key], value)


def test_sparse_regressor_modern_and_csr(tmp_path):
    arrays = _arrays(2)
    arrays["J_regressor"] = scipy.sparse.csr_matrix(arrays["J_regressor"])
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(arrays, protocol=2))
    out = safe_load_flame_pickle(path)
    np.testing.assert_array_equal(out["J_regressor"], arrays["J_regressor"].toarray())


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_malicious_pickle_is_refused_and_not_run(tmp_path, protocol):
    marker = tmp_path / "pwned"
    arrays = _arrays(3)
    arrays["v_template"] = _Evil(marker)
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(arrays, protocol=protocol))
    with pytest.raises(FlameModelError) as err:
        safe_load_flame_pickle(path)
    assert not marker.exists()
    msg = str(err.value)
    assert str(path) in msg and ("posix.system" in msg or "os.system" in msg)


def test_builtin_eval_refused(tmp_path):
    marker = tmp_path / "evaluated"
    payload = f"open({str(marker)!r}, 'w').write('x')"
    data = b"cbuiltins\neval\n(V" + payload.encode() + b"\ntR."
    path = tmp_path / "eval.pkl"
    path.write_bytes(data)
    with pytest.raises(FlameModelError, match=r"builtins\.eval"):
        safe_load_flame_pickle(path)
    assert not marker.exists()


def test_missing_file_and_bad_shapes(tmp_path):
    with pytest.raises(FlameModelError, match="not found"):
        safe_load_flame_pickle(tmp_path / "nope.pkl")
    arrays = _arrays(4)
    arrays["posedirs"] = arrays["posedirs"][:, :, :35]
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(arrays))
    with pytest.raises(FlameModelError, match=r"bad\.pkl.*'posedirs'.*\(40, 3, 36\)"):
        safe_load_flame_pickle(path)
    del arrays["posedirs"]
    path.write_bytes(pickle.dumps(arrays))
    with pytest.raises(FlameModelError, match=r"missing key 'posedirs'"):
        safe_load_flame_pickle(path)
    path.write_bytes(b"\x80\x02}q\x00(X\x01")  # truncated
    with pytest.raises(FlameModelError, match="not a readable FLAME pickle"):
        safe_load_flame_pickle(path)


@pytest.mark.parametrize("protocol", [0, 1, 2])
def test_chumpy_any_protocol_and_nested(tmp_path, fake_chumpy, protocol):
    arrays = _arrays(5)
    d = dict(arrays)
    d["shapedirs"] = fake_chumpy(d["shapedirs"])
    d["weights"] = fake_chumpy(0.0)
    d["weights"].x = fake_chumpy(arrays["weights"])  # a Ch wrapping a Ch
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=protocol).dump(d)
    path = tmp_path / "m.pkl"
    path.write_bytes(buf.getvalue())
    out = safe_load_flame_pickle(path)
    np.testing.assert_array_equal(out["shapedirs"], arrays["shapedirs"])
    np.testing.assert_array_equal(out["weights"], arrays["weights"])


def test_chumpy_without_array_is_named(tmp_path, fake_chumpy):
    arrays = _arrays(6)
    ch = fake_chumpy(arrays["posedirs"])
    del ch.x
    arrays["posedirs"] = ch
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(arrays, protocol=2))
    with pytest.raises(FlameModelError, match=r"m\.pkl: key 'posedirs' is a chumpy Ch without a stored array"):
        safe_load_flame_pickle(path)
