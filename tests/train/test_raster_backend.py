"""Backend selection and the nvdiffrast plugin loader fix (CPU-testable parts)."""

from __future__ import annotations

import sys
import types

import pytest
import torch

from train import raster
from train.raster import nvdiff


def test_auto_backend_on_cpu_tensors_is_the_reference():
    assert raster.get_backend("auto", "cpu").name == "torch"
    assert raster.get_backend(None, "cpu").name == "torch"
    assert raster.get_backend("torch").name == "torch"
    with pytest.raises(ValueError, match="backend must be one of"):
        raster.get_backend("gl")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only error path")
def test_cuda_backend_without_cuda_says_why():
    with pytest.raises(nvdiff.NvdiffrastUnavailable, match="CUDA"):
        raster.get_backend("cuda")
    assert not raster.nvdiffrast_available()


def test_loader_puts_the_jit_build_directory_on_sys_path(tmp_path, monkeypatch):
    """torch>=2: the JIT-built plugin is importable only once its build dir is on sys.path."""
    name = "nvdiffrast_plugin_0_3_3_torch2_11"
    build = tmp_path / name
    build.mkdir()
    (build / f"{name}.py").write_text("MARK = 42\n")  # stands in for the compiled .so
    monkeypatch.setattr(nvdiff, "_build_dir", lambda n: str(tmp_path / n))
    monkeypatch.setattr(sys, "path", list(sys.path))
    calls = []

    def fake_get_plugin():
        import importlib

        calls.append(1)
        return importlib.import_module(name)  # what nvdiffrast's _get_plugin ends with

    ops = types.SimpleNamespace(_get_plugin=fake_get_plugin)
    nvdiff._ensure_plugin(ops)
    assert len(calls) == 2 and str(build) in sys.path
    assert sys.modules[name].MARK == 42
    sys.modules.pop(name)


def test_loader_does_not_mask_unrelated_import_errors(monkeypatch):
    def broken():
        raise ModuleNotFoundError("No module named 'numpyx'", name="numpyx")

    with pytest.raises(ModuleNotFoundError, match="numpyx"):
        nvdiff._ensure_plugin(types.SimpleNamespace(_get_plugin=broken))
