"""nvdiffrast backend (CUDA), with the same signatures and outputs as `train.raster.reference`.

nvdiffrast comes from the PyPI package `diffrp-nvdiffrast` (`pip install headbake[cuda]`): CUDA
sources that are JIT-compiled by `torch.utils.cpp_extension.load` on first use. Its plugin loader
then imports the freshly built module with `importlib.import_module(<plugin name>)`; on
torch >= 2 that import fails (`ModuleNotFoundError`) because torch no longer puts the extension's
build directory on `sys.path`. `load_nvdiffrast()` fixes that: when the plugin import fails it
adds the build directory torch used for that plugin name to `sys.path` and retries.
"""

from __future__ import annotations

import importlib
import sys
import threading

import torch
from torch import Tensor

from train.raster.reference import _resolution, check_pos_tri
from train.raster.sampling import check_texture_args

_lock = threading.Lock()
_dr = None
_failure: str | None = None
_contexts: dict[int, object] = {}


class NvdiffrastUnavailable(RuntimeError):
    """nvdiffrast cannot be used here (not installed, no CUDA, or its JIT build failed)."""


def _build_dir(name: str) -> str:
    from torch.utils import cpp_extension

    return cpp_extension._get_build_directory(name, verbose=False)


def _ensure_plugin(dr_ops) -> None:
    """Build/import nvdiffrast's CUDA plugin, fixing the torch>=2 sys.path problem."""
    tried: set[str] = set()
    while True:
        try:
            dr_ops._get_plugin()
            return
        except ModuleNotFoundError as exc:
            name = exc.name or ""
            if not name or name in tried or "nvdiffrast" not in name:
                raise
            tried.add(name)
            path = _build_dir(name)
            if path not in sys.path:
                sys.path.insert(0, path)
            importlib.invalidate_caches()


def load_nvdiffrast():
    """Import `nvdiffrast.torch` and make sure its CUDA plugin loads. Returns the module.

    Raises NvdiffrastUnavailable with the reason when it cannot be used.
    """
    global _dr, _failure
    with _lock:
        if _dr is not None:
            return _dr
        if _failure is not None:  # do not retry a failed JIT build on every call
            raise NvdiffrastUnavailable(_failure)
        try:
            if not torch.cuda.is_available():
                raise NvdiffrastUnavailable("nvdiffrast needs CUDA; torch.cuda.is_available() is False")
            try:
                import nvdiffrast.torch as dr
                import nvdiffrast.torch.ops as dr_ops
            except ImportError as exc:
                raise NvdiffrastUnavailable(f"nvdiffrast is not installed (pip install diffrp-nvdiffrast): {exc}") from exc
            try:
                _ensure_plugin(dr_ops)
            except Exception as exc:  # compiler errors, missing nvcc/ninja, ...
                raise NvdiffrastUnavailable(f"nvdiffrast's CUDA plugin failed to build/load: {exc}") from exc
        except NvdiffrastUnavailable as exc:
            _failure = str(exc)
            raise
        _dr = dr
        return dr


def available() -> bool:
    """True when nvdiffrast can run here (imports, CUDA present, plugin loads)."""
    try:
        load_nvdiffrast()
        return True
    except NvdiffrastUnavailable:
        return False


def _context(device: torch.device):
    dr = load_nvdiffrast()
    idx = device.index if device.index is not None else torch.cuda.current_device()
    if idx not in _contexts:
        _contexts[idx] = dr.RasterizeCudaContext(device=torch.device("cuda", idx))
    return _contexts[idx]


def _require_cuda(t: Tensor, what: str) -> None:
    if not t.is_cuda:
        raise ValueError(f"{what} must be a CUDA tensor for the nvdiffrast backend; got device {t.device}")


def rasterize(pos: Tensor, tri: Tensor, resolution) -> Tensor:
    """Same contract as `reference.rasterize`: pos (B,V,4)|(V,4), tri (F,3) -> rast (B,H,W,4)."""
    pos, tri = check_pos_tri(pos, tri)
    _require_cuda(pos, "pos")
    H, W = _resolution(resolution)
    dr = load_nvdiffrast()
    rast, _ = dr.rasterize(
        _context(pos.device), pos.float().contiguous(), tri.to(torch.int32).contiguous(), [H, W], grad_db=False
    )
    return rast


def interpolate(attr: Tensor, rast: Tensor, tri: Tensor) -> Tensor:
    """Same contract as `reference.interpolate`: attr (V,C)|(B,V,C) -> (B,H,W,C)."""
    _require_cuda(attr, "attr")
    dr = load_nvdiffrast()
    out, _ = dr.interpolate(attr.float().contiguous(), rast, tri.to(torch.int32).contiguous())
    return out


def texture(tex: Tensor, uv: Tensor, filter_mode: str = "linear", boundary_mode: str = "clamp") -> Tensor:
    """Same contract as `sampling.texture`: tex (B|1,Ht,Wt,C), uv (B,H,W,2) -> (B,H,W,C)."""
    check_texture_args(tex, uv, filter_mode, boundary_mode)
    _require_cuda(tex, "tex")
    dr = load_nvdiffrast()
    return dr.texture(
        tex.float().contiguous(), uv.float().contiguous(), filter_mode=filter_mode, boundary_mode=boundary_mode
    )


def antialias(color: Tensor, rast: Tensor, pos: Tensor, tri: Tensor) -> Tensor:
    """nvdiffrast's analytic antialiasing (CUDA only): color (B,H,W,C) -> (B,H,W,C)."""
    pos, tri = check_pos_tri(pos, tri)
    dr = load_nvdiffrast()
    return dr.antialias(color.contiguous(), rast, pos.float().contiguous(), tri.to(torch.int32).contiguous())
