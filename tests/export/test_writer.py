"""The .glb writer: Khronos validator, viewer deformation vs the artifact's maths, size report,
bad inputs (clear message, no partial .glb)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from export import skinning
from export.artifact import ArtifactError, save_artifact
from export.gltf_builder import parse_glb
from export.gltf_read import viewer_vertices

from export import validation
from tests.export.conftest import storage_bound


@pytest.mark.skipif(not validation.available(), reason="node + export/js/node_modules needed: run `npm ci` in export/js")
def test_khronos_validator_zero_errors(small_bundle, lossless_bundle, check_validator, small_artifact, tmp_path):
    from export.config import ExportConfig
    from export.writer import export_glb

    png = tmp_path / "png.glb"  # core-only textures, no quantisation: the other writer path
    export_glb(small_artifact, png, ExportConfig(texture_format="png", quantize=False), progress=False)
    check_validator(small_bundle[0], lossless_bundle, png)


def test_viewer_deformation_matches_artifact(small_artifact, small_bundle):
    """A standard viewer's vertices (glTF skin + morph semantics) equal the artifact's exact maths,
    although the joints move with the expression (animated joint translations, no approximation)."""
    path, _ = small_bundle
    doc, bin_chunk = parse_glb(path.read_bytes())
    art = small_artifact
    top = {"joints_template": art.joints_template, "joints_expr_basis": art.joints_expr_basis,
           "parents": skinning.flame_parents(art.meta["parents"], True), "ghostbone": True}
    seq = art.sequences["talk"]
    worst, naive, bound = 0.0, 0.0, 0.0
    for frame in range(len(seq["pose"])):
        e, p = seq["expression"][frame], seq["pose"][frame]
        b = storage_bound(doc, e, p)
        bound = max(bound, b)
        for li in range(len(art.layers)):
            exact = skinning.deform_exact(art.layers[li].arrays, top, e, p)
            err = np.abs(viewer_vertices(doc, bin_chunk, li, 0, frame) - exact).max()
            assert err <= b, (frame, li, err, b)
            worst = max(worst, err)
            # for scale: skinning with joints that stay at the neutral positions
            frozen = dict(top, joints_expr_basis=np.zeros_like(art.joints_expr_basis))
            naive = max(naive, np.abs(skinning.deform_exact(art.layers[li].arrays, frozen, e, p) - exact).max())
    print(f"viewer vs exact: max {worst:.2e} units, storage bound {bound:.2e} (ignoring the joints' motion "
          f"would give {naive:.2e}); head ~1 unit")
    # what remains is storage: i8 morph deltas (half a step of each target's scale, or the 1e-4
    # zeroing threshold) times |weight|, i16 positions; measured 3.2e-4 on this bundle
    assert worst < 5e-4
    assert naive > 10 * worst


def test_size_report_and_file(small_bundle):
    path, report = small_bundle
    assert report.total == os.path.getsize(path)
    assert os.stat(path).st_mode & 0o044 == 0o044  # readable by the web server, not 0600
    assert sum(report.packed.values()) == report.total  # the parts cover the file exactly
    text = "\n".join(report.lines())
    for part in ("morph_targets", "textures.radiance", "onnx.frame", "total"):
        assert part in text
    doc, _ = parse_glb(path.read_bytes())
    assert "KHR_mesh_quantization" in doc["extensionsRequired"]
    assert len(doc["skins"][0]["joints"]) == 6 and len(doc["animations"]) == 1


def _cli(*args):
    from export.__main__ import main

    return main(list(args))


def test_cli_missing_artifact(tmp_path, capsys):
    assert _cli("--artifact", str(tmp_path / "nope"), "-o", str(tmp_path / "dist"), "--no-preview") == 2
    assert "artifact folder not found" in capsys.readouterr().err
    assert not list((tmp_path / "dist").glob("*.glb")) if (tmp_path / "dist").exists() else True


def test_cli_truncated_artifact(small_artifact, tmp_path, capsys):
    folder = save_artifact(small_artifact, tmp_path / "art")
    t = folder / "avatar.safetensors"
    t.write_bytes(t.read_bytes()[: t.stat().st_size // 2])
    assert _cli("--artifact", str(folder), "-o", str(tmp_path / "dist"), "--no-preview") == 2
    err = capsys.readouterr().err
    assert "avatar.safetensors" in err and "unreadable" in err
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").iterdir())


def test_cli_nan_weights(small_artifact, tmp_path, capsys):
    import copy

    art = copy.deepcopy(small_artifact)
    art.frame_mlp["out.weight"][0, 0] = np.nan
    folder = tmp_path / "art"
    with pytest.raises(ArtifactError, match="NaN"):
        save_artifact(art, folder)  # the artifact writer refuses too; write the JSON by hand
    good = save_artifact(small_artifact, folder)
    from safetensors.numpy import load_file, save_file

    t = load_file(str(good / "avatar.safetensors"))
    t["layers.1.skin_weights"][5, 2] = np.nan
    save_file(t, str(good / "avatar.safetensors"))
    assert _cli("--artifact", str(good), "-o", str(tmp_path / "dist"), "--no-preview") == 2
    assert "layers[1].skin_weights contains NaN" in capsys.readouterr().err
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").iterdir())


def test_failed_write_leaves_no_partial_glb(small_artifact, tmp_path, monkeypatch):
    from export import writer

    out = tmp_path / "a.glb"
    out.write_bytes(b"previous bundle")

    def boom(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer.GltfBuilder, "to_glb", boom)
    with pytest.raises(RuntimeError):
        writer.export_glb(small_artifact, out, progress=False)
    assert out.read_bytes() == b"previous bundle"
    assert [p.name for p in tmp_path.iterdir()] == ["a.glb"]


def test_bundle_with_external_uri_is_refused(small_bundle, tmp_path):
    """A texture path pointing outside the bundle (e.g. ../../secret.png) is refused by the reader."""
    from export.gltf_builder import GLB_MAGIC
    from export.gltf_read import read_bundle
    import struct

    path, _ = small_bundle
    doc, bin_chunk = parse_glb(path.read_bytes())
    doc["images"][0] = {"uri": "../../secret.png"}
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    data = struct.pack("<III", GLB_MAGIC, 2, 28 + len(js) + len(bin_chunk)) + struct.pack("<II", len(js), 0x4E4F534A) + js
    data += struct.pack("<II", len(bin_chunk), 0x004E4942) + bin_chunk
    bad = tmp_path / "bad.glb"
    bad.write_bytes(data)
    with pytest.raises(ArtifactError, match=r"images\[0\]\.uri = '\.\./\.\./secret\.png'"):
        read_bundle(bad)
    trunc = tmp_path / "trunc.glb"
    trunc.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(ArtifactError, match="truncated"):
        read_bundle(trunc)


def test_bake_toy_artifact_exports_and_validates(tmp_path):
    """The bake teammate's procedural artifact (another writer of the contract) exports cleanly."""
    toy = pytest.importorskip("bake.toy")
    from export.config import ExportConfig
    from export.gltf_read import read_bundle
    from export.writer import export_glb

    art = toy.toy_artifact(n_layers=2, n_exp=4, texture_size=32)
    path = tmp_path / "toy.glb"
    export_glb(art, path, ExportConfig(lossless_radiance=True, morph_tolerance=0), progress=False)
    back = read_bundle(path)
    for a, b in zip(art.layers, back.layers):
        np.testing.assert_array_equal(a.radiance, b.radiance)
        np.testing.assert_allclose(a.expr_basis, b.expr_basis, atol=1.2e-4)
    if validation.available():
        (rep,) = validation.validate_files(path)
        assert rep["numErrors"] == 0 and not validation.unexplained(rep), validation.describe(rep)


