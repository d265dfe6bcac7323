"""Independent read-back: the bundle rendered by the reference renderer equals the artifact's render."""

from __future__ import annotations

import numpy as np
import pytest

from export.gltf_read import read_bundle

pytest.importorskip("bake.baked_render", reason="reference renderer (bake/baked_render.py) not present")


def test_read_back_arrays(small_artifact, lossless_bundle):
    art, back = small_artifact, read_bundle(lossless_bundle)
    assert [l.name for l in back.layers] == [l.name for l in art.layers]
    assert back.meta["joint_names"] == art.meta["joint_names"] and back.meta["parents"] == art.meta["parents"]
    np.testing.assert_allclose(back.meta["camera"]["w2c"], art.meta["camera"]["w2c"], atol=1e-6)
    np.testing.assert_allclose(back.meta["camera"]["K"], art.meta["camera"]["K"])
    for a, b in zip(art.layers, back.layers):
        np.testing.assert_allclose(a.vertices, b.vertices, atol=0.5 / 32767 + 1e-7)  # i16 normalised
        np.testing.assert_array_equal(a.faces, b.faces)
        np.testing.assert_array_equal(a.pos_texture, b.pos_texture)
        np.testing.assert_array_equal(a.radiance, b.radiance)
        np.testing.assert_allclose(a.uvs, b.uvs, atol=1 / 65535)  # u16 normalised
        np.testing.assert_allclose(a.normals, b.normals, atol=6e-3)  # i8 normalised, renormalised
        # morph deltas: 1e-4 zeroing threshold, or half an i8 step of the target's scale (<= 0.02 / 254)
        np.testing.assert_allclose(a.expr_basis, b.expr_basis, atol=1.2e-4)
        np.testing.assert_allclose(a.pose_basis, b.pose_basis, atol=1.2e-4)
        np.testing.assert_allclose(a.skin_weights, b.skin_weights, atol=2e-5)  # u16, <= 4 bones here
    for k, v in art.frame_mlp.items():
        np.testing.assert_array_equal(v, back.frame_mlp[k])
    s, t = art.sequences["talk"], back.sequences["talk"]
    np.testing.assert_allclose(s["expression"], t["expression"], atol=1e-6)
    np.testing.assert_allclose(s["pose"], t["pose"], atol=1e-5)


def test_default_bundle_position_features_are_close(small_artifact, small_bundle):
    """Default: lossy position features (export.position_quality 30, alpha planes at 50); the
    lossless bundle keeps them exact (test_read_back_arrays)."""
    back = read_bundle(small_bundle[0])
    errs = [np.abs(a.pos_texture.astype(float) - b.pos_texture).mean() for a, b in zip(small_artifact.layers, back.layers)]
    print(f"lossy position features: mean |error| per texel {[f'{e:.2f}' for e in errs]} / 255")
    assert max(errs) < 8.0


def test_render_read_back_matches_artifact(small_artifact, lossless_bundle, small_bundle):
    from export.quality import compare

    art = small_artifact
    scores, (a, _) = compare(art, read_bundle(lossless_bundle), count=2, progress=False)
    assert a.mean() < 0.95  # the avatar covers the image: not comparing two blanks
    lossy, _ = compare(art, read_bundle(small_bundle[0]), count=2, progress=False)
    print(f"read-back render PSNR vs artifact: lossless textures {[f'{s:.1f}' for s in scores]} dB; "
          f"default (lossy WebP radiance) {[f'{s:.1f}' for s in lossy]} dB")
    assert min(scores) >= 45.0
    assert min(lossy) >= 30.0  # the compression cost is reported above; this guards against breakage


def test_normal_blendshapes_round_trip(tmp_path):
    """Stage 1's `model.normal_blendshapes` in the bundle: every morph target carries NORMAL deltas
    (int16, sharing the target's scale with its POSITION deltas), read back within the zeroing
    threshold, and the bundle renders like the artifact -- which it would not without them."""
    import copy

    from export.config import ExportConfig
    from export.gltf_builder import parse_glb
    from export.quality import compare
    from export.testbundle import make_artifact
    from export.writer import export_glb

    art = make_artifact(seed=0, preset="small", normal_blendshapes=True)
    path = tmp_path / "nb.glb"
    cfg = ExportConfig(lossless_radiance=True, position_quality=0, alpha_quality=100)
    report = export_glb(art, path, cfg, progress=False)
    assert any("int16" in n for n in report.notes)
    doc, _ = parse_glb(path.read_bytes())
    for mesh in doc["meshes"]:
        targets = mesh["primitives"][0]["targets"]
        assert all(set(t) == {"POSITION", "NORMAL"} for t in targets)
        assert {doc["accessors"][t[k]]["componentType"] for t in targets for k in t} == {5122}  # SHORT
    back = read_bundle(path)
    mt = doc["extensions"]["HB_neural_shading"]["morphTargets"]
    # per target: the 1e-3 zeroing threshold (export.normal_epsilon) or half an i16 step of its
    # scale (weakly animated targets get coarse steps, docs/bundle.md); dropped pose targets are 0
    step = np.asarray(mt["scale"]) / 32767 / 2 + 1e-7
    bound = np.zeros(art.n_exp + 36)
    bound[: art.n_exp] = np.maximum(1e-3, step[: art.n_exp])
    bound[[art.n_exp + p for p in mt["pose"]]] = np.maximum(1e-3, step[art.n_exp:])
    for a, b in zip(art.layers, back.layers):
        got = np.concatenate([b.arrays["normal_expr"], b.arrays["normal_pose"]], axis=1)
        want = np.concatenate([a.arrays["normal_expr"], a.arrays["normal_pose"]], axis=1)
        dropped = [art.n_exp + p for p in range(36) if p not in mt["pose"]]
        assert np.all(got[:, dropped] == 0) and np.abs(want[:, dropped]).max() < 0.02  # export.normal_drop
        want[:, dropped] = 0
        assert np.all(np.abs(got - want).max(axis=(0, 2)) <= bound)
        np.testing.assert_allclose(a.expr_basis, b.expr_basis, atol=1.2e-4)
    scores, _ = compare(art, back, count=3, progress=False)
    flat = copy.deepcopy(back)
    for L in flat.layers:
        del L.arrays["normal_expr"], L.arrays["normal_pose"]
    without, _ = compare(art, flat, count=3, progress=False)
    print(f"bundle with normal targets vs artifact {[f'{s:.1f}' for s in scores]} dB; "
          f"the same without them {[f'{s:.1f}' for s in without]} dB")
    assert min(scores) >= 45.0
    assert min(without) < min(scores) - 5.0
