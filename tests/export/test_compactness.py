"""The bundle's size measures (docs/bundle.md, Compactness): int8 morph targets with per-target
scales folded into the weights, negligible pose correctives left out, dense/sparse choice,
EXT_meshopt_compression, the radiance alpha stored once, and the size budget."""

from __future__ import annotations

import numpy as np
import pytest

from export import hb_neural_shading as hbns
from export import skinning, textures
from export.config import ExportConfig
from export.gltf_builder import ARRAY_BUFFER, GltfBuilder, parse_glb
from export.gltf_read import read_bundle, viewer_vertices
from export.writer import export_glb
from tests.export.conftest import storage_bound

EXT = "HB_neural_shading"


def _accessors(path):
    doc, bin_chunk = parse_glb(path.read_bytes())
    return doc, bin_chunk


def test_int8_morph_scales_fold_into_weights(small_artifact, small_bundle):
    """Stored deltas are i8 normalised delta/scale; the animation weights carry the scale, so the
    viewer's delta x weight equals the artifact's within half an i8 step of each scale."""
    art, (path, _) = small_artifact, small_bundle
    doc, bin_chunk = _accessors(path)
    mt = doc["extensions"][EXT]["morphTargets"]
    E, kept, scale = mt["expression"], mt["pose"], np.asarray(mt["scale"])
    assert E == art.n_exp and len(scale) == E + len(kept)
    # scale = largest delta of the target over all layers, or wider where the animations use
    # the target weakly: half an int8 step x the largest weight = export.morph_tolerance
    cols = [np.concatenate([l.expr_basis[:, e] for l in art.layers]) for e in range(E)]
    cols += [np.concatenate([l.pose_basis[:, p] for l in art.layers]) for p in kept]
    peak = np.array([np.abs(c).max() for c in cols])
    seqs = art.sequences.values()
    wmax = np.max([np.abs(np.concatenate([s["expression"][:, :E], skinning.pose_feature(s["pose"].astype(np.float64))[:, kept]], 1)).max(0)
                   for s in seqs], axis=0)
    tol = ExportConfig().morph_tolerance
    coarse = np.where(wmax > 0, 254 * tol / np.maximum(wmax, 1e-30), 0.0)  # unused in the animations: full range
    np.testing.assert_allclose(scale, np.maximum(peak, coarse), rtol=1e-6)
    assert np.sum(scale > peak * 1.001) >= 3  # the tolerance widens some targets of this artifact
    prim = doc["meshes"][0]["primitives"][0]
    for t in prim["targets"]:
        acc = doc["accessors"][t["POSITION"]]
        assert acc["componentType"] == 5120 and acc["normalized"]  # BYTE normalised
    assert doc["meshes"][0]["weights"] == [0.0] * len(scale)
    # animation weights = [psi, pf[kept]] * scale
    anim = doc["animations"][0]
    ch = next(c for c in anim["channels"] if c["target"]["path"] == "weights")
    w = hbns.read_accessor(doc, bin_chunk, anim["samplers"][ch["sampler"]]["output"]).reshape(-1, len(scale))
    seq = art.sequences["talk"]
    values = np.concatenate([seq["expression"][:, :E], skinning.pose_feature(seq["pose"].astype(np.float64))[:, kept]], 1)
    np.testing.assert_allclose(w, values * scale[None], rtol=1e-6, atol=1e-7)
    # read back: deltas x scale within half an i8 step (or the 1e-4 zeroing threshold)
    back = read_bundle(path)
    for a, b in zip(art.layers, back.layers):
        for e in range(E):
            assert np.abs(a.expr_basis[:, e] - b.expr_basis[:, e]).max() <= max(scale[e] / 254, 1e-4) + 1e-7
        for k, p in enumerate(kept):
            assert np.abs(a.pose_basis[:, p] - b.pose_basis[:, p]).max() <= max(scale[E + k] / 254, 1e-4) + 1e-7
    np.testing.assert_allclose(back.sequences["talk"]["expression"], seq["expression"], atol=1e-5)
    # a viewer's deformed vertices equal the artifact's within the per-frame quantisation bound
    top = {"joints_template": art.joints_template, "joints_expr_basis": art.joints_expr_basis,
           "parents": skinning.flame_parents(art.meta["parents"], True), "ghostbone": True}
    for frame in (0, 6):
        e, p = seq["expression"][frame], seq["pose"][frame]
        exact = skinning.deform_exact(art.layers[2].arrays, top, e, p)
        assert np.abs(viewer_vertices(doc, bin_chunk, 2, 0, frame) - exact).max() <= storage_bound(doc, e, p)


