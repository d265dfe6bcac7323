"""`--from-bakedavatar`: a mesh_data.pkl written in BakedAvatar's schema (spec 4.2) -> .glb,
loaded without running pickled code."""

from __future__ import annotations

import json
import pickle
import zipfile

import numpy as np
import pytest
import torch

from export import validation
from export.artifact import ArtifactError
from export.bakedavatar import load_mesh_data, safe_load


def mesh_data_from(art, split_seam: bool = True, tensors: bool = False) -> dict:
    """Express an artifact in BakedAvatar's mesh_data.pkl schema (numpy arrays, (out,in) MLP)."""
    rng = np.random.default_rng(0)
    E = art.n_exp
    n_t = 40  # a small stand-in for FLAME's 5023-vertex template
    v_t = rng.normal(size=(n_t, 3)).astype(np.float32)
    v_t[:5] = art.joints_template
    Jr = np.zeros((5, n_t), np.float32)
    Jr[np.arange(5), np.arange(5)] = 1.0  # joints = the first five template vertices
    sd = rng.normal(size=(n_t, 3, E)).astype(np.float32) * 0.01
    sd[:5] = art.joints_expr_basis
    meshes = []
    for L in art.layers:
        a = L.arrays
        faces, faces_uv, verts = a["faces"], a["faces"], a
        if split_seam:  # merge vertices 0 and 1 positions: faces index the position set, faces_uv the uv set
            faces = np.where(a["faces"] == 1, 0, a["faces"]).astype(np.int32)
        meshes.append({
            "level": np.float32(L.level), "vertices": a["vertices"], "faces": faces,
            "shapedirs": a["expr_basis"], "posedirs": a["pose_basis"], "lbs_weights": a["skin_weights"],
            "normals": a["normals"], "uvs": a["uvs"], "faces_uv": faces_uv.astype(np.int32),
            "position_texture": a["pos_texture"], "radiance_textures": a["radiance"],
        })
    m = art.frame_mlp
    g = {"fc0_weight": m["hidden.0.weight"], "fc0_bias": m["hidden.0.bias"], "act0_weight": m["acts.0.weight"],
         "fc1_weight": m["hidden.1.weight"], "fc1_bias": m["hidden.1.bias"], "act1_weight": m["acts.1.weight"],
         "fc2_weight": m["out.weight"], "fc2_bias": m["out.bias"]}
    if tensors:
        g = {k: torch.from_numpy(v.copy()) for k, v in g.items()}
    return {
        "common": {"v_template": v_t, "shapedirs": sd, "posedirs": rng.normal(size=(36, n_t * 3)).astype(np.float32),
                   "lbs_weights": np.full((n_t, 5), 0.2, np.float32), "J_regressor": Jr,
                   "parents": np.array([-1, 0, 1, 1, 1], np.int32)},
        "meshes": meshes, "ghostbone": True, "dim_pos_feature": 8, "num_texture_basis": 16,
        "spatial_mlp_temperature": 10.0, "global_mlp": g,
    }


@pytest.mark.parametrize("tensors", [False, True])
def test_convert_and_export(small_artifact, tmp_path, tensors):
    pkl = tmp_path / "mesh_data.pkl"
    torch.save(mesh_data_from(small_artifact, tensors=tensors), pkl)
    seq = tmp_path / "subj" / "test" / "flame_params.json"
    seq.parent.mkdir(parents=True)
    s = small_artifact.sequences["talk"]
    frames = [{"expression": list(map(float, e)) + [0.0] * 42, "pose": list(map(float, p)),
               "world_mat": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, -4.2]], "file_path": f"./image/{i + 1}"}
              for i, (e, p) in enumerate(zip(s["expression"], s["pose"]))]
    seq.write_text(json.dumps({"intrinsics": [-2.0, 2.0, 0.5, 0.5], "shape_params": [0.0] * 100, "frames": frames}))
    art = load_mesh_data(pkl, sequences=[str(seq)])
    np.testing.assert_allclose(art.joints_template, small_artifact.joints_template, atol=1e-6)
    np.testing.assert_allclose(art.joints_expr_basis, small_artifact.joints_expr_basis, atol=1e-6)
    assert art.meta["shading"]["frame_hidden"] == [64, 64] and art.meta["shading"]["pixel_hidden"] == [16]
    assert (art.layers[0].radiance[..., 3] == 255).all()
    for k, v in small_artifact.frame_mlp.items():
        np.testing.assert_array_equal(art.frame_mlp[k], v)
    # seam duplication (spec 6.2): the uv vertex of old vertex 1 takes vertex 0's attributes,
    # unreferenced uv vertices are dropped; every face keeps its uvs
    a0, b0 = small_artifact.layers[0].arrays, art.layers[0].arrays
    np.testing.assert_array_equal(b0["uvs"][b0["faces"]], a0["uvs"][a0["faces"]])
    expect = a0["vertices"][np.where(a0["faces"] == 1, 0, a0["faces"])]
    np.testing.assert_array_equal(b0["vertices"][b0["faces"]], expect)
    assert art.sequences["subj_test"]["expression"].shape == s["expression"].shape
    assert art.meta["camera"]["w2c"][2][3] == -4.2

    from export.__main__ import main

    out = tmp_path / "dist"
    assert main(["--from-bakedavatar", str(pkl), "--sequence", str(seq), "-o", str(out), "--no-preview"]) == 0
    glb = out / "mesh_data.glb"
    assert glb.is_file()
    from export.gltf_read import read_bundle

    back = read_bundle(glb)
    assert len(back.layers) == len(small_artifact.layers) and "subj_test" in back.sequences
    if validation.available():
        (rep,) = validation.validate_files(glb)
        assert rep["numErrors"] == 0 and not validation.unexplained(rep)


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > /tmp/headbake_pwned",))


