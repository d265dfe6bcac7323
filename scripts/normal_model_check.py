"""How much of the synthetic subject's shading can a given normal model reproduce? An oracle.

Stage 1, the bake and the player carry a point's normal from canonical to deformed space by the
skinning rotation only, n_d = normalize(R_d R_c^-1 n_c): expression and pose-corrective blendshapes
move the surface but never turn its normal. The ground truth's normals are those of the deformed
mesh. This script re-renders the synthetic subject with the head's normals replaced by each model's
and reports the PSNR against the true render (the hair shells keep theirs), per split:

* `skinning`: n = normalize(R_d R_c^-1 n_can) -- what stage 1 shades with today (best case: the
  canonical normal exact);
* `linear`: first-order normal blendshapes, n = normalize(R_d (n_can,o + sum_i (e_i - e_can,i) dn/de_i
  + sum_k (pf_k - pf_can,k) dn/dpf_k)) in original space (a glTF morph target's NORMAL deltas play
  exactly this back);
* `original`: n = normalize(R_d n_o(e, pf)), the original-space mesh normal at the frame's own
  blendshapes (only the skinning weights' variation left out).

    python scripts/normal_model_check.py -c configs/synthetic.yaml --frames 8 [--set synth.resolution=256]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

import train.synth.render as synth_render
from train.config import load_config
from train.fields.normal_blend import original_vertices, vertex_normal_basis
from train.flame.lbs import blend_transforms
from train.synth.hair import vertex_normals
from train.synth.motion import make_motion
from train.synth.render import SubjectRenderer
from train.synth.subject import load_model, split_camera

MODELS = ("true", "skinning", "linear", "original")


class NormalOracle:
    """Head normals of one normal model for the frames being rendered (set `expression`, `pose`)."""

    def __init__(self, model, canonical_expression: torch.Tensor, canonical_jaw: float):
        self.model = model
        self.e_can = canonical_expression.float()
        self.p_can = torch.zeros(15)
        self.p_can[6] = canonical_jaw
        out = model(self.e_can[None], self.p_can[None])
        self.A_can = out.transforms[0]
        self.n_can = vertex_normals(out.vertices[0], model.faces.long())  # canonical space
        self.pf_can = out.pose_feature[0]
        self.dn_de, self.dn_dpf = vertex_normal_basis(model, self.e_can, self.pf_can)  # (V, E, 3), (V, 36, 3)
        self.kind, self.expression, self.pose = "true", None, None

    def head_normals(self, verts: torch.Tensor) -> torch.Tensor:
        if self.kind == "true":
            return vertex_normals(verts, self.model.faces)
        m, e, p = self.model, self.expression.float(), self.pose.float()
        out = m(e, p)
        w = m.skin_weights.float()
        r_d = blend_transforms(w, out.transforms)[..., :3, :3]  # (B, V, 3, 3)
        r_c = blend_transforms(w, self.A_can[None])[0, :, :3, :3]  # (V, 3, 3)
        n_o0 = (torch.linalg.inv(r_c) @ self.n_can[..., None])[..., 0][None]  # the canonical normal, original space
        if self.kind == "skinning":
            n_o = n_o0
        elif self.kind == "linear":
            n_o = (n_o0 + torch.einsum("be,vec->bvc", e - self.e_can, self.dn_de)
                   + torch.einsum("bk,vkc->bvc", out.pose_feature - self.pf_can, self.dn_dpf))
        elif self.kind == "original":
            n_o = vertex_normals(original_vertices(m, e, out.pose_feature), m.faces.long())
        else:
            raise ValueError(f"unknown normal model {self.kind!r}; one of {MODELS}")
        n = (r_d @ n_o[..., None])[..., 0]
        return n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-c", "--config", required=True)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    ap.add_argument("--frames", type=int, default=8, help="frames per split, spread evenly over the video")
    args = ap.parse_args(argv)
    cfg = load_config(args.config, args.set)
    sc = cfg.synth
    model = load_model(cfg)
    names = list(model.expression_names)
    train_motion = make_motion(sc, sc.n_train_frames, names, "train")
    oracle = NormalOracle(model, torch.as_tensor(train_motion.expression).mean(0), cfg.model.canonical_jaw)
    renderer = SubjectRenderer(model, sc)
    head_faces = renderer.faces

    def patched(verts, faces):  # the renderer's normals: the oracle's for the head, true for the shells
        return oracle.head_normals(verts) if faces is head_faces else vertex_normals(verts, faces)

    synth_render.vertex_normals = patched
    print(f"{sc.resolution} px, {args.frames} frames per split; PSNR vs the true render over white "
          "(whole frame | head pixels)")
    for split, n in (("train", sc.n_train_frames), ("test", sc.n_test_frames)):
        motion = train_motion if split == "train" else make_motion(sc, n, names, split)
        idx = np.linspace(0, n - 1, args.frames).round().astype(int)
        e, p = torch.as_tensor(motion.expression[idx]), torch.as_tensor(motion.pose[idx])
        _, _, K, w2c = split_camera(sc, split)
        oracle.expression, oracle.pose = e, p
        imgs = {}
        for kind in MODELS:
            oracle.kind = kind
            f = renderer.render(e, p, K, w2c)
            imgs[kind] = f.straight * f.alpha[..., None] + (1 - f.alpha[..., None])
        head = f.head_alpha > 0.5  # the geometry is the same for every normal model
        row = []
        for kind in MODELS[1:]:
            d2 = (imgs[kind] - imgs["true"]).pow(2).mean(-1)
            whole = -10 * torch.log10(d2.mean().clamp_min(1e-12))
            on_head = -10 * torch.log10(d2[head].mean().clamp_min(1e-12))
            row.append(f"{kind} {whole:.2f} | {on_head:.2f}")
        mag = np.linalg.norm(motion.expression[idx], axis=1).mean()
        print(f"{split:5s} (mean |e| {mag:.2f}): " + "; ".join(row))


if __name__ == "__main__":
    main()
