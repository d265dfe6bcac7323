"""Independent read-back: the bundle rendered by the reference renderer equals the artifact's render."""

from __future__ import annotations

import numpy as np
import pytest

from export.gltf_read import read_bundle

render_mod = pytest.importorskip("bake.baked_render", reason="reference renderer (bake/baked_render.py) not present")


def psnr(a, b) -> float:
    mse = float(((a - b) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def test_read_back_arrays(small_artifact, small_bundle):
    art, back = small_artifact, read_bundle(small_bundle[0])
    assert [l.name for l in back.layers] == [l.name for l in art.layers]
    assert back.meta["joint_names"] == art.meta["joint_names"] and back.meta["parents"] == art.meta["parents"]
    np.testing.assert_allclose(back.meta["camera"]["w2c"], art.meta["camera"]["w2c"], atol=1e-6)
    np.testing.assert_allclose(back.meta["camera"]["K"], art.meta["camera"]["K"])
    for a, b in zip(art.layers, back.layers):
        np.testing.assert_array_equal(a.vertices, b.vertices)
        np.testing.assert_array_equal(a.faces, b.faces)
        np.testing.assert_array_equal(a.pos_texture, b.pos_texture)  # lossless PNG
        np.testing.assert_array_equal(a.radiance, b.radiance)
        np.testing.assert_allclose(a.uvs, b.uvs, atol=1 / 65535)  # u16 normalised
        np.testing.assert_allclose(a.normals, b.normals, atol=6e-3)  # i8 normalised, renormalised
        # morph deltas: 1e-4 sparsification threshold + i16 step 3e-5
        np.testing.assert_allclose(a.expr_basis, b.expr_basis, atol=1.2e-4)
        np.testing.assert_allclose(a.pose_basis, b.pose_basis, atol=1.2e-4)
    for k, v in art.frame_mlp.items():
        np.testing.assert_array_equal(v, back.frame_mlp[k])
    s, t = art.sequences["talk"], back.sequences["talk"]
    np.testing.assert_allclose(s["expression"], t["expression"], atol=1e-6)
    np.testing.assert_allclose(s["pose"], t["pose"], atol=1e-5)


def test_render_read_back_matches_artifact(small_artifact, small_bundle):
    from bake.baked_render import render_artifact

    art, back = small_artifact, read_bundle(small_bundle[0])
    cam = art.meta["camera"]
    seq = art.sequences["talk"]
    scores = []
    for f in (0, 6):
        e, p = seq["expression"][f], seq["pose"][f]
        a = render_artifact(art, e, p, cam["K"], cam["w2c"], cam["width"], cam["height"])[0].numpy()
        bc = back.meta["camera"]
        b = render_artifact(back, e, p, bc["K"], bc["w2c"], cam["width"], cam["height"])[0].numpy()
        assert a[..., 3].mean() > 0.2  # the avatar covers the image: not comparing two blanks
        scores.append(psnr(a[..., :3], b[..., :3]))
    print(f"read-back render PSNR vs artifact: {[f'{s:.1f}' for s in scores]} dB")
    assert min(scores) >= 45.0