def test_malicious_pickle_is_refused(tmp_path):
    pkl = tmp_path / "mesh_data.pkl"
    torch.save({"common": _Evil()}, pkl)
    with pytest.raises(ArtifactError, match=r"refusing to load global '(posix|os)\.system'"):
        safe_load(pkl)
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"x": _Evil()}, protocol=2))
    with pytest.raises(ArtifactError, match="refusing"):
        safe_load(plain)


def test_bad_mesh_data_messages(small_artifact, tmp_path):
    d = mesh_data_from(small_artifact, split_seam=False)
    d["meshes"][1]["lbs_weights"] = d["meshes"][1]["lbs_weights"].copy()
    d["meshes"][1]["lbs_weights"][3, 0] = np.nan
    pkl = tmp_path / "nan.pkl"
    torch.save(d, pkl)
    with pytest.raises(ArtifactError, match=r"layers\[1\]\.skin_weights contains NaN"):
        load_mesh_data(pkl)
    del d["meshes"][0]["faces"]
    torch.save(d, pkl)
    with pytest.raises(ArtifactError, match=r"meshes\[0\]: missing field 'faces'"):
        load_mesh_data(pkl)
    trunc = tmp_path / "trunc.pkl"
    torch.save(mesh_data_from(small_artifact), trunc)
    trunc.write_bytes(trunc.read_bytes()[:5000])
    with pytest.raises(ArtifactError, match="trunc.pkl"):
        load_mesh_data(trunc)
    with pytest.raises(ArtifactError, match="not found"):
        load_mesh_data(tmp_path / "missing.pkl")


def write_unpacked(d: dict, root) -> None:
    """What BakedAvatar's unpack_pkl.py writes (spec 6.1/6.3): .npy per array, atlased textures."""
    root.mkdir(parents=True, exist_ok=True)

    def desc(arr, rel):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        np.save(root / rel, np.ascontiguousarray(arr))
        return {"path": rel, "shape": list(arr.shape), "dtype": str(arr.dtype)}

    meta = {k: d[k] for k in ("ghostbone", "dim_pos_feature", "num_texture_basis", "spatial_mlp_temperature")}
    meta["common"] = {k: desc(v, f"common/{k}.npy") for k, v in d["common"].items()}
    meta["global_mlp"] = {k: desc(np.asarray(v), f"global_mlp/{k}.npy") for k, v in d["global_mlp"].items()}
    meta["meshes"] = []
    for i, m in enumerate(d["meshes"]):
        entry = {"level": float(m["level"])}
        for k in ("vertices", "faces", "shapedirs", "posedirs", "lbs_weights", "normals", "uvs"):
            entry[k] = desc(m[k], f"meshes_{i}/{k}.npy")
        pos = m["position_texture"]
        entry["position_texture"] = desc(np.concatenate([pos[..., :4], pos[..., 4:8]], axis=1), f"meshes_{i}/position_texture.npy")
        rad = m["radiance_textures"]
        rows = [np.concatenate(list(rad[r * 4 : (r + 1) * 4]), axis=1) for r in range(4)]
        entry["radiance_texture"] = desc(np.concatenate(rows, axis=0), f"meshes_{i}/radiance_texture.npy")
        meta["meshes"].append(entry)
    (root / "metadata.json").write_text(json.dumps(meta))
    return meta


def test_unpacked_folder_matches_pickle(small_artifact, tmp_path):
    d = mesh_data_from(small_artifact, split_seam=False)
    pkl = tmp_path / "mesh_data.pkl"
    torch.save(d, pkl)
    meta = write_unpacked(d, tmp_path / "mesh_data")
    a, b = load_mesh_data(pkl), load_mesh_data(tmp_path / "mesh_data")
    for la, lb in zip(a.layers, b.layers):
        for k in la.arrays:
            np.testing.assert_array_equal(la.arrays[k], lb.arrays[k], err_msg=k)
    # a descriptor pointing outside the folder is refused, and no bundle is written
    secret = tmp_path / "secret.npy"
    np.save(secret, np.zeros((4, 4, 4), np.uint8))
    meta["meshes"][1]["radiance_texture"]["path"] = "../secret.npy"
    (tmp_path / "mesh_data" / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=r"meshes\[1\]\.radiance_texture: path '\.\./secret\.npy' points outside"):
        load_mesh_data(tmp_path / "mesh_data")
    from export.__main__ import main

    assert main(["--from-bakedavatar", str(tmp_path / "mesh_data"), "-o", str(tmp_path / "dist"), "--no-preview"]) == 2
    assert not (tmp_path / "dist").exists()