def test_morph_tolerance_bounds_the_animated_error(small_artifact, small_bundle, tmp_path):
    """Per target, half a stored step x its largest animation weight stays within
    export.morph_tolerance; 0 gives every target its own full int8 range (scale = peak)."""
    art = small_artifact
    back = read_bundle(small_bundle[0])
    tol = ExportConfig().morph_tolerance
    for seq_name, seq in art.sequences.items():
        w = np.concatenate([seq["expression"][:, : art.n_exp], skinning.pose_feature(seq["pose"].astype(np.float64))], 1)
        for a, b in zip(art.layers, back.layers):
            d = np.concatenate([a.expr_basis, a.pose_basis], 1) - np.concatenate([b.expr_basis, b.pose_basis], 1)
            kept = np.abs(np.concatenate([b.expr_basis, b.pose_basis], 1)).max(axis=(0, 2)) > 0
            # each kept target errs by <= max(tol, epsilon x weight) at any frame of the animation
            per_target = np.abs(d[:, kept]).max(axis=(0, 2)) * np.abs(w[:, kept]).max(axis=0)
            assert np.all(per_target <= np.maximum(tol, 1e-4 * np.abs(w[:, kept]).max(axis=0)) * (1 + 1e-3) + 1e-9), seq_name
    path = tmp_path / "exact.glb"
    export_glb(art, path, ExportConfig(morph_tolerance=0, meshopt=False), progress=False)
    doc, _ = _accessors(path)
    mt = doc["extensions"][EXT]["morphTargets"]
    peak = np.max([np.abs(np.concatenate([l.expr_basis, l.pose_basis[:, mt["pose"]]], 1)).max(axis=(0, 2)) for l in art.layers], axis=0)
    np.testing.assert_allclose(mt["scale"], peak, rtol=1e-6)
    assert path.stat().st_size > small_bundle[0].stat().st_size


def test_negligible_pose_correctives_are_left_out(small_artifact, small_bundle, tmp_path):
    """The small preset's eye correctives (pose features 18..35) are zero: left out with their
    weights; morph_drop = 0 keeps all 36; a larger threshold drops what is below it."""
    doc, _ = _accessors(small_bundle[0])
    assert doc["extensions"][EXT]["morphTargets"]["pose"] == list(range(18))
    assert doc["meshes"][0]["extras"]["targetNames"][-1] == "pose_17"
    assert any("left out 18 pose-corrective targets" in n for n in small_bundle[1].notes)
    peaks = np.max([np.abs(l.pose_basis).max(axis=(0, 2)) for l in small_artifact.layers], axis=0)
    thr = float(np.sort(peaks[:18])[5]) * 1.0001  # drops the 6 smallest of the 18 non-zero ones too
    path = tmp_path / "drop.glb"
    export_glb(small_artifact, path, ExportConfig(morph_drop=thr, meshopt=False), progress=False)
    doc2, _ = _accessors(path)
    kept = doc2["extensions"][EXT]["morphTargets"]["pose"]
    assert kept == [p for p in range(36) if peaks[p] >= thr] and len(kept) == 12
    back = read_bundle(path)
    for a, b in zip(small_artifact.layers, back.layers):
        dropped = [p for p in range(36) if p not in kept]
        assert np.all(b.pose_basis[:, dropped] == 0)
        assert np.abs(a.pose_basis[:, dropped]).max() < thr
    path0 = tmp_path / "all.glb"
    export_glb(small_artifact, path0, ExportConfig(morph_drop=0, meshopt=False), progress=False)
    assert _accessors(path0)[0]["extensions"][EXT]["morphTargets"]["pose"] == list(range(36))


def test_dense_or_sparse_whichever_is_smaller():
    rng = np.random.default_rng(0)
    V = 1000
    dense = rng.integers(-127, 128, (V, 3)).astype(np.int8)
    sparse = np.zeros((V, 3), np.int8)
    sparse[rng.choice(V, 50, replace=False)] = 7
    for meshopt in (False, True):
        b = GltfBuilder(meshopt=meshopt)
        ad, asp = b.add_target_accessor(dense, "m", normalized=True), b.add_target_accessor(sparse, "m", normalized=True)
        acc_d, acc_s = b.doc["accessors"][ad], b.doc["accessors"][asp]
        assert "sparse" not in acc_d and acc_d["bufferView"] is not None
        assert "sparse" in acc_s and "bufferView" not in acc_s and acc_s["sparse"]["count"] == 50
        glb = b.to_glb()
        doc, bin_chunk = parse_glb(glb)
        np.testing.assert_array_equal(hbns.read_accessor(doc, bin_chunk, ad), np.maximum(dense / 127.0, -1))
        np.testing.assert_array_equal(hbns.read_accessor(doc, bin_chunk, asp), sparse / 127.0)
        # dense rows: 4-byte padded (plain) or meshopt-compressed, never the sparse index overhead
        assert (b.part_bytes["m"] < 4 * V + 50 * 5 + 16) if meshopt else (b.part_bytes["m"] == 4 * V + 50 * (2 + 3))


