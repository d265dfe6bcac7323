"""Per-vertex attributes of a baked layer, evaluated from the stage-1 fields (spec 4.1 step 5-6).

Vertices come out of marching cubes in canonical space; the artifact stores them in original
space (zero pose/expression) so playback needs no canonical parameters.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

NORMAL_STEP = 1e-2
"""Step along the canonical normal used to carry normals to original space. The map is affine
for fixed attributes (S(w, A_can)^-1 x - const), so the step size only matters for rounding."""


@torch.no_grad()
def vertex_attributes(source, x_c: Tensor, chunk: int = 65536) -> dict[str, np.ndarray]:
    """Canonical vertices (N, 3) -> artifact arrays (float32 numpy).

    vertices (N, 3) original space; normals (N, 3) original space, unit, outward: the canonical
    outward normal n_c carried like a direction, n_o = normalize(to_orig(x + h n_c) - to_orig(x)),
    so that playback at the canonical frame (S_can n_o) gives n_c back; expr_basis (N, E, 3);
    pose_basis (N, 36, 3); skin_weights (N, Jb) renormalised to sum to 1.
    A source with normal blendshapes (stage 1's `model.normal_blendshapes`: `source.normal_blendshapes`
    gives N_E, N_P and their canonical value c) also gives normal_expr (N, E, 3) and normal_pose
    (N, 36, 3), and its normals become the zero-blendshape base b = n_o - c, all three divided by
    |b| (unit normals; playback normalises after the blend, so the scale does not change it):
    n_o + N_E (psi - psi_can) + N_P (pf - pf_can), stage 1's normal, is |b| (normals + normal_expr psi
    + normal_pose pf).
    """
    blend = getattr(source, "normal_blendshapes", lambda x: None)  # sources without the method have none
    keys = ("vertices", "normals", "expr_basis", "pose_basis", "skin_weights", "normal_expr", "normal_pose")
    outs: dict[str, list[Tensor]] = {k: [] for k in keys}
    for i in range(0, x_c.shape[0], chunk):
        x = x_c[i : i + chunk]
        n_c = source.manifold_normal(x)
        E, P, w = source.deform_attrs(x)
        w = w / w.sum(-1, keepdim=True)
        x_o = source.to_original(x, E, P, w)
        n_o = torch.nn.functional.normalize(source.to_original(x + NORMAL_STEP * n_c, E, P, w) - x_o, dim=-1)
        nb = blend(x)
        if nb is not None:
            ne, np_, at_can = nb
            base = n_o - at_can
            scale = 1.0 / base.norm(dim=-1, keepdim=True).clamp_min(1e-6)
            n_o, nb = base * scale, (ne * scale[..., None], np_ * scale[..., None])
        for k, v in zip(keys, (x_o, n_o, E, P, w) + (nb or ())):
            outs[k].append(v.float().cpu())
    outs = {k: v for k, v in outs.items() if v}
    res = {k: torch.cat(v).numpy().astype(np.float32) for k, v in outs.items()}
    for k, v in res.items():
        if not np.isfinite(v).all():
            raise FloatingPointError(f"vertex attribute {k} is not finite (stage-1 fields returned NaN/inf)")
    return res
