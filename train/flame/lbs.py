"""FLAME's forward kinematics and linear blend skinning, batched and differentiable (torch).

The maths follows the reference spec section 2.4 exactly (it is also what `docs/formats.md`
prescribes for playback), so training, baking and the artifact playback agree bit for bit:

* Rodrigues adds 1e-8 to every component *before* the norm (FLAME's convention), so a zero
  rotation vector gives exactly the identity.
* pose feature = row-major `R_j - I` for joints 1.. (the root rotation is excluded).
* local transform `[R_j | J_j - J_parent(j)]` (root: `J_0`), chained from the root;
  `A_j = G_j . T(-J_j)` maps rest-pose points to posed points.
"""

from __future__ import annotations

import torch
from torch import Tensor

RODRIGUES_EPS = 1e-8


def rodrigues(r: Tensor) -> Tensor:
    """Axis-angle (..., 3) -> rotation matrices (..., 3, 3), FLAME's +1e-8 convention."""
    if r.shape[-1] != 3:
        raise ValueError(f"rodrigues: r must have shape (..., 3); got {tuple(r.shape)}")
    angle = torch.linalg.vector_norm(r + RODRIGUES_EPS, dim=-1, keepdim=True)  # (..., 1)
    k = r / angle
    kx, ky, kz = k.unbind(-1)
    zero = torch.zeros_like(kx)
    K = torch.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], dim=-1).reshape(*r.shape[:-1], 3, 3)
    s = torch.sin(angle)[..., None]
    c = torch.cos(angle)[..., None]
    eye = torch.eye(3, dtype=r.dtype, device=r.device).expand_as(K)
    return eye + s * K + (1.0 - c) * (K @ K)


def pose_feature(rotmats: Tensor) -> Tensor:
    """Rotations (B, J, 3, 3) -> pose feature (B, 9*(J-1)): row-major `R_j - I`, j >= 1."""
    if rotmats.ndim != 4 or rotmats.shape[-2:] != (3, 3):
        raise ValueError(f"pose_feature: rotmats must have shape (B, J, 3, 3); got {tuple(rotmats.shape)}")
    eye = torch.eye(3, dtype=rotmats.dtype, device=rotmats.device)
    return (rotmats[:, 1:] - eye).reshape(rotmats.shape[0], -1)


def joint_transforms(joints: Tensor, rotmats: Tensor, parents: Tensor | list[int]) -> Tensor:
    """Rest joints (B, J, 3), local rotations (B, J, 3, 3), parents (J,) -> A (B, J, 4, 4).

    `A_j` takes a rest-pose point skinned to joint j to its posed position. Parents must be
    topologically ordered (parent index < child index, root -1), as in FLAME.
    """
    B, J = joints.shape[:2]
    if joints.shape != (B, J, 3) or rotmats.shape != (B, J, 3, 3):
        raise ValueError(
            f"joint_transforms: joints must be (B, J, 3) and rotmats (B, J, 3, 3); "
            f"got {tuple(joints.shape)} and {tuple(rotmats.shape)}"
        )
    parents = [int(p) for p in (parents.tolist() if isinstance(parents, Tensor) else parents)]
    if len(parents) != J:
        raise ValueError(f"joint_transforms: parents must have {J} entries; got {len(parents)}")
    rel = joints.clone()
    for j in range(1, J):
        if not 0 <= parents[j] < j:
            raise ValueError(f"joint_transforms: parents must be topologically ordered; got {parents}")
        rel[:, j] = joints[:, j] - joints[:, parents[j]]
    bottom = torch.zeros(B, J, 1, 4, dtype=joints.dtype, device=joints.device)
    bottom[..., 3] = 1.0
    local = torch.cat([torch.cat([rotmats, rel[..., None]], dim=-1), bottom], dim=-2)  # (B, J, 4, 4)
    chain = [local[:, 0]]
    for j in range(1, J):
        chain.append(chain[parents[j]] @ local[:, j])
    G = torch.stack(chain, dim=1)  # (B, J, 4, 4) global joint frames
    # A_j = G_j . T(-J_j): subtract the rotated rest joint from the translation
    shift = (G[..., :3, :3] @ joints[..., None])[..., 0]  # (B, J, 3)
    A = G.clone()
    A[..., :3, 3] = G[..., :3, 3] - shift
    return A


def blend_transforms(weights: Tensor, A: Tensor) -> Tensor:
    """Skinning weights (N, J) or (B, N, J), transforms (B, J, 4, 4) -> per-point (B, N, 4, 4)."""
    if weights.ndim == 2:
        return torch.einsum("nj,bjkl->bnkl", weights, A)
    return torch.einsum("bnj,bjkl->bnkl", weights, A)


def skin_points(points: Tensor, weights: Tensor, A: Tensor) -> Tensor:
    """Apply LBS: points (B, N, 3), weights (N, J) or (B, N, J), A (B, J, 4, 4) -> (B, N, 3)."""
    T = blend_transforms(weights, A)
    return (T[..., :3, :3] @ points[..., None])[..., 0] + T[..., :3, 3]


def lbs(
    expression: Tensor,
    pose: Tensor,
    v_template: Tensor,
    shapedirs: Tensor,
    posedirs: Tensor,
    J_regressor: Tensor,
    parents: Tensor | list[int],
    lbs_weights: Tensor,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """FLAME forward pass (spec 2.4).

    expression (B, E), pose (B, 3*J), v_template (V, 3), shapedirs (V, 3, E), posedirs
    (9*(J-1), V*3), J_regressor (J, V), lbs_weights (V, J).
    Returns vertices (B, V, 3), pose feature (B, 9*(J-1)), A (B, J, 4, 4) and the posed joint
    positions (B, J, 3).
    """
    B = expression.shape[0]
    V = v_template.shape[0]
    J = J_regressor.shape[0]
    if pose.shape != (B, 3 * J):
        raise ValueError(f"lbs: pose must have shape ({B}, {3 * J}); got {tuple(pose.shape)}")
    if expression.shape[1] != shapedirs.shape[-1]:
        raise ValueError(
            f"lbs: expression must have {shapedirs.shape[-1]} coefficients; got {tuple(expression.shape)}"
        )
    v_shaped = v_template + torch.einsum("bl,vcl->bvc", expression, shapedirs)
    joints = torch.einsum("jv,bvc->bjc", J_regressor, v_shaped)
    rotmats = rodrigues(pose.reshape(B, J, 3))
    pf = pose_feature(rotmats)
    v_posed = v_shaped + (pf @ posedirs).reshape(B, V, 3)
    A = joint_transforms(joints, rotmats, parents)
    verts = skin_points(v_posed, lbs_weights, A)
    posed_joints = (A[..., :3, :3] @ joints[..., None])[..., 0] + A[..., :3, 3]
    return verts, pf, A, posed_joints
