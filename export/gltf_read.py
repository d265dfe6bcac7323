"""Read a headbake .glb back into an `Artifact` (an independent check of the writer).

The container and the core JSON come from pygltflib (not our builder); accessors are decoded by
`hb_neural_shading.read_accessor` following the glTF spec (strides, sparse, normalised ints).
What comes back differs from the exported artifact only by what the bundle stores lossily:
top-4 skin weights, quantised normals/UVs/morph deltas, and lossy textures when chosen.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from export import hb_neural_shading as hbns
from export import skinning, textures
from export.artifact import Artifact, ArtifactError, Layer, validate
from export.writer import expand_weights


def load_document(path: str | os.PathLike) -> tuple[dict, bytes]:
    """GLB file -> (JSON document, BIN chunk) via pygltflib; errors name the file."""
    import pygltflib

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: bundle not found")
    data = path.read_bytes()
    from export.gltf_builder import parse_glb

    try:
        parse_glb(data, str(path))  # header/chunk sanity first: pygltflib is lenient with truncation
        g = pygltflib.GLTF2.load_from_bytes(data)
    except ValueError as exc:
        raise ArtifactError(str(exc)) from None
    except Exception as exc:  # pygltflib raises assorted errors on damaged files
        raise ArtifactError(f"{path}: unreadable glTF binary ({exc})") from None
    doc = json.loads(g.to_json())
    for key in ("buffers", "images"):
        for i, item in enumerate(doc.get(key, [])):
            if item.get("uri") is not None:
                raise ArtifactError(f"{path}: {key}[{i}].uri = {item['uri']!r}: a bundle must be self-contained "
                                    "(external or out-of-folder files are refused)")
    return doc, bytes(g.binary_blob() or b"")


def viewer_vertices(doc: dict, bin_chunk: bytes, layer: int, animation: int, frame: int) -> np.ndarray:
    """Vertices (V,3) of `layer` as a standard glTF viewer shows keyframe `frame` of `animation`:
    node TRS from the channels, joint world matrices, inverse bind matrices, morph weights."""
    ns = hbns.read(doc, bin_chunk)
    acc = lambda i: hbns.read_accessor(doc, bin_chunk, i)  # noqa: E731
    nodes = [dict(n) for n in doc["nodes"]]
    anim = doc["animations"][animation]
    L = ns.layers[layer]
    weights = np.asarray(doc["meshes"][L.mesh].get("weights", []), np.float64)
    for ch in anim["channels"]:
        out = acc(anim["samplers"][ch["sampler"]]["output"])
        node, kind = ch["target"]["node"], ch["target"]["path"]
        if kind == "weights":
            row = out.reshape(-1, len(weights))[frame]
            if node == L.node:
                weights = row
        else:
            nodes[node][kind] = out[frame].tolist()
    parent = {c: i for i, n in enumerate(nodes) for c in n.get("children", [])}

    def world(i):
        M = _node_matrix(nodes[i])
        return world(parent[i]) @ M if i in parent else M

    skin = doc["skins"][doc["nodes"][L.node]["skin"]]
    jm = np.stack([world(j) for j in skin["joints"]])
    ibm = acc(skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1)
    prim = doc["meshes"][L.mesh]["primitives"][0]
    a = prim["attributes"]
    targets = np.stack([acc(t["POSITION"]) for t in prim["targets"]])
    return skinning.deform_gltf(acc(a["POSITION"]), targets, weights, acc(a["JOINTS_0"]).astype(np.int64),
                                acc(a["WEIGHTS_0"]), jm, ibm)


def _frame_state(onnx_bytes: bytes) -> dict[str, np.ndarray]:
    """FrameMLP state dict from the per-frame ONNX graph: Gemm i -> hidden.i (last: out), PRelu i -> acts.i."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load_from_string(onnx_bytes)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    consts = {}
    for n in m.graph.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    inits.update(consts)
    gemms = [n for n in m.graph.node if n.op_type == "Gemm"]
    prelus = [n for n in m.graph.node if n.op_type == "PRelu"]
    state = {}
    for i, g in enumerate(gemms):
        attrs = {a.name: a.i for a in g.attribute}
        W = np.asarray(inits[g.input[1]], np.float32)
        if not attrs.get("transB", 0):
            W = W.T
        prefix = "out" if i == len(gemms) - 1 else f"hidden.{i}"
        state[f"{prefix}.weight"] = np.ascontiguousarray(W)
        state[f"{prefix}.bias"] = np.asarray(inits[g.input[2]], np.float32).reshape(-1)
    for i, p in enumerate(prelus):
        width = state[f"hidden.{i}.bias"].shape[0]
        slope = np.asarray(inits[p.input[1]], np.float32).reshape(-1)
        state[f"acts.{i}.weight"] = np.broadcast_to(slope, (width,)).copy()
    return state


def _axis_angle(q: np.ndarray) -> np.ndarray:
    """Quaternions (..., 4) (x, y, z, w) -> axis-angle (..., 3)."""
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    q = np.where(q[..., 3:4] < 0, -q, q)
    s = np.linalg.norm(q[..., :3], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., 3:4])
    scale = np.where(s > 1e-12, angle / np.maximum(s, 1e-30), 2.0)
    return q[..., :3] * scale


