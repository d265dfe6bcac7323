"""Baked avatar artifact -> one .glb (docs/bundle.md): meshes, skin, morph targets, animations,
fallback materials, the training camera and the HB_neural_shading extension.

`export_glb(art, path, cfg)` is the one entry point; it writes atomically (temp file + rename),
so a failure never leaves a partial bundle, and returns a `SizeReport`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from export import hb_neural_shading as hbns
from export import skinning, textures
from export.artifact import Artifact, ArtifactError, validate
from export.config import ExportConfig
from export.gltf_builder import ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER, GltfBuilder, mat4_to_gltf, quantize_snorm, quantize_unorm
from export.onnx_models import check_model, export_frame_model, export_pixel_model
from train.shading import ShadingSpec

QUANT = "KHR_mesh_quantization"
WEBP = "EXT_texture_webp"


@dataclass
class SizeReport:
    """Bytes per part before (raw artifact arrays) and after (inside the .glb)."""

    raw: dict[str, int] = field(default_factory=dict)
    packed: dict[str, int] = field(default_factory=dict)
    total: int = 0
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{'part':<22}{'in':>12}  ->{'out':>12}"]
        for k in sorted(set(self.raw) | set(self.packed)):
            out.append(f"{k:<22}{_mb(self.raw.get(k, 0)):>12}  ->{_mb(self.packed.get(k, 0)):>12}")
        out.append(f"{'total':<22}{_mb(sum(self.raw.values())):>12}  ->{_mb(self.total):>12}")
        return out + self.notes


def _mb(n: int) -> str:
    return f"{n / 1e6:.3f} MB"


def top4_weights(w: np.ndarray, quantize: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(V, J) weights -> JOINTS_0 (V,4) u8, stored WEIGHTS_0 (u16 normalised or f32), and the
    float weights a viewer decodes (V,4). Top 4 renormalised; zero-weight slots use joint 0."""
    V, J = w.shape
    k = min(4, J)
    order = np.argsort(-w, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(w, order, axis=1).astype(np.float64)
    top = np.where(top > 0, top, 0.0)
    top /= np.maximum(top.sum(axis=1, keepdims=True), 1e-12)
    joints = np.zeros((V, 4), np.uint8)
    vals = np.zeros((V, 4))
    joints[:, :k], vals[:, :k] = order, top
    if quantize:
        q = np.rint(vals * 65535).astype(np.int64)
        q[np.arange(V), 0] += 65535 - q.sum(axis=1)  # exact sum; slot 0 holds the largest weight
        stored = q.astype(np.uint16)
        vals = q / 65535.0
    else:
        stored = vals.astype(np.float32)
        vals = stored.astype(np.float64)
    joints[vals == 0] = 0
    return joints, stored, vals


def expand_weights(joints: np.ndarray, vals: np.ndarray, J: int) -> np.ndarray:
    """JOINTS_0/WEIGHTS_0 (V,4) -> dense (V, J)."""
    out = np.zeros((joints.shape[0], J))
    np.add.at(out, (np.arange(joints.shape[0])[:, None].repeat(4, 1), joints.astype(np.int64)), vals)
    return out


def _rot_to_quat(R: np.ndarray) -> list[float]:
    w = np.sqrt(max(0.0, 1.0 + R[0, 0] + R[1, 1] + R[2, 2])) / 2.0
    x = np.copysign(np.sqrt(max(0.0, 1.0 + R[0, 0] - R[1, 1] - R[2, 2])) / 2.0, R[2, 1] - R[1, 2])
    y = np.copysign(np.sqrt(max(0.0, 1.0 - R[0, 0] + R[1, 1] - R[2, 2])) / 2.0, R[0, 2] - R[2, 0])
    z = np.copysign(np.sqrt(max(0.0, 1.0 - R[0, 0] - R[1, 1] + R[2, 2])) / 2.0, R[1, 0] - R[0, 1])
    q = np.array([x, y, z, w])
    return [float(v) for v in q / np.linalg.norm(q)]


class _Writer:
    def __init__(self, art: Artifact, cfg: ExportConfig):
        self.art, self.cfg = art, cfg
        self.b = GltfBuilder(meshopt=cfg.meshopt)
        self.spec = ShadingSpec.from_json(art.meta["shading"])
        self.ghost = bool(art.meta.get("ghostbone", len(art.meta["joint_names"]) == 6))
        self.parents5 = skinning.flame_parents(art.meta["parents"], self.ghost)
        self.report = SizeReport()
        # first-order normal blendshapes (stage 1's model.normal_blendshapes) become the targets' NORMAL deltas
        self.normals = bool(art.layers) and "normal_expr" in art.layers[0].arrays
        if cfg.quantize:
            self.b.use_extension(QUANT, required=True)
        if cfg.texture_format == "webp":
            self.b.use_extension(WEBP, required=True)

    # -- skeleton --------------------------------------------------------------------------
    def skeleton(self) -> None:
        art, b = self.art, self.b
        names = list(art.meta["joint_names"])
        J0 = art.joints_template.astype(np.float64)
        self.ghost_node = b.add("nodes", {"name": names[0]}) if self.ghost else None
        first = b.add("nodes", {"name": names[int(self.ghost)]})
        self.joint_nodes = [first] + [b.add("nodes", {"name": n}) for n in names[int(self.ghost) + 1 :]]
        _, t = skinning.local_transforms(J0, self.parents5, np.zeros(15))
        for j, node in enumerate(self.joint_nodes):
            b.doc["nodes"][node]["translation"] = [float(v) for v in t[j]]
            kids = [self.joint_nodes[c] for c, p in enumerate(self.parents5) if p == j]
            if kids:
                b.doc["nodes"][node]["children"] = kids
        ibm = [np.eye(4)] if self.ghost else []
        for j in range(5):
            m = np.eye(4)
            m[:3, 3] = -J0[j]
            ibm.append(m)
        ibm_flat = np.stack([np.asarray(mat4_to_gltf(m), np.float32) for m in ibm])
        acc = b.add_accessor(ibm_flat, "skin", type_="MAT4")
        joints = ([self.ghost_node] if self.ghost else []) + self.joint_nodes
        self.skin = b.add("skins", {"joints": joints, "inverseBindMatrices": acc, "name": "flame"})
        self.report.raw["skin"] = ibm_flat.nbytes

    # -- one layer -------------------------------------------------------------------------
    def layer(self, i: int, theta0: np.ndarray) -> tuple[int, int, hbns.ShadingLayer]:
        art, b, cfg = self.art, self.b, self.cfg
        L = art.layers[i]
        a = L.arrays
        V = a["vertices"].shape[0]
        raw = self.report.raw
        for k in ("vertices", "normals", "uvs", "faces", "skin_weights"):
            raw["geometry"] = raw.get("geometry", 0) + a[k].nbytes
        raw["morph_targets"] = raw.get("morph_targets", 0) + a["expr_basis"].nbytes + a["pose_basis"].nbytes
        if self.normals:
            raw["morph_targets"] += a["normal_expr"].nbytes + a["normal_pose"].nbytes
        raw["textures.position"] = raw.get("textures.position", 0) + a["pos_texture"].nbytes
        raw["textures.radiance"] = raw.get("textures.radiance", 0) + a["radiance"].nbytes

        if cfg.quantize and np.abs(a["vertices"]).max(initial=0.0) <= 1.0:
            # SHORT normalised (step 3.05e-5 units) needs no scale, so skinning stays exact
            attrs = {"POSITION": b.add_accessor(quantize_snorm(a["vertices"], np.int16), "geometry", normalized=True,
                                                target=ARRAY_BUFFER, minmax=True)}
        else:
            attrs = {"POSITION": b.add_accessor(a["vertices"].astype(np.float32), "geometry", target=ARRAY_BUFFER, minmax=True)}
        if cfg.quantize:
            attrs["NORMAL"] = b.add_accessor(quantize_snorm(a["normals"], np.int8), "geometry", normalized=True, target=ARRAY_BUFFER)
            attrs["TEXCOORD_0"] = b.add_accessor(quantize_unorm(a["uvs"], np.uint16), "geometry", normalized=True, target=ARRAY_BUFFER)
        else:
            attrs["NORMAL"] = b.add_accessor(a["normals"].astype(np.float32), "geometry", target=ARRAY_BUFFER)
            attrs["TEXCOORD_0"] = b.add_accessor(a["uvs"].astype(np.float32), "geometry", target=ARRAY_BUFFER)
        joints, wstored, wvals = top4_weights(a["skin_weights"], cfg.quantize)
        attrs["JOINTS_0"] = b.add_accessor(joints, "geometry", target=ARRAY_BUFFER)
        attrs["WEIGHTS_0"] = b.add_accessor(wstored, "geometry", normalized=cfg.quantize, target=ARRAY_BUFFER)
        faces = a["faces"].astype(np.uint16 if V < 65535 else np.uint32).reshape(-1)
        idx = b.add_accessor(faces, "geometry", target=ELEMENT_ARRAY_BUFFER)

        # morph targets: the expression basis as is (moving joints are exact through the joint
        # translations, see skinning.gltf_joint_locals), then the kept pose correctives
        deltas = [a["expr_basis"][:, e] for e in range(art.n_exp)] + [a["pose_basis"][:, p] for p in self.pose_kept]
        names = [f"exp_{e:02d}" for e in range(art.n_exp)] + [f"pose_{p:02d}" for p in self.pose_kept]
        targets = [{"POSITION": self._target(d, t)} for t, d in enumerate(deltas)]
        if self.normals:
            nd = [a["normal_expr"][:, e] for e in range(art.n_exp)] + [a["normal_pose"][:, p] for p in self.pose_kept]
            for t, d in enumerate(nd):
                targets[t]["NORMAL"] = self._target(d, t, self.cfg.normal_epsilon)

        mat = self.material(i, L, theta0)
        prim = {"attributes": attrs, "indices": idx, "material": mat, "mode": 4, "targets": targets}
        mesh = b.add("meshes", {"name": L.name, "primitives": [prim], "weights": [0.0] * len(targets),
                                "extras": {"targetNames": names}})
        node = b.add("nodes", {"name": L.name, "mesh": mesh, "skin": self.skin})
        pos_atlas, rad_atlas = textures.make_atlases(a["pos_texture"], a["radiance"], cfg.texture_format,
                                                     cfg.texture_quality, cfg.lossless_radiance,
                                                     cfg.position_quality, cfg.shared_alpha, cfg.alpha_quality)
        return mesh, node, hbns.ShadingLayer(L.name, float(L.level), bool(L.opaque), mesh, node, pos_atlas, rad_atlas)

    def _zeroed(self, d: np.ndarray, eps: float) -> np.ndarray:
        d = np.asarray(d, np.float64)
        return np.where(np.abs(d).max(axis=1, keepdims=True) < eps, 0.0, d)

    def _peaks(self, basis: str, eps: float) -> np.ndarray:
        """(n_exp + 36,) largest |delta| per target over all layers, rows below `eps` as zero;
        basis "expr_basis" (positions) or "normal_expr" (normal deltas, with "normal_pose")."""
        pose = "pose_basis" if basis == "expr_basis" else "normal_pose"
        peak = np.zeros(self.art.n_exp + 36)
        for L in self.art.layers:
            d = np.concatenate([L.arrays[basis], L.arrays[pose]], axis=1)  # (V, T, 3)
            dz = np.where(np.abs(d).max(axis=2, keepdims=True) < eps, 0.0, np.abs(d))
            peak = np.maximum(peak, dz.max(axis=(0, 2), initial=0.0))
        return peak

    def morph_plan(self) -> None:
        """Which pose correctives to keep and the per-target scales (docs/bundle.md, Compactness).

        A pose target is left out when its largest delta over all layers is below
        `morph_drop`. With quantisation every target is stored as normalised integers of its
        own scale (one scale per target, shared by the layers, so one weights accessor drives
        every mesh); the animations' morph weights are multiplied by scale_t, so any viewer
        reproduces delta_t * weight_t. scale_t = max(peak_t, 2 * top * morph_tolerance / wmax_t)
        with peak_t the largest |delta_t| over all layers, wmax_t the largest |weight_t| in the
        bundle's animations and top = 127 (int8) or 32767: a half integer step times wmax_t
        stays within morph_tolerance, so rarely or weakly used targets get coarse steps. With
        normal blendshapes a target's NORMAL deltas share its scale: scale_t is at least their
        peak too, and both are int16; a pose target is also kept for normal deltas >= normal_drop."""
        art, cfg = self.art, self.cfg
        peak = self._peaks("expr_basis", cfg.morph_epsilon)
        keep = peak >= cfg.morph_drop
        if self.normals:
            npeak = self._peaks("normal_expr", cfg.normal_epsilon)
            keep |= npeak >= cfg.normal_drop
        self.pose_kept = [p for p in range(36) if cfg.morph_drop <= 0 or keep[art.n_exp + p]]
        self.dropped = {f"pose_{p:02d}": float(peak[art.n_exp + p]) for p in range(36) if p not in self.pose_kept}
        cols = list(range(art.n_exp)) + [art.n_exp + p for p in self.pose_kept]
        self.weight_cols = cols
        if not cfg.quantize:
            self.scales = None
            return
        sc = peak[cols]
        wmax = self.animation_weight_peaks()[cols]
        if cfg.morph_tolerance > 0:
            top = 32767.0 if self.morph_bits == 16 else 127.0
            coarse = np.where(wmax > 0, 2.0 * top * cfg.morph_tolerance / np.maximum(wmax, 1e-30), 0.0)
            sc = np.maximum(sc, np.where(sc > 0, coarse, 0.0))
        if self.normals:  # one scale per target (one weight drives both): the normal deltas must fit it too
            sc = np.maximum(sc, npeak[cols])
        sc = sc.astype(np.float32).astype(np.float64)
        self.scales = np.where(sc > 0, sc, 1.0)

    @property
    def morph_bits(self) -> int:
        """Bits of the quantised morph deltas: `export.morph_bits`, but 16 with normal blendshapes
        (a target's normal deltas are up to ~30x its position deltas and share its scale)."""
        return 16 if self.normals else self.cfg.morph_bits

    def animation_weight_peaks(self) -> np.ndarray:
        """(n_exp + 36,) largest |expression coefficient| and |pose feature| over all sequences."""
        out = np.zeros(self.art.n_exp + 36)
        for name, seq in self.art.sequences.items():
            feats = self.sequence_features(name, seq)[2]
            if len(feats):
                out = np.maximum(out, np.abs(feats).max(axis=0))
        return out

    def sequence_features(self, name: str, seq: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A tracked sequence -> expression (N, n_exp), pose (N, 15) and the morph-target
        features (N, n_exp + 36): expression, then the pose feature."""
        n_exp = self.art.n_exp
        expr = np.asarray(seq["expression"], np.float64)
        pose = np.asarray(seq["pose"], np.float64)
        if expr.ndim != 2 or expr.shape[1] < n_exp:
            raise ArtifactError(f"artifact: sequences.{name}.expression must have >= n_exp = {n_exp} columns; got {expr.shape}")
        expr = expr[:, :n_exp]
        return expr, pose, np.concatenate([expr, skinning.pose_feature(pose)], axis=1)

    def _target(self, d: np.ndarray, t: int, eps: float | None = None) -> int:
        d = self._zeroed(d, self.cfg.morph_epsilon if eps is None else eps)
        if self.scales is not None:
            dtype = np.int8 if self.morph_bits == 8 else np.int16
            q = quantize_snorm(d / self.scales[t], dtype)
            return self.b.add_target_accessor(q, "morph_targets", normalized=True)
        return self.b.add_target_accessor(d.astype(np.float32), "morph_targets")

    def material(self, i: int, L, theta0: np.ndarray) -> int:
        b, cfg = self.b, self.cfg
        rgba = textures.neutral_base_colour(L.pos_texture, L.radiance, theta0, self.spec)
        if i == 0:
            rgba[..., 3] = 255
        s = cfg.base_colour_size
        if s and s < rgba.shape[0]:
            from PIL import Image

            rgba = np.asarray(Image.fromarray(rgba, "RGBA").resize((s, s), Image.BILINEAR))
        data = textures.encode(rgba, cfg.texture_format, cfg.texture_quality, False, cfg.alpha_quality)
        img = b.add_image(data, textures.MIME[cfg.texture_format], "textures.base_colour", name=f"{L.name}.base_colour")
        tex = b.add("textures", hbns.texture_json(img, None, cfg.texture_format == "webp") | {"name": f"{L.name}.base_colour"})
        return b.add("materials", {
            "name": L.name,
            "pbrMetallicRoughness": {"baseColorTexture": {"index": tex}, "metallicFactor": 0.0, "roughnessFactor": 1.0},
            "alphaMode": "OPAQUE" if i == 0 else "BLEND",
        })

    # -- camera and animations ------------------------------------------------------------
    def camera(self) -> dict:
        cam = self.art.meta["camera"]
        K, w2c = np.asarray(cam["K"], np.float64), np.asarray(cam["w2c"], np.float64)
        W, H = int(cam["width"]), int(cam["height"])
        c2w = np.linalg.inv(w2c)
        yfov = 2.0 * np.arctan(H / (2.0 * abs(K[1, 1])))
        ci = self.b.add("cameras", {"type": "perspective", "name": "training",
                                    "perspective": {"yfov": float(yfov), "aspectRatio": W / H, "znear": 0.1, "zfar": 100.0}})
        node = self.b.add("nodes", {"name": "training_camera", "camera": ci,
                                    "translation": [float(v) for v in c2w[:3, 3]], "rotation": _rot_to_quat(c2w[:3, :3])})
        return {"node": node, "K": K.tolist(), "width": W, "height": H}

    def animation(self, name: str, seq: dict, mesh_nodes: list[int]) -> None:
        art, b = self.art, self.b
        expr, pose, feats = self.sequence_features(name, seq)
        N = expr.shape[0]
        times = (np.arange(N) / self.cfg.fps).astype(np.float32)
        t_acc = b.add_accessor(times, "animations", minmax=True)
        samplers, channels = [], []

        def chan(node, path, out):
            samplers.append({"input": t_acc, "output": out, "interpolation": "LINEAR"})
            channels.append({"sampler": len(samplers) - 1, "target": {"node": node, "path": path}})

        quats = skinning.axis_angle_to_quat(pose.reshape(N, 5, 3))
        for n in range(1, N):  # keep consecutive quaternions in one hemisphere for slerp
            flip = np.sum(quats[n] * quats[n - 1], axis=-1) < 0
            quats[n][flip] *= -1
        trans = np.zeros((N, 5, 3))
        for n in range(N):
            trans[n] = skinning.gltf_joint_locals(art.joints_template, art.joints_expr_basis, self.parents5, expr[n], pose[n])[1]
        for j, node in enumerate(self.joint_nodes):
            chan(node, "rotation", b.add_accessor(quats[:, j].astype(np.float32), "animations"))
            chan(node, "translation", b.add_accessor(trans[:, j].astype(np.float32), "animations"))
        weights = feats[:, self.weight_cols]
        if self.scales is not None:
            weights = weights * self.scales[None]
        w_acc = b.add_accessor(weights.astype(np.float32).reshape(-1), "animations")
        for node in mesh_nodes:
            chan(node, "weights", w_acc)
        b.add("animations", {"name": name, "samplers": samplers, "channels": channels})
        self.report.raw["animations"] = self.report.raw.get("animations", 0) + (expr.size + pose.size) * 4

    # -- everything ------------------------------------------------------------------------
    def build(self, progress: bool) -> bytes:
        art, b, spec = self.art, self.b, self.spec
        steps = tqdm(total=len(art.layers) + 3, desc="export", disable=not progress, leave=False)
        frame_onnx = export_frame_model(spec, art.frame_mlp)
        pixel_onnx = export_pixel_model(spec)
        check_model(frame_onnx, "frame")
        check_model(pixel_onnx, "pixel")
        self.report.raw["onnx.frame"] = sum(v.nbytes for v in art.frame_mlp.values())
        self.report.raw["onnx.pixel"] = 0
        steps.update()
        import torch

        from export.onnx_models import FrameModel

        with torch.no_grad():
            theta0 = FrameModel(spec, art.frame_mlp)(torch.zeros(1, art.n_exp), torch.zeros(1, 15))[0].numpy()
        self.skeleton()
        self.morph_plan()
        if self.dropped:
            also = f" (and normal deltas < export.normal_drop = {self.cfg.normal_drop:g})" if self.normals else ""
            self.report.notes.append(f"left out {len(self.dropped)} pose-corrective targets with max |delta| < "
                                     f"export.morph_drop = {self.cfg.morph_drop:g}{also}: largest {max(self.dropped.values()):.2e}")
        if self.normals and self.cfg.quantize and self.cfg.morph_bits == 8:
            self.report.notes.append("morph targets stored as int16 (not export.morph_bits 8): the layers' normal "
                                     "blendshapes share each target's scale with its position deltas")
        layers, mesh_nodes = [], []
        for i in range(len(art.layers)):
            _, node, sl = self.layer(i, theta0)
            layers.append(sl)
            mesh_nodes.append(node)
            steps.update()
        cam = self.camera()
        for name, seq in art.sequences.items():
            self.animation(name, seq, mesh_nodes)
        steps.update()
        ns = hbns.NeuralShading(
            shading=spec.to_json(), frame_onnx=frame_onnx, pixel_onnx=pixel_onnx,
            joint_names=list(art.meta["joint_names"]), joint_nodes=self.joint_nodes, ghost_node=self.ghost_node,
            parents=list(art.meta["parents"]), joints_template=art.joints_template,
            joints_expr_basis=art.joints_expr_basis, n_expression_targets=art.n_exp, pose_targets=list(self.pose_kept),
            layers=layers, camera=cam, morph_scale=None if self.scales is None else self.scales.tolist(),
        )
        hbns.write(b, ns)
        roots = ([self.ghost_node] if self.ghost else []) + [self.joint_nodes[0]] + mesh_nodes + [cam["node"]]
        b.doc["scenes"] = [{"name": art.meta.get("name", "avatar"), "nodes": roots}]
        b.doc["scene"] = 0
        glb = b.to_glb()
        steps.update()
        steps.close()
        self.report.packed = dict(b.part_bytes)
        self.report.total = len(glb)
        return glb


def export_glb(art: Artifact, path: str | os.PathLike, cfg: ExportConfig | None = None, progress: bool = True) -> SizeReport:
    """Write `art` as one .glb at `path` atomically; returns the size report."""
    cfg = cfg or ExportConfig()
    validate(art)
    if not art.frame_mlp:
        raise ArtifactError("artifact: frame_mlp is empty (no shading network to export)")
    with_normals = [i for i, layer in enumerate(art.layers) if "normal_expr" in layer.arrays]
    if with_normals and len(with_normals) != len(art.layers):
        raise ArtifactError(f"artifact: layers {with_normals} carry normal blendshapes (normal_expr, normal_pose) and the "
                            "others do not: one primitive set of morph targets needs them in every layer or none")
    w = _Writer(art, cfg)
    glb = w.build(progress)
    budget = cfg.max_mb * 1e6
    lossy = cfg.texture_format == "webp" and not cfg.lossless_radiance
    first, tol, q = len(glb), cfg.morph_tolerance, cfg.texture_quality
    if budget and len(glb) > budget and cfg.quantize and cfg.budget_morph_tolerance > tol:
        tol = cfg.budget_morph_tolerance
        w = _Writer(art, replace(cfg, morph_tolerance=tol))
        glb = w.build(progress)
    while budget and len(glb) > budget and lossy and q > 5:
        q = max(5, q - 5)
        w = _Writer(art, replace(cfg, morph_tolerance=tol, texture_quality=q))
        glb = w.build(progress)
    changes = []
    if tol != cfg.morph_tolerance:
        changes.append(f"morph tolerance widened from {cfg.morph_tolerance:g} to {tol:g}")
    if q != cfg.texture_quality:
        changes.append(f"radiance/base-colour WebP quality lowered from {cfg.texture_quality} to {q}")
    if changes:
        w.report.notes.append(f"{first / 1e6:.2f} MB exceeded export.max_mb = {cfg.max_mb:g}: " + "; ".join(changes))
    if budget and len(glb) > budget:
        w.report.notes.append(f"warning: {len(glb) / 1e6:.2f} MB exceeds export.max_mb = {cfg.max_mb:g} "
                              "(lower export.texture_quality / position_quality, or raise export.morph_drop / budget_morph_tolerance)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(glb)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a bundle is served to browsers
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return w.report
