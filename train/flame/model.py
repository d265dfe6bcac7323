"""`MorphableModel`: FLAME's interface over either source (user's FLAME pickle or the procedural head).

Loading follows the reference spec 2.2: everything scaled by `FLAME_SCALE`, the identity
`beta` baked into the template once, only `n_exp` expression columns kept (FLAME's columns
300..), posedirs reshaped to (36, V*3), parents from the kinematic tree with root -1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from train.conventions import FLAME_SCALE, N_POSE, N_POSE_FEATURE
from train.flame.lbs import lbs
from train.flame.safe_pickle import MIN_SHAPEDIRS, N_JOINTS, FlameModelError, safe_load_flame_pickle

N_IDENTITY = 300  # FLAME's identity columns (shape params use the first 100 or fewer)


@dataclass
class FlameOutput:
    """One forward pass. With a ghost bone, `transforms` has Jb = 6 (index 0 = identity ghost)."""

    vertices: Tensor  # (B, V, 3)
    pose_feature: Tensor  # (B, 36)
    transforms: Tensor  # (B, Jb, 4, 4)
    joints: Tensor  # (B, 5, 3) posed joint positions


class MorphableModel(nn.Module):
    """FLAME-layout morphable model with identity baked in; all buffers float32, x FLAME_SCALE."""

    def __init__(self, data: dict, shape_params=None, n_exp: int = 50, ghostbone: bool = True, where: str = "model"):
        super().__init__()
        s = FLAME_SCALE
        shapedirs = np.asarray(data["shapedirs"], dtype=np.float64)
        n_avail = shapedirs.shape[2] - MIN_SHAPEDIRS
        if not 0 < n_exp <= n_avail:
            raise FlameModelError(f"{where}: n_exp must be in [1, {n_avail}] for this model; got {n_exp}")
        v = np.asarray(data["v_template"], dtype=np.float64)
        if shape_params is not None:
            beta = np.asarray(shape_params, dtype=np.float64).reshape(-1)
            if beta.size > N_IDENTITY:
                raise FlameModelError(f"{where}: shape_params has {beta.size} values; at most {N_IDENTITY}")
            v = v + shapedirs[:, :, : beta.size] @ beta
        V = v.shape[0]
        kintree = np.asarray(data["kintree_table"], dtype=np.int64)
        parents = kintree[0].copy()
        parents[0] = -1
        if list(parents[1:]) != [0, 1, 1, 1]:
            raise FlameModelError(f"{where}: key 'kintree_table' must give parents [-1, 0, 1, 1, 1]; got {parents.tolist()}")
        f32 = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
        self.register_buffer("v_template", f32(s * v))
        self.register_buffer("faces", torch.as_tensor(np.asarray(data["f"], dtype=np.int64)))
        self.register_buffer("shapedirs", f32(s * shapedirs[:, :, MIN_SHAPEDIRS : MIN_SHAPEDIRS + n_exp]))
        posedirs = np.asarray(data["posedirs"], dtype=np.float64).reshape(V * 3, N_POSE_FEATURE).T
        self.register_buffer("posedirs", f32(s * posedirs))
        self.register_buffer("J_regressor", f32(np.asarray(data["J_regressor"], dtype=np.float64)))
        self.register_buffer("lbs_weights", f32(np.asarray(data["weights"], dtype=np.float64)))
        self.register_buffer("parents", torch.as_tensor(parents))
        self.parent_list = parents.tolist()  # python copy: no device sync in forward
        self.n_exp = int(n_exp)
        self.ghostbone = bool(ghostbone)
        names = data.get("hb_expression_names")
        self.expression_names: list[str] | None = None
        if names is not None:  # columns past the named ones are zero: name them so len == n_exp
            names = list(names)[:n_exp]
            self.expression_names = names + [f"unused_{i}" for i in range(len(names), n_exp)]
        self.region_names: list[str] | None = list(data["hb_region_names"]) if "hb_region_names" in data else None
        regions = data.get("hb_vertex_regions")
        self.register_buffer("_regions", None if regions is None else torch.as_tensor(np.asarray(regions, dtype=np.int64)))
        uv = data.get("hb_uv")
        self.register_buffer("_uvs", None if uv is None else f32(uv))
        parts = data.get("hb_part")
        self.register_buffer("_parts", None if parts is None else torch.as_tensor(np.asarray(parts, dtype=np.int64)))
        lm = data.get("hb_landmarks")
        self.register_buffer("_landmarks", None if lm is None else torch.as_tensor(np.asarray(lm, dtype=np.int64)))

    # ----------------------------------------------------------------------------- properties
    @property
    def n_vertices(self) -> int:
        return int(self.v_template.shape[0])

    @property
    def n_bones(self) -> int:
        """Skinning bones Jb: 6 with the ghost bone, else 5."""
        return N_JOINTS + int(self.ghostbone)

    @property
    def skin_weights(self) -> Tensor:
        """(V, Jb) skinning weights; with a ghost bone, a leading zero column."""
        w = self.lbs_weights
        if self.ghostbone:
            w = torch.cat([torch.zeros_like(w[:, :1]), w], dim=1)
        return w

    @property
    def joints_template(self) -> Tensor:
        """(5, 3) joints at zero expression (original space)."""
        return self.J_regressor @ self.v_template

    @property
    def joints_expr_basis(self) -> Tensor:
        """(5, 3, n_exp) derivative of the joints w.r.t. the expression (J_regressor . shapedirs)."""
        return torch.einsum("jv,vce->jce", self.J_regressor, self.shapedirs)

    @property
    def pose_basis(self) -> Tensor:
        """(V, 36, 3) per-vertex pose correctives (the artifact's `pose_basis` layout)."""
        return self.posedirs.reshape(N_POSE_FEATURE, self.n_vertices, 3).transpose(0, 1)

    @property
    def expr_basis(self) -> Tensor:
        """(V, n_exp, 3) per-vertex expression basis (the artifact's `expr_basis` layout)."""
        return self.shapedirs.transpose(1, 2)

    @property
    def vertex_regions(self) -> Tensor | None:
        """(V,) region index per vertex into `region_names` (procedural head only)."""
        return self._regions

    @property
    def vertex_uvs(self) -> Tensor | None:
        """(V, 2) smooth texture parametrisation in [0, 1] (procedural head only)."""
        return self._uvs

    @property
    def vertex_parts(self) -> Tensor | None:
        """(V,) part per vertex (procedural head only): 0 skin, 3 eyeball, 4 upper teeth,
        5 mouth cavity, 6 lower teeth (see train.flame.procedural)."""
        return self._parts

    @property
    def landmarks(self) -> Tensor | None:
        """(68,) vertex indices of the iBUG-68 face landmarks (procedural head only)."""
        return self._landmarks

    # ----------------------------------------------------------------------------- forward
    def forward(self, expression: Tensor, pose: Tensor) -> FlameOutput:
        """expression (B, n_exp), pose (B, 15) -> FlameOutput."""
        if expression.ndim != 2 or expression.shape[1] != self.n_exp:
            raise ValueError(f"expression must have shape (B, {self.n_exp}); got {tuple(expression.shape)}")
        if pose.shape != (expression.shape[0], N_POSE):
            raise ValueError(f"pose must have shape ({expression.shape[0]}, {N_POSE}); got {tuple(pose.shape)}")
        verts, pf, A, joints = lbs(
            expression, pose, self.v_template, self.shapedirs, self.posedirs,
            self.J_regressor, self.parent_list, self.lbs_weights,
        )
        if self.ghostbone:
            ghost = torch.eye(4, dtype=A.dtype, device=A.device).expand(A.shape[0], 1, 4, 4)
            A = torch.cat([ghost, A], dim=1)
        return FlameOutput(vertices=verts, pose_feature=pf, transforms=A, joints=joints)


def _cache_dir() -> Path:
    return Path(os.environ.get("HEADBAKE_CACHE") or Path.home() / ".cache" / "headbake")


def procedural_cache_path() -> Path:
    """Where `load_morphable_model('procedural')` writes the procedural head's pickle."""
    import hashlib

    from train.flame.procedural import PROCEDURAL_VERSION

    # the generator's source is part of the key, so an edited generator never meets a stale cache
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in ("procedural.py", "head_surface.py", "head_parts.py", "head_rig.py", "head_expressions.py"):
        h.update((here / name).read_bytes())
    return _cache_dir() / f"procedural_head_v{PROCEDURAL_VERSION}_{h.hexdigest()[:12]}.pkl"


def load_morphable_model(
    source: str | os.PathLike = "procedural", shape_params=None, n_exp: int = 50, ghostbone: bool = True
) -> MorphableModel:
    """`"procedural"` (built-in head, cached as a pickle and read back through the safe loader)
    or a path to a FLAME 2020/2023 pickle -> MorphableModel."""
    if str(source) == "procedural":
        from train.flame.procedural import write_procedural_pickle

        path = procedural_cache_path()
        if not path.is_file():
            write_procedural_pickle(path)
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise FlameModelError(
                f"{path}: morphable-model file not found (FLAME's generic_model.pkl must be downloaded "
                "by the user after registering at flame.is.tue.mpg.de; or use 'procedural')"
            )
    data = safe_load_flame_pickle(path)
    return MorphableModel(data, shape_params=shape_params, n_exp=n_exp, ghostbone=ghostbone, where=str(path))