def _node_matrix(node: dict) -> np.ndarray:
    M = np.eye(4)
    if "matrix" in node:
        return np.asarray(node["matrix"], np.float64).reshape(4, 4).T
    if "rotation" in node:
        M[:3, :3] = skinning.quat_to_matrix(np.asarray(node["rotation"]))
    if "scale" in node:
        M[:3, :3] = M[:3, :3] * np.asarray(node["scale"])[None]
    if "translation" in node:
        M[:3, 3] = node["translation"]
    return M


def read_bundle(path: str | os.PathLike) -> Artifact:
    """The bundle at `path` as a validated Artifact."""
    where = str(path)
    doc, bin_chunk = load_document(path)
    ns = hbns.read(doc, bin_chunk, where)
    acc = lambda i, w: hbns.read_accessor(doc, bin_chunk, i, f"{where}: {w}")  # noqa: E731
    E, ghost = ns.n_expression_targets, ns.ghost_node is not None
    J = len(ns.joint_names)
    layers = []
    for li, L in enumerate(ns.layers):
        prim = doc["meshes"][L.mesh]["primitives"][0]
        a = prim["attributes"]
        w = f"layers[{li}]"
        v = acc(a["POSITION"], f"{w}.POSITION").astype(np.float32)
        n = acc(a["NORMAL"], f"{w}.NORMAL")
        n = (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)).astype(np.float32)
        uv = acc(a["TEXCOORD_0"], f"{w}.TEXCOORD_0").astype(np.float32)
        faces = acc(prim["indices"], f"{w}.indices").astype(np.int32).reshape(-1, 3)
        joints = acc(a["JOINTS_0"], f"{w}.JOINTS_0").astype(np.int64)
        wts = acc(a["WEIGHTS_0"], f"{w}.WEIGHTS_0")
        dense_w = expand_weights(joints, wts, J)
        scale = ns.morph_scale or [1.0] * len(prim["targets"])

        def bases(attr: str) -> tuple[np.ndarray, np.ndarray]:
            """The targets' `attr` deltas x scale -> expression (V, E, 3) and pose (V, 36, 3) bases."""
            tg = [acc(t[attr], f"{w}.targets[{k}].{attr}") * scale[k] for k, t in enumerate(prim["targets"])]
            pose = np.zeros((v.shape[0], 36, 3), np.float32)
            for k, p in enumerate(ns.pose_targets):
                pose[:, p] = tg[E + k]
            return np.stack(tg[:E], axis=1).astype(np.float32), pose

        expr, pose = bases("POSITION")
        normal_blend = {}
        with_n = ["NORMAL" in t for t in prim["targets"]]
        if any(with_n):
            if not all(with_n):
                raise ArtifactError(f"{where}: {w}: only some morph targets carry NORMAL deltas")
            normal_blend["normal_expr"], normal_blend["normal_pose"] = bases("NORMAL")
        pos_tex, rad = textures.atlas_arrays(L.position_features, L.radiance, f"{where}: {w}")
        layers.append(Layer(L.name, L.level, L.opaque, {
            "vertices": v, "faces": faces, "uvs": uv, "normals": n, "expr_basis": expr, "pose_basis": pose,
            "skin_weights": (dense_w / dense_w.sum(1, keepdims=True)).astype(np.float32),
            "pos_texture": pos_tex, "radiance": rad, **normal_blend,
        }))
    cam = ns.camera
    c2w = _node_matrix(doc["nodes"][cam["node"]])
    meta = {
        "name": Path(path).stem,
        "shading": ns.shading,
        "joint_names": ns.joint_names,
        "parents": ns.parents,
        "ghostbone": ghost,
        "camera": {"K": cam["K"], "w2c": np.linalg.inv(c2w).tolist(), "width": cam["width"], "height": cam["height"]},
        "source": {"bundle": str(path)},
    }
    sequences = {}
    for anim in doc.get("animations", []):
        rot = {}
        weights = None
        for ch in anim["channels"]:
            s = anim["samplers"][ch["sampler"]]
            node, kind = ch["target"]["node"], ch["target"]["path"]
            if kind == "rotation" and node in ns.joint_nodes:
                rot[ns.joint_nodes.index(node)] = acc(s["output"], f"animations.{anim['name']}")
            elif kind == "weights" and weights is None:
                weights = acc(s["output"], f"animations.{anim['name']}").reshape(-1, E + len(ns.pose_targets))
                if ns.morph_scale is not None:  # stored weights = expression x scale
                    weights = weights / np.asarray(ns.morph_scale, np.float64)[None]
        if weights is None or len(rot) != 5:
            raise ArtifactError(f"{where}: animation {anim.get('name')!r} lacks morph weights or joint rotations")
        pose = np.concatenate([_axis_angle(rot[j]) for j in range(5)], axis=1).astype(np.float32)
        sequences[anim["name"]] = {"expression": weights[:, :E].astype(np.float32), "pose": pose}
    art = Artifact(meta, layers, ns.joints_template.astype(np.float32), ns.joints_expr_basis.astype(np.float32),
                   _frame_state(ns.frame_onnx), sequences)
    validate(art, where)
    return art
