"""HB_neural_shading round trip: write -> exact JSON (incl. extensionsUsed) -> read -> same values."""

from __future__ import annotations

import numpy as np
import pytest

from export import hb_neural_shading as hbns
from export.gltf_builder import GltfBuilder, parse_glb


def _sample() -> hbns.NeuralShading:
    rng = np.random.default_rng(1)
    atlas = lambda tag, n, grid: hbns.Atlas(b"\x89PNG-" + tag.encode(), "image/png", grid, (8, 4), n)  # noqa: E731
    return hbns.NeuralShading(
        shading={"n_exp": 3, "dim_pos_feature": 8, "num_texture_basis": 5, "temperature": 10.0,
                 "frame_hidden": [4], "pixel_hidden": [2]},
        frame_onnx=b"frame-onnx-bytes", pixel_onnx=b"pixel-onnx-bytes-longer",
        joint_names=["ghost", "root", "neck", "jaw", "eye_left", "eye_right"],
        joint_nodes=[1, 2, 3, 4, 5], ghost_node=0, parents=[-1, -1, 1, 2, 2, 2],
        joints_template=rng.normal(size=(5, 3)).astype(np.float32),
        joints_expr_basis=rng.normal(size=(5, 3, 3)).astype(np.float32),
        n_expression_targets=3, pose_targets=[0, 4, 35],
        layers=[hbns.ShadingLayer("inner", -0.2, True, 0, 6, atlas("p0", 8, (2, 1)), atlas("r0", 5, (4, 2))),
                hbns.ShadingLayer("outer", 0.0, False, 1, 7, atlas("p1", 8, (2, 1)), atlas("r1", 5, (4, 2)))],
        camera={"node": 8, "K": [[-100.0, 0.0, 32.0], [0.0, 100.0, 32.0], [0.0, 0.0, 1.0]], "width": 64, "height": 64},
    )


def test_round_trip_exact_json_and_values():
    ns = _sample()
    b = GltfBuilder()
    hbns.write(b, ns)
    doc, bin_chunk = parse_glb(b.to_glb())
    assert doc["extensionsUsed"] == [hbns.NAME]
    assert "extensionsRequired" not in doc  # a viewer without it still shows the mesh
    ext = doc["extensions"][hbns.NAME]
    assert ext == {
        "version": 1,
        "shading": ns.shading,
        "models": {
            "frame": {"bufferView": 0, "mimeType": "application/onnx", "inputs": ["expression", "pose"], "outputs": ["theta"]},
            "pixel": {"bufferView": 1, "mimeType": "application/onnx", "inputs": ["z", "theta"], "outputs": ["coef"]},
        },
        "joints": {"names": ns.joint_names, "nodes": [1, 2, 3, 4, 5], "ghostNode": 0, "parents": [-1, -1, 1, 2, 2, 2],
                   "template": 0, "exprBasis": 1},
        "morphTargets": {"expression": 3, "pose": [0, 4, 35]},
        "layers": [
            {"name": "inner", "level": -0.2, "opaque": True, "mesh": 0, "node": 6,
             "positionFeatures": {"texture": 0, "channels": 8, "grid": [2, 1], "tileSize": [8, 4]},
             "radiance": {"texture": 1, "bases": 5, "grid": [4, 2], "tileSize": [8, 4]}},
            {"name": "outer", "level": 0.0, "opaque": False, "mesh": 1, "node": 7,
             "positionFeatures": {"texture": 2, "channels": 8, "grid": [2, 1], "tileSize": [8, 4]},
             "radiance": {"texture": 3, "bases": 5, "grid": [4, 2], "tileSize": [8, 4]}},
        ],
        "compositing": hbns.DEFAULT_COMPOSITING,
        "camera": ns.camera,
    }
    back = hbns.read(doc, bin_chunk)
    for f in ("shading", "frame_onnx", "pixel_onnx", "joint_names", "joint_nodes", "ghost_node", "parents",
              "n_expression_targets", "pose_targets", "layers", "camera", "compositing"):
        assert getattr(back, f) == getattr(ns, f), f
    np.testing.assert_array_equal(back.joints_template, ns.joints_template)
    np.testing.assert_array_equal(back.joints_expr_basis, ns.joints_expr_basis)


def test_webp_textures_use_ext_texture_webp():
    ns = _sample()
    ns.layers[0].radiance.mime = "image/webp"
    b = GltfBuilder()
    hbns.write(b, ns)
    doc, bin_chunk = parse_glb(b.to_glb())
    tex = doc["textures"][doc["extensions"][hbns.NAME]["layers"][0]["radiance"]["texture"]]
    assert "source" not in tex and tex["extensions"][hbns.WEBP_EXT]["source"] >= 0
    assert hbns.read(doc, bin_chunk).layers[0].radiance == ns.layers[0].radiance


def test_read_names_missing_fields():
    b = GltfBuilder()
    hbns.write(b, _sample())
    doc, bin_chunk = parse_glb(b.to_glb())
    del doc["extensions"][hbns.NAME]["joints"]
    with pytest.raises(hbns.ExtensionError, match="lacks field 'joints'"):
        hbns.read(doc, bin_chunk, "x.glb")
    doc["extensionsUsed"] = []
    with pytest.raises(hbns.ExtensionError, match="extensionsUsed lacks"):
        hbns.read(doc, bin_chunk, "x.glb")
