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
    """
    outs: dict[str, list[Tensor]] = {k: [] for k in ("vertices", "normals", "expr_basis", "pose_basis", "skin_weights")}
    for i in range(0, x_c.shape[0], chunk):
        x = x_c[i : i + chunk]
        n_c = source.manifold_normal(x)
        E, P, w = source.deform_attrs(x)
        w = w / w.sum(-1, keepdim=True)
        x_o = source.to_original(x, E, P, w)
        n_o = torch.nn.functional.normalize(source.to_original(x + NORMAL_STEP * n_c, E, P, w) - x_o, dim=-1)
        for k, v in zip(outs, (x_o, n_o, E, P, w)):
            outs[k].append(v.float().cpu())
    res = {k: torch.cat(v).numpy().astype(np.float32) for k, v in outs.items()}
    for k, v in res.items():
        if not np.isfinite(v).all():
            raise FloatingPointError(f"vertex attribute {k} is not finite (stage-1 fields returned NaN/inf)")
    return res
