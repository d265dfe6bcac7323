"""Shared fixtures: one small synthetic artifact and its bundle per session (export is ~10 s)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_artifact():
    from export.testbundle import make_artifact

    return make_artifact(seed=0, preset="small")


@pytest.fixture(scope="session")
def small_bundle(small_artifact, tmp_path_factory):
    from export.writer import export_glb

    path = tmp_path_factory.mktemp("bundle") / "small.glb"
    report = export_glb(small_artifact, path, progress=False)
    return path, report


@pytest.fixture(scope="session")
def check_validator():
    """Khronos validator: 0 errors; every message printed with its explanation; none unexplained."""
    return _check_validator


def _check_validator(*paths) -> None:
    from export import validation

    for rep in validation.validate_files(*paths):
        for line in validation.describe(rep):
            print(f"validator {rep['file']}: {line}")
        assert rep["numErrors"] == 0, [m for m in rep["messages"] if m["severity"] == 0][:5]
        assert not validation.unexplained(rep), validation.unexplained(rep)[:5]


@pytest.fixture(scope="session")
def lossless_bundle(small_artifact, tmp_path_factory):
    """The same avatar with lossless textures (WebP lossless): isolates geometry/MLP storage."""
    from export.config import ExportConfig
    from export.writer import export_glb

    path = tmp_path_factory.mktemp("bundle") / "lossless.glb"
    export_glb(small_artifact, path, ExportConfig(lossless_radiance=True), progress=False)
    return path
