"""The `HB_neural_shading` glTF extension: everything standard glTF cannot carry.

One module, the name defined once (`NAME`). `write` puts a `NeuralShading` into a
`GltfBuilder` (images, textures, accessors, buffer views, the root extension object and
`extensionsUsed`); `read` takes a parsed document + BIN chunk and returns an equal
`NeuralShading`. docs/bundle.md documents the JSON; tests/export/test_hb_neural_shading.py is
the round trip.

Root-level JSON (all indices are into the glTF arrays of the same file):

    "HB_neural_shading": {
      "version": 1,
      "shading": {n_exp, dim_pos_feature, num_texture_basis, temperature, frame_hidden, pixel_hidden},
      "models": {"frame": {"bufferView", "mimeType", "inputs", "outputs"},
                 "pixel": {...}},
      "joints": {"names", "nodes", "ghostNode", "parents", "template" (accessor VEC3 x5),
                 "exprBasis" (accessor VEC3 x 5*E, row (j*E + e) = d joint j / d psi_e)},
      "morphTargets": {"expression": E, "pose": [pose-feature index of each pose target],
                       "scale": [per target: stored delta x scale = delta; weight = value x scale]},
      "layers": [{"name", "level", "opaque", "mesh", "node",
                  "positionFeatures": {"texture", "channels", "grid": [cols, rows], "tileSize": [w, h]},
                  "radiance": {"texture", "bases", "grid", "tileSize", "sharedAlpha"}}],
      "compositing": {"order": "inner-to-outer", "blend": "over", "alpha": "straight",
                      "innerLayerAlpha": 1.0, "depth": "nearest-front-face-per-layer",
                      "background": [1, 1, 1]},
      "camera": {"node", "K", "width", "height"}
    }
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from export.gltf_builder import COMPONENT, DTYPE, MESHOPT, WIDTH_BY_TYPE, GltfBuilder, dequantize

NAME = "HB_neural_shading"
VERSION = 1
ONNX_MIME = "application/onnx"
DEFAULT_COMPOSITING = {
    "order": "inner-to-outer",
    "blend": "over",
    "alpha": "straight",
    "innerLayerAlpha": 1.0,
    "depth": "nearest-front-face-per-layer",
    "background": [1.0, 1.0, 1.0],
}


@dataclass
class Atlas:
    """An image holding `count` tiles of `channels` (4 per tile) in a `grid` = [cols, rows]."""

    image: bytes
    mime: str
    grid: tuple[int, int]
    tile_size: tuple[int, int]
    """(width, height) of one tile in texels."""
    count: int
    """Position-feature channels (D) or radiance bases (K)."""
    shared_alpha: bool = False
    """Radiance only: every basis has the same alpha, stored once in tile 0's A channel (the
    other tiles' A is 0 and unused)."""


@dataclass
class ShadingLayer:
    name: str
    level: float
    opaque: bool
    mesh: int
    node: int
    position_features: Atlas
    radiance: Atlas


@dataclass
class NeuralShading:
    """The extension's values (payloads resolved: bytes and arrays, not indices)."""

    shading: dict
    frame_onnx: bytes
    pixel_onnx: bytes
    joint_names: list[str]
    joint_nodes: list[int]
    ghost_node: int | None
    parents: list[int]
    joints_template: np.ndarray
    """(5, 3) float32."""
    joints_expr_basis: np.ndarray
    """(5, 3, E) float32."""
    n_expression_targets: int
    pose_targets: list[int]
    layers: list[ShadingLayer]
    morph_scale: list[float] | None = None
    """Per morph target (expression targets, then pose targets): stored deltas x scale = the
    artifact's deltas; morph weights = expression/pose feature x scale. None: all 1."""
    camera: dict = field(default_factory=dict)
    compositing: dict = field(default_factory=lambda: dict(DEFAULT_COMPOSITING))


class ExtensionError(ValueError):
    """The extension JSON is missing or malformed; the message names the field."""


WEBP_EXT = "EXT_texture_webp"


def texture_json(image: int, sampler: int | None, webp: bool) -> dict:
    """A glTF texture object; WebP images go through EXT_texture_webp (declared required)."""
    d = {} if sampler is None else {"sampler": sampler}
    if webp:
        d["extensions"] = {WEBP_EXT: {"source": image}}
    else:
        d["source"] = image
    return d


def texture_image(tex: dict) -> int:
    """Image index of a texture object (core `source` or EXT_texture_webp's)."""
    if "source" in tex:
        return tex["source"]
    return tex["extensions"][WEBP_EXT]["source"]


def _add_texture(b: GltfBuilder, atlas: Atlas, part: str, name: str, sampler: int) -> int:
    img = b.add_image(atlas.image, atlas.mime, part, name=name)
    return b.add("textures", texture_json(img, sampler, atlas.mime == "image/webp") | {"name": name})


def _atlas_json(tex: int, a: Atlas, key: str) -> dict:
    d = {"texture": tex, key: a.count, "grid": list(a.grid), "tileSize": list(a.tile_size)}
    if a.shared_alpha:
        d["sharedAlpha"] = True
    return d


