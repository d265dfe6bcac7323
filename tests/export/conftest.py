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


def storage_bound(doc: dict, expression, pose, eps: float = 1e-4, position_step: float = 1 / 32767) -> float:
    """Largest vertex error (model units, per component) that morph/position storage may cause at
    one frame: each stored target errs by at most max(zeroing threshold, half an integer step
    of its scale) per component, times |weight|, summed over targets (a rotation can move that
    error vector's norm onto one axis, hence sqrt 3); dropped pose targets are checked separately
    (their deltas are below export.morph_drop); plus half a position step."""
    import numpy as np

    from export import skinning

    mt = doc["extensions"]["HB_neural_shading"]["morphTargets"]
    E, kept = mt["expression"], mt["pose"]
    scale = np.asarray(mt.get("scale", [1.0] * (E + len(kept))), np.float64)
    acc0 = doc["meshes"][0]["primitives"][0]["targets"][0]["POSITION"]
    ctype = doc["accessors"][acc0]["componentType"]
    top = {5120: 127.0, 5122: 32767.0}.get(ctype)
    half = scale / (2 * top) if top else np.zeros_like(scale)
    w = np.concatenate([np.asarray(expression, np.float64)[:E], skinning.pose_feature(np.asarray(pose, np.float64)[None])[0][kept]])
    return float(np.sqrt(3) * np.sum(np.abs(w) * np.maximum(half, eps)) + np.sqrt(3) * position_step / 2)


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
    """The same avatar with lossless textures (WebP lossless radiance and position features) and
    every morph target over its own full int8 range (morph_tolerance 0): isolates geometry/MLP
    storage."""
    from export.config import ExportConfig
    from export.writer import export_glb

    path = tmp_path_factory.mktemp("bundle") / "lossless.glb"
    export_glb(small_artifact, path, ExportConfig(lossless_radiance=True, position_quality=0, alpha_quality=100, morph_tolerance=0), progress=False)
    return path