def test_without_ghost_bone(small_artifact, tmp_path):
    """FLAME's own 5 joints (no ghost bone): skin, animation and exact viewer deformation."""
    import copy

    from export.writer import export_glb

    art = copy.deepcopy(small_artifact)
    art.meta.update(joint_names=["root", "neck", "jaw", "eye_left", "eye_right"], parents=[-1, 0, 1, 1, 1], ghostbone=False)
    for layer in art.layers:
        w = layer.arrays["skin_weights"]
        w[:, 1] += w[:, 0]
        layer.arrays["skin_weights"] = np.ascontiguousarray(w[:, 1:])
    path = tmp_path / "noghost.glb"
    export_glb(art, path, progress=False)
    doc, bin_chunk = parse_glb(path.read_bytes())
    assert len(doc["skins"][0]["joints"]) == 5 and doc["extensions"]["HB_neural_shading"]["joints"]["ghostNode"] is None
    top = {"joints_template": art.joints_template, "joints_expr_basis": art.joints_expr_basis,
           "parents": [-1, 0, 1, 1, 1], "ghostbone": False}
    seq = art.sequences["talk"]
    for frame in (2, 9):
        exact = skinning.deform_exact(art.layers[1].arrays, top, seq["expression"][frame], seq["pose"][frame])
        err = np.abs(viewer_vertices(doc, bin_chunk, 1, 0, frame) - exact).max()
        assert err <= storage_bound(doc, seq["expression"][frame], seq["pose"][frame]) and err < 5e-4
    if validation.available():
        (rep,) = validation.validate_files(path)
        assert rep["numErrors"] == 0 and not validation.unexplained(rep), validation.describe(rep)


def test_short_sequence_expression_is_refused(small_artifact, tmp_path):
    import copy

    from export.writer import export_glb

    art = copy.deepcopy(small_artifact)
    art.sequences["talk"]["expression"] = art.sequences["talk"]["expression"][:, :3]
    with pytest.raises(ArtifactError, match=r"sequences\.talk\.expression must have >= n_exp = 8 columns"):
        export_glb(art, tmp_path / "x.glb", progress=False)
    assert not list(tmp_path.iterdir())
