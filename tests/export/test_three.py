"""three.js GLTFLoader in headless Chromium (export/js/three_check.mjs) sees a correct avatar:
one skinned mesh per layer with all bones, the named morph targets, every animation, and
animated vertices equal to the Python skinning."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from export import skinning
from export.gltf_builder import parse_glb
from export.gltf_read import viewer_vertices
from export.validation import JS_DIR

pytestmark = pytest.mark.skipif(
    not (os.path.exists("/usr/bin/chromium") and shutil.which("node") and (JS_DIR / "node_modules" / "three").is_dir()
         and (JS_DIR / "node_modules" / "playwright-core").is_dir()),
    reason="needs /usr/bin/chromium, node and `npm ci` in export/js",
)

FRAMES = [0, 4, 9]


def test_three_loads_and_animates_like_python(small_artifact, small_bundle, tmp_path):
    path, _ = small_bundle
    art = small_artifact
    V = max(l.vertices.shape[0] for l in art.layers)
    shot = tmp_path / "three_look.png"
    opts = {"frames": FRAMES, "fps": 25.0, "vertices": list(range(V)), "screenshot": 128, "screenshotPath": str(shot)}
    proc = subprocess.run(["node", str(JS_DIR / "three_check.mjs"), str(path), json.dumps(opts)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["consoleErrors"] == []

    doc, bin_chunk = parse_glb(path.read_bytes())
    kept = doc["extensions"]["HB_neural_shading"]["morphTargets"]["pose"]
    assert 0 < len(kept) < 36  # the small preset's eye correctives are zero: left out (export.morph_drop)
    names = [f"exp_{e:02d}" for e in range(art.n_exp)] + [f"pose_{p:02d}" for p in kept]
    meshes = out["skinnedMeshes"]
    assert [m["name"] for m in meshes] == [l.name for l in art.layers]
    for m, layer in zip(meshes, art.layers):
        assert m["bones"] == art.meta["joint_names"]
        assert m["morphTargets"] == names
        assert m["vertexCount"] == layer.vertices.shape[0]
        assert m["transparent"] == (not layer.opaque)
    assert [a["name"] for a in out["animations"]] == list(art.sequences)
    assert out["animations"][0]["tracks"] == 2 * 5 + len(art.layers)  # rotation + translation per joint, weights per layer
    assert out["cameras"] == 1
    # the standard-viewer look (base-colour materials, training camera): avatar in the middle, white around
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB")).astype(float) / 255
    assert img.shape == (128, 128, 3)
    assert img[54:74, 54:74].mean() < 0.9 and img[:6, :6].mean() > 0.98

    top = {"joints_template": art.joints_template, "joints_expr_basis": art.joints_expr_basis,
           "parents": skinning.flame_parents(art.meta["parents"], True), "ghostbone": True}
    seq = art.sequences["talk"]
    worst_py, worst_exact, moved = 0.0, 0.0, 0.0
    for fi, f in enumerate(FRAMES):
        for li, layer in enumerate(art.layers):
            three = np.asarray(out["positions"]["talk"][fi][li])
            py = viewer_vertices(doc, bin_chunk, li, 0, f)
            exact = skinning.deform_exact(layer.arrays, top, seq["expression"][f], seq["pose"][f])
            worst_py = max(worst_py, np.abs(three - py).max())
            worst_exact = max(worst_exact, np.abs(three - exact).max())
            moved = max(moved, np.abs(three - layer.vertices).max())
    print(f"three.js vs python glTF skinning: {worst_py:.2e}; vs exact artifact maths: {worst_exact:.2e}; "
          f"largest vertex motion {moved:.3f} units")
    assert moved > 0.05  # the animation really moves the head
    assert worst_py < 1e-5  # float32 in three.js vs float64 here
    assert worst_exact < 5e-4  # storage only (i8 morph deltas, i16 positions), as test_writer bounds it
