"""What stage 2 bakes from: the `BakeSource` protocol, and an analytic source for tests.

The stage-1 `train.model.AvatarModel` satisfies `BakeSource`; `AnalyticSource` is a closed-form
stand-in (nested ellipsoidal level sets, smooth procedural deformation attributes and radiance)
so every baking step can be tested in seconds on a CPU, with known answers.

Shapes: N points, E expression coefficients, Jb skinning bones, D position-feature channels,
K radiance bases.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor, nn

from bake import lbs
from train.conventions import GHOST_NAME, JOINT_NAMES
from train.shading import FrameMLP, ShadingSpec


@runtime_checkable
class BakeSource(Protocol):
    """Canonical-space fields plus the per-frame MLP and the morphable model's joint data."""

    levels: Tensor  # (L,) level values, inner -> outer
    shading_spec: ShadingSpec
    frame_mlp: FrameMLP
    flame: nn.Module  # joints_template (5,3), joints_expr_basis (5,3,E), parents (5,), ghostbone
    canonical_expression: Tensor  # (E,)
    canonical_pose: Tensor  # (15,)

    def manifold(self, x_c: Tensor) -> Tensor:
        """(N, 3) -> s (N,), larger outside."""

    def manifold_normal(self, x_c: Tensor) -> Tensor:
        """(N, 3) -> unit outward normal (N, 3)."""

    def deform_attrs(self, x_c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(N, 3) -> E (N, E, 3), P (N, 36, 3), w (N, Jb) (rows sum to 1)."""

    def radiance(self, x_c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(N, 3) -> f_pos (N, D), bases (N, K, 3), alpha (N,), all in [0, 1]."""

    def to_original(self, x_c: Tensor, E: Tensor, P: Tensor, w: Tensor) -> Tensor:
        """Canonical (N, 3) -> original space (N, 3) with the points' own attributes."""

    def bbox(self) -> tuple[Tensor, Tensor]:
        """Canonical cube (lo (3,), hi (3,)) holding every level set."""


def joint_metadata(flame) -> tuple[list[str], list[int], bool]:
    """(joint_names, bone parents, ghostbone) for the artifact, from a morphable model."""
    parents = [int(p) for p in (flame.parents.tolist() if torch.is_tensor(flame.parents) else flame.parents)]
    ghost = bool(getattr(flame, "ghostbone", False))
    if ghost:
        return [GHOST_NAME, *JOINT_NAMES], [-1] + [p + 1 if p >= 0 else -1 for p in parents], True
    return list(JOINT_NAMES), parents, False


class _AnalyticJoints(nn.Module):
    """The slice of a morphable model that baking reads (joints, parents, ghost bone)."""

    def __init__(self, n_exp: int, rng: np.random.Generator):
        super().__init__()
        j = np.array([[0, -0.5, -0.05], [0, -0.35, -0.05], [0, -0.12, 0.08], [0.13, 0.08, 0.32], [-0.13, 0.08, 0.32]])
        self.register_buffer("joints_template", torch.tensor(j, dtype=torch.float32))
        self.register_buffer("joints_expr_basis", torch.tensor(0.01 * rng.standard_normal((5, 3, n_exp)), dtype=torch.float32))
        self.register_buffer("parents", torch.tensor([-1, 0, 1, 1, 1]))
        self.ghostbone = True


class AnalyticSource(nn.Module):
    """Closed-form `BakeSource`: level sets are the ellipsoids |x / r| = 1 + l / min(r).

    s(x) = min(r) (|(x - c) / r| - 1) with radii r and centre c; deformation attributes and
    radiance are smooth trigonometric functions of x. Layer alpha is 1 on the innermost level
    and a smooth pattern in (0, 1) elsewhere (decided from s, like a learnt field would).
    """

    def __init__(self, n_levels: int = 3, n_exp: int = 4, dim_pos_feature: int = 8, num_texture_basis: int = 4, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.register_buffer("levels", torch.linspace(-0.2, 0.0, n_levels))
        self.register_buffer("radii", torch.tensor([0.42, 0.52, 0.46]))
        self.register_buffer("centre", torch.tensor([0.0, 0.02, 0.03]))
        self.shading_spec = ShadingSpec(n_exp=n_exp, dim_pos_feature=dim_pos_feature, num_texture_basis=num_texture_basis,
                                        frame_hidden=(16,), pixel_hidden=(8,))
        torch.manual_seed(seed)
        self.frame_mlp = FrameMLP(self.shading_spec)
        self.flame = _AnalyticJoints(n_exp, rng)
        self.register_buffer("canonical_expression", torch.tensor(0.1 * rng.standard_normal(n_exp), dtype=torch.float32))
        pose = torch.zeros(15)
        pose[6] = 0.2
        self.register_buffer("canonical_pose", pose)
        self.register_buffer("freq", torch.tensor(rng.uniform(1.0, 4.0, size=(3, 64)), dtype=torch.float32))
        self.register_buffer("phase", torch.tensor(rng.uniform(0, 2 * np.pi, size=64), dtype=torch.float32))
        self.n_bones = 6

    # ------------------------------------------------------------------ fields
    def _waves(self, x: Tensor, n: int, offset: int = 0) -> Tensor:
        """n smooth functions of x in [-1, 1]: (N, n)."""
        f = self.freq[:, offset : offset + n]
        return torch.sin(x @ f + self.phase[offset : offset + n])

    def manifold(self, x_c: Tensor) -> Tensor:
        q = (x_c - self.centre) / self.radii
        return self.radii.min() * (q.norm(dim=-1) - 1.0)

    def manifold_normal(self, x_c: Tensor) -> Tensor:
        with torch.enable_grad():
            x = x_c.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.manifold(x).sum(), x)
        return torch.nn.functional.normalize(g, dim=-1)

    def deform_attrs(self, x_c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        n_exp = self.shading_spec.n_exp
        E = 0.02 * self._waves(x_c, 3 * n_exp).reshape(-1, n_exp, 3)
        P = 0.01 * torch.sin(2.0 * x_c[:, None, :] + torch.arange(36, device=x_c.device, dtype=x_c.dtype)[None, :, None])
        y, z = x_c[:, 1], x_c[:, 2]
        logits = torch.stack([
            torch.full_like(y, -6.0), -3 * (y + 0.2), -6 * (y + 0.1), 8 * (z - 0.1) - 8 * (y + 0.05),
            -40 * ((x_c[:, 0] - 0.13) ** 2 + (y - 0.08) ** 2), -40 * ((x_c[:, 0] + 0.13) ** 2 + (y - 0.08) ** 2),
        ], dim=-1)
        return E, P, torch.softmax(logits, dim=-1)

    def radiance(self, x_c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        D, K = self.shading_spec.dim_pos_feature, self.shading_spec.num_texture_basis
        f_pos = 0.5 + 0.45 * self._waves(x_c, D, 0)
        bases = (0.5 + 0.4 * self._waves(4 * x_c, 3 * K, 8)).reshape(-1, K, 3)
        s = self.manifold(x_c)
        inner = s < self.levels[0] + 0.5 * (self.levels[1] - self.levels[0]) if len(self.levels) > 1 else torch.ones_like(s, dtype=torch.bool)
        alpha = torch.where(inner, torch.ones_like(s), 0.45 + 0.35 * self._waves(6 * x_c, 1, 40)[:, 0])
        return f_pos, bases, alpha

    def canonical_state(self) -> tuple[Tensor, Tensor]:
        """A_can (1, Jb, 4, 4) and pf_can (1, 36)."""
        fl = self.flame
        parents = joint_metadata(fl)[1]
        return lbs.joint_transforms(fl.joints_template, fl.joints_expr_basis, parents, self.canonical_expression[None], self.canonical_pose[None])

    def to_original(self, x_c: Tensor, E: Tensor, P: Tensor, w: Tensor) -> Tensor:
        A, pf = self.canonical_state()
        return lbs.inverse_points(x_c[None], E, P, w, A, pf, self.canonical_expression[None])[0]

    def bbox(self) -> tuple[Tensor, Tensor]:
        half = float(self.radii.max()) + 0.1
        return self.centre - half, self.centre + half