def feature_sampler(b: GltfBuilder) -> int:
    """LINEAR, no mipmaps, CLAMP_TO_EDGE: features are data, not pictures."""
    return b.add("samplers", {"magFilter": 9729, "minFilter": 9729, "wrapS": 33071, "wrapT": 33071})


def write(b: GltfBuilder, ns: NeuralShading) -> dict:
    """Add `ns` to the document; returns the extension object placed at `doc.extensions[NAME]`."""
    if ns.joints_expr_basis.shape[:2] != (5, 3):
        raise ValueError(f"joints_expr_basis must be (5, 3, E); got {ns.joints_expr_basis.shape}")
    E = ns.joints_expr_basis.shape[2]
    sampler = feature_sampler(b)
    models = {}
    for key, blob, ins, outs in (
        ("frame", ns.frame_onnx, ["expression", "pose"], ["theta"]),
        ("pixel", ns.pixel_onnx, ["z", "theta"], ["coef"]),
    ):
        view = b.add_view(blob, f"onnx.{key}")
        models[key] = {"bufferView": view, "mimeType": ONNX_MIME, "inputs": ins, "outputs": outs}
    tmpl = b.add_accessor(np.asarray(ns.joints_template, np.float32), "joints")
    basis = np.ascontiguousarray(np.transpose(np.asarray(ns.joints_expr_basis, np.float32), (0, 2, 1)).reshape(5 * E, 3))
    eb = b.add_accessor(basis, "joints")
    layers = []
    for i, L in enumerate(ns.layers):
        tp = _add_texture(b, L.position_features, f"textures.position", f"{L.name}.position_features", sampler)
        tr = _add_texture(b, L.radiance, f"textures.radiance", f"{L.name}.radiance", sampler)
        layers.append(
            {
                "name": L.name,
                "level": float(L.level),
                "opaque": bool(L.opaque),
                "mesh": L.mesh,
                "node": L.node,
                "positionFeatures": _atlas_json(tp, L.position_features, "channels"),
                "radiance": _atlas_json(tr, L.radiance, "bases"),
            }
        )
    ext = {
        "version": VERSION,
        "shading": dict(ns.shading),
        "models": models,
        "joints": {
            "names": list(ns.joint_names),
            "nodes": list(ns.joint_nodes),
            "ghostNode": ns.ghost_node,
            "parents": list(ns.parents),
            "template": tmpl,
            "exprBasis": eb,
        },
        "morphTargets": {"expression": int(ns.n_expression_targets), "pose": [int(p) for p in ns.pose_targets]},
        "layers": layers,
        "compositing": dict(ns.compositing),
        "camera": dict(ns.camera),
    }
    if ns.morph_scale is not None:
        if len(ns.morph_scale) != ns.n_expression_targets + len(ns.pose_targets):
            raise ValueError(f"morph_scale has {len(ns.morph_scale)} entries; {ns.n_expression_targets + len(ns.pose_targets)} targets")
        ext["morphTargets"]["scale"] = [float(np.float32(x)) for x in ns.morph_scale]
    b.doc.setdefault("extensions", {})[NAME] = ext
    b.use_extension(NAME)
    return ext


# -- reading -------------------------------------------------------------------------------
def view_bytes(doc: dict, bin_chunk: bytes, index: int, where: str) -> bytes:
    try:
        v = doc["bufferViews"][index]
    except (IndexError, KeyError, TypeError):
        raise ExtensionError(f"{where}: bufferView {index!r} does not exist") from None
    mo = (v.get("extensions") or {}).get(MESHOPT)
    if mo is not None:  # EXT_meshopt_compression: the data lives in the extension's range of buffer 0
        start, length = mo.get("byteOffset", 0), mo["byteLength"]
        if mo.get("buffer", 0) != 0 or start + length > len(bin_chunk):
            raise ExtensionError(f"{where}: bufferView {index}: compressed data outside the binary chunk (truncated file?)")
        import meshopt

        try:
            rows = meshopt.decode_gltf_buffer(bin_chunk[start : start + length], mo["count"], mo["byteStride"],
                                              mo["mode"], mo.get("filter", "NONE"))
        except Exception as exc:  # the decoder raises on damaged data
            raise ExtensionError(f"{where}: bufferView {index}: undecodable meshopt data ({exc})") from None
        return np.asarray(rows).tobytes()
    start, length = v.get("byteOffset", 0), v["byteLength"]
    if v.get("buffer", 0) != 0:
        raise ExtensionError(f"{where}: bufferView {index} uses buffer {v.get('buffer')}; a bundle keeps its data in buffer 0")
    if start + length > len(bin_chunk):
        raise ExtensionError(f"{where}: bufferView {index} runs past the binary chunk (truncated file?)")
    return bin_chunk[start : start + length]


