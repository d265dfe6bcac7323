"""Shared fixtures: one small synthetic artifact and its bundle per session (export is ~10 s)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parents[2] / "export" / "js"


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


def node_tools_available() -> bool:
    return shutil.which("node") is not None and (JS_DIR / "node_modules" / "gltf-validator").is_dir()


def run_validator(*paths) -> list[dict]:
    """Khronos validator via node; returns one report per file (see export/js/validate.mjs)."""
    proc = subprocess.run(["node", str(JS_DIR / "validate.mjs"), *map(str, paths)], capture_output=True, text=True, timeout=120)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"validator failed to run: {proc.stderr}")
    return json.loads(proc.stdout)


# Validator messages we accept, with the reason (printed by the tests that meet them).
EXPLAINED = {
    "UNSUPPORTED_EXTENSION": "HB_neural_shading is our vendor extension; the validator cannot know it (info)",
    "UNUSED_OBJECT": "accessors/textures used only by HB_neural_shading look unused to the validator (info)",
}


def check_report(report: dict) -> None:
    """0 errors; every warning/info listed and either explained or failing the test."""
    msgs = report["messages"]
    for m in msgs:
        print(f"validator {['ERROR', 'WARNING', 'INFO', 'HINT'][m['severity']]} {m['code']} {m['pointer']}: "
              f"{m['message']} -> {EXPLAINED.get(m['code'], 'UNEXPLAINED')}")
    assert report["numErrors"] == 0, [m for m in msgs if m["severity"] == 0][:5]
    unexplained = [m for m in msgs if m["severity"] <= 2 and m["code"] not in EXPLAINED]
    assert not unexplained, unexplained[:5]
