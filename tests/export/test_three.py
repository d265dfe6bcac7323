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


def test_three_turns_normals_by_the_normal_morph_targets(tmp_path):
    """A bundle with normal blendshapes: three.js decodes every target's NORMAL deltas, and its
    morphed + skinned normals (its own attributes, influences and bones) equal the artifact's
    normalize(S (n_o + N_E psi + N_P pf)); the skinning rotation alone would be degrees off."""
    from export.testbundle import make_artifact
    from export.writer import export_glb

    art = make_artifact(seed=0, preset="small", normal_blendshapes=True)
    path = tmp_path / "nb.glb"
    export_glb(art, path, progress=False)
    V = min(l.vertices.shape[0] for l in art.layers)
    opts = {"frames": FRAMES, "fps": 25.0, "vertices": list(range(0, V, 3)), "normals": True}
    proc = subprocess.run(["node", str(JS_DIR / "three_check.mjs"), str(path), json.dumps(opts)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["consoleErrors"] == []
    n_targets = len(out["skinnedMeshes"][0]["morphTargets"])
    assert all(m["morphNormals"] == n_targets for m in out["skinnedMeshes"])

    top = {"joints_template": art.joints_template, "joints_expr_basis": art.joints_expr_basis,
           "parents": skinning.flame_parents(art.meta["parents"], True), "ghostbone": True}
    seq = art.sequences["talk"]
    unit = lambda n: n / np.linalg.norm(n, axis=1, keepdims=True)  # noqa: E731
    deg = lambda a, b: np.degrees(np.arccos(np.clip((unit(a) * unit(b)).sum(1), -1, 1)))  # noqa: E731
    err, plain = [], []
    for fi, f in enumerate(FRAMES):
        e, p = seq["expression"][f], seq["pose"][f]
        A = skinning.bone_matrices(top["joints_template"], top["joints_expr_basis"], top["parents"], True, e, p)
        for li, layer in enumerate(art.layers):
            a, idx = layer.arrays, opts["vertices"]
            R = np.einsum("vj,jab->vab", a["skin_weights"][idx], A)[:, :3, :3]
            n = a["normals"][idx] + np.einsum("vec,e->vc", a["normal_expr"][idx], e) \
                + np.einsum("vpc,p->vc", a["normal_pose"][idx], skinning.pose_feature(p))
            exact = np.einsum("vab,vb->va", R, n)
            three = np.asarray(out["normals"]["talk"][fi][li])
            err.append(deg(three, exact))
            plain.append(deg(np.einsum("vab,vb->va", R, a["normals"][idx]), exact))
    err, plain = np.concatenate(err), np.concatenate(plain)
    print(f"three.js normals vs the artifact's: mean {err.mean():.3f} deg, max {err.max():.3f}; "
          f"skinning rotation only: mean {plain.mean():.2f} deg, max {plain.max():.2f}")
    assert err.mean() < 0.2 and err.max() < 2.0  # int8 base normals, i16 deltas, 1e-3 zeroing
    assert plain.mean() > 5 * err.mean() and plain.max() > 5.0