def read_accessor(doc: dict, bin_chunk: bytes, index: int, where: str = "accessor") -> np.ndarray:
    """Dense or sparse accessor -> array (count, width) of floats as a viewer decodes it."""
    try:
        acc = doc["accessors"][index]
    except (IndexError, KeyError, TypeError):
        raise ExtensionError(f"{where}: accessor {index!r} does not exist") from None
    dtype = DTYPE[acc["componentType"]]
    width = WIDTH_BY_TYPE[acc["type"]]
    count = acc["count"]
    out = np.zeros((count, width), dtype)
    if "bufferView" in acc:
        raw = view_bytes(doc, bin_chunk, acc["bufferView"], where)
        stride = doc["bufferViews"][acc["bufferView"]].get("byteStride") or width * dtype.itemsize
        off = acc.get("byteOffset", 0)
        buf = np.frombuffer(raw, np.uint8)
        rows = np.lib.stride_tricks.as_strided(buf[off:], shape=(count, width * dtype.itemsize), strides=(stride, 1))
        out = np.ascontiguousarray(rows).view(dtype).reshape(count, width).copy()
    sp = acc.get("sparse")
    if sp:
        idt = DTYPE[sp["indices"]["componentType"]]
        ib = view_bytes(doc, bin_chunk, sp["indices"]["bufferView"], where)
        vb = view_bytes(doc, bin_chunk, sp["values"]["bufferView"], where)
        io, vo = sp["indices"].get("byteOffset", 0), sp["values"].get("byteOffset", 0)
        idx = np.frombuffer(ib, idt, count=sp["count"], offset=io)
        vals = np.frombuffer(vb, dtype, count=sp["count"] * width, offset=vo).reshape(-1, width)
        out[idx] = vals
    return dequantize(out, acc.get("normalized", False))


def _image_of_texture(doc: dict, bin_chunk: bytes, tex: int, where: str) -> tuple[bytes, str]:
    try:
        img = doc["images"][texture_image(doc["textures"][tex])]
    except (IndexError, KeyError, TypeError):
        raise ExtensionError(f"{where}: texture {tex!r} or its image does not exist") from None
    return view_bytes(doc, bin_chunk, img["bufferView"], where), img["mimeType"]


def _atlas(doc, bin_chunk, d: dict, key: str, where: str) -> Atlas:
    data, mime = _image_of_texture(doc, bin_chunk, d["texture"], where)
    return Atlas(data, mime, tuple(d["grid"]), tuple(d["tileSize"]), int(d[key]), bool(d.get("sharedAlpha", False)))


def _morph_scale(mt: dict, where: str) -> list[float] | None:
    if "scale" not in mt:
        return None
    sc = [float(x) for x in mt["scale"]]
    if len(sc) != int(mt["expression"]) + len(mt["pose"]) or not all(np.isfinite(sc)):
        raise ExtensionError(f"{where}: morphTargets.scale must have one finite entry per target")
    return sc


def read(doc: dict, bin_chunk: bytes, where: str = "bundle") -> NeuralShading:
    """Parse the extension of a document (as from `gltf_builder.parse_glb`)."""
    if NAME not in doc.get("extensionsUsed", []):
        raise ExtensionError(f"{where}: extensionsUsed lacks {NAME!r} (not a headbake bundle?)")
    try:
        ext = doc["extensions"][NAME]
    except KeyError:
        raise ExtensionError(f"{where}: extensions.{NAME} missing") from None
    if ext.get("version") != VERSION:
        raise ExtensionError(f"{where}: extensions.{NAME}.version must be {VERSION}; got {ext.get('version')!r}")
    try:
        E = int(ext["shading"]["n_exp"])
        j = ext["joints"]
        tmpl = read_accessor(doc, bin_chunk, j["template"], f"{where}: joints.template").astype(np.float32)
        eb = read_accessor(doc, bin_chunk, j["exprBasis"], f"{where}: joints.exprBasis").astype(np.float32)
        eb = np.ascontiguousarray(eb.reshape(5, E, 3).transpose(0, 2, 1))
        layers = [
            ShadingLayer(
                L["name"], float(L["level"]), bool(L["opaque"]), int(L["mesh"]), int(L["node"]),
                _atlas(doc, bin_chunk, L["positionFeatures"], "channels", f"{where}: layers[{i}].positionFeatures"),
                _atlas(doc, bin_chunk, L["radiance"], "bases", f"{where}: layers[{i}].radiance"),
            )
            for i, L in enumerate(ext["layers"])
        ]
        m = ext["models"]
        return NeuralShading(
            shading=dict(ext["shading"]),
            frame_onnx=view_bytes(doc, bin_chunk, m["frame"]["bufferView"], f"{where}: models.frame"),
            pixel_onnx=view_bytes(doc, bin_chunk, m["pixel"]["bufferView"], f"{where}: models.pixel"),
            joint_names=list(j["names"]),
            joint_nodes=list(j["nodes"]),
            ghost_node=j["ghostNode"],
            parents=list(j["parents"]),
            joints_template=tmpl,
            joints_expr_basis=eb,
            n_expression_targets=int(ext["morphTargets"]["expression"]),
            pose_targets=list(ext["morphTargets"]["pose"]),
            layers=layers,
            morph_scale=_morph_scale(ext["morphTargets"], where),
            camera=dict(ext.get("camera", {})),
            compositing=dict(ext["compositing"]),
        )
    except KeyError as exc:
        raise ExtensionError(f"{where}: extensions.{NAME} lacks field {exc.args[0]!r}") from None