def test_meshopt_views_decode_to_the_plain_bytes(small_artifact, small_bundle, tmp_path):
    """Every accessor of the meshopt bundle decodes to exactly what the uncompressed export stores."""
    plain = tmp_path / "plain.glb"
    export_glb(small_artifact, plain, ExportConfig(meshopt=False), progress=False)
    d1, b1 = _accessors(small_bundle[0])
    d2, b2 = _accessors(plain)
    assert "EXT_meshopt_compression" in d1["extensionsRequired"] and "EXT_meshopt_compression" not in d2.get("extensionsUsed", [])
    assert d1["buffers"][1] == {"byteLength": d1["buffers"][1]["byteLength"], "extensions": {"EXT_meshopt_compression": {"fallback": True}}}
    compressed = [i for i, v in enumerate(d1["bufferViews"]) if "extensions" in v]
    assert len(compressed) > 8 * 3  # vertex attributes, indices and morph targets of 3 layers
    assert len(d1["accessors"]) == len(d2["accessors"])
    for i in range(len(d1["accessors"])):
        np.testing.assert_array_equal(hbns.read_accessor(d1, b1, i), hbns.read_accessor(d2, b2, i))
    assert small_bundle[0].stat().st_size < plain.stat().st_size


def test_shared_alpha_atlas_round_trip():
    rng = np.random.default_rng(1)
    pos = rng.integers(0, 256, (16, 16, 8), dtype=np.uint8)
    rad = rng.integers(0, 256, (5, 16, 16, 4), dtype=np.uint8)
    rad[..., 3] = rad[:1, ..., 3]
    p, r = textures.make_atlases(pos, rad, "webp", 90, True)  # lossless radiance: exact
    assert r.shared_alpha
    img = textures.decode(r.image)
    tiles = textures.unpack_tiles(img, r.grid, r.count)
    assert np.all(tiles[1:, ..., 3] == 0)
    pos2, rad2 = textures.atlas_arrays(p, r, "t")
    np.testing.assert_array_equal(rad2, rad)
    np.testing.assert_array_equal(pos2, pos)
    rad[2, 0, 0, 3] ^= 1  # one basis differs: alpha stays per basis
    _, r2 = textures.make_atlases(pos, rad, "webp", 90, True)
    assert not r2.shared_alpha
    np.testing.assert_array_equal(textures.atlas_arrays(p, r2, "t")[1], rad)
    _, r3 = textures.make_atlases(pos, rad * 0 + rad[:1], "webp", 90, True, shared_alpha=False)
    assert not r3.shared_alpha


def test_bundle_extension_marks_shared_alpha(small_bundle):
    doc, bin_chunk = _accessors(small_bundle[0])
    ns = hbns.read(doc, bin_chunk)
    assert all(L.radiance.shared_alpha for L in ns.layers)
    assert all(doc["extensions"][EXT]["layers"][i]["radiance"]["sharedAlpha"] is True for i in range(len(ns.layers)))


def test_size_budget_lowers_texture_quality(small_artifact, tmp_path):
    path = tmp_path / "budget.glb"
    report = export_glb(small_artifact, path, ExportConfig(max_mb=0.001, meshopt=False), progress=False)
    assert any("morph tolerance widened from 0.0001 to 0.00025" in n and "quality lowered from 20 to 5" in n
               for n in report.notes), report.notes
    assert any(n.startswith("warning:") for n in report.notes)  # 1 kB cannot be met
    assert report.total == path.stat().st_size


def test_size_budget_widens_morph_tolerance_first(small_artifact, tmp_path):
    """A budget that the wider morph tolerance alone meets keeps the texture quality."""
    sizes = {}
    for tol in (1e-4, 2.5e-4):
        sizes[tol] = export_glb(small_artifact, tmp_path / f"t{tol}.glb", ExportConfig(max_mb=0, morph_tolerance=tol),
                                progress=False).total
    assert sizes[2.5e-4] < sizes[1e-4]
    mb = (sizes[2.5e-4] + sizes[1e-4]) / 2e6
    report = export_glb(small_artifact, tmp_path / "b.glb", ExportConfig(max_mb=mb), progress=False)
    assert report.total == sizes[2.5e-4]
    assert any("morph tolerance widened" in n and "WebP" not in n for n in report.notes), report.notes
    assert not any(n.startswith("warning:") for n in report.notes)


@pytest.mark.parametrize("key,value", [("morph_bits", 12), ("morph_drop", -1.0), ("position_quality", 101),
                                       ("alpha_quality", 0), ("max_mb", -1.0), ("morph_tolerance", -1e-4),
                                       ("budget_morph_tolerance", -1.0)])
def test_config_rejects_bad_values(key, value):
    cfg = ExportConfig(**{key: value})
    with pytest.raises(ValueError, match=f"export.{key}"):
        cfg.validate()
