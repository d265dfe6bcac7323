"""Skinning maths of the baked avatar (docs/formats.md, "Playback maths", steps 1-2).

Everything a baked layer needs to move: joint transforms from (expression, pose), the per-point
forward deformation `x_o -> x_d` and its exact inverse (used by bake to map canonical points to
original space). Pure torch, batched, differentiable; no model code.

Notation: B frames, N points, E expression coefficients, J skinning bones (5, or 6 with the
identity "ghost" bone prepended at index 0).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from train.flame.lbs import joint_transforms as chain_transforms
from train.flame.lbs import pose_feature as flame_pose_feature
from train.flame.lbs import rodrigues

N_FLAME_JOINTS = 5


def split_parents(parents: Sequence[int], n_joints: int = N_FLAME_JOINTS) -> tuple[list[int], bool]:
    """Bone parents (J,) -> (parents of the 5 FLAME joints in their own indexing, ghostbone).

    With a ghost bone, `parents` has n_joints + 1 entries indexing the bone list (ghost at 0,
    parents -1), so the FLAME joints' parents are shifted down by one.
    """
    parents = [int(p) for p in parents]
    if len(parents) == n_joints:
        return parents, False
    if len(parents) == n_joints + 1:
        if parents[0] != -1:
            raise ValueError(f"parents[0] (ghost bone) must be -1; got {parents[0]}")
        return [p - 1 if p > 0 else -1 for p in parents[1:]], True
    raise ValueError(f"parents must have {n_joints} or {n_joints + 1} entries; got {len(parents)}")


def joint_transforms(
    joints_template: Tensor,
    joints_expr_basis: Tensor,
    parents: Sequence[int],
    expression: Tensor,
    pose: Tensor,
) -> tuple[Tensor, Tensor]:
    """Relative joint transforms and the pose feature of B frames.

    joints_template (5, 3), joints_expr_basis (5, 3, E), parents (J,) with J = 5 or 6 (ghost first,
    parents -1), expression (B, E') with E' >= E (extra columns ignored), pose (B, 15).
    Returns A (B, J, 4, 4) with A_j = G_j T(-J_j) (ghost = identity) and pose feature (B, 36) =
    row-major (R_j - I) of joints 1..4 (neck, jaw, eyes).
    """
    if pose.shape[-1] != 15:
        raise ValueError(f"pose must have shape (B, 15); got {tuple(pose.shape)}")
    n_exp = joints_expr_basis.shape[-1]
    if expression.shape[-1] < n_exp:
        raise ValueError(f"expression must have at least {n_exp} columns; got {tuple(expression.shape)}")
    flame_parents, ghost = split_parents(parents, joints_template.shape[0])
    B = pose.shape[0]
    dtype, dev = pose.dtype, pose.device
    J = joints_template.to(dtype) + torch.einsum("jce,be->bjc", joints_expr_basis.to(dtype), expression[:, :n_exp])
    R = rodrigues(pose.reshape(B, -1, 3))  # (B, 5, 3, 3)
    A = chain_transforms(J, R, flame_parents)
    if ghost:
        A = torch.cat([torch.eye(4, dtype=dtype, device=dev).expand(B, 1, 4, 4), A], dim=1)
    return A, flame_pose_feature(R)


def blend_transforms(weights: Tensor, A: Tensor) -> Tensor:
    """Skinning weights (B|1, N, J) and transforms (B, J, 4, 4) -> per-point (B, N, 4, 4)."""
    return torch.einsum("bnj,bjkl->bnkl", weights.expand(A.shape[0], -1, -1), A)


def blendshape_offsets(expr_basis: Tensor, pose_basis: Tensor, expression: Tensor, pose_feature: Tensor) -> Tensor:
    """Per-point offsets (B, N, 3) = E^T psi + P^T pf; expr_basis (N, E, 3), pose_basis (N, 36, 3)."""
    n_exp = expr_basis.shape[-2]
    return torch.einsum("nec,be->bnc", expr_basis, expression[:, :n_exp]) + torch.einsum(
        "npc,bp->bnc", pose_basis, pose_feature
    )


def deform_layer(
    vertices: Tensor,
    normals: Tensor,
    expr_basis: Tensor,
    pose_basis: Tensor,
    skin_weights: Tensor,
    A: Tensor,
    pose_feature: Tensor,
    expression: Tensor,
    normal_expr: Tensor | None = None,
    normal_pose: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Original-space vertices to the frame (docs/formats.md step 2).

    vertices, normals (N, 3); expr_basis (N, E, 3); pose_basis (N, 36, 3); skin_weights (N, J);
    A (B, J, 4, 4); pose_feature (B, 36); expression (B, E'); optional normal blendshapes
    normal_expr (N, E, 3), normal_pose (N, 36, 3).
    Returns deformed vertices (B, N, 3) = S (x_o + E^T psi + P^T pf) with S = sum_j w_j A_j, and
    unit normals (B, N, 3) = normalize(S[:3, :3] (n_o + N_E^T psi + N_P^T pf)) (without normal
    blendshapes the blendshape offsets do not turn normals).
    """
    S = blend_transforms(skin_weights[None], A)
    x = vertices[None] + blendshape_offsets(expr_basis, pose_basis, expression, pose_feature)
    xd = (S[..., :3, :3] @ x[..., None])[..., 0] + S[..., :3, 3]
    n = normals[None]
    if normal_expr is not None:
        n = n + blendshape_offsets(normal_expr, normal_pose, expression, pose_feature)
    nd = (S[..., :3, :3] @ n[..., None])[..., 0]
    return xd, torch.nn.functional.normalize(nd, dim=-1)


def inverse_points(
    x: Tensor, expr_basis: Tensor, pose_basis: Tensor, skin_weights: Tensor, A: Tensor, pose_feature: Tensor, expression: Tensor
) -> Tensor:
    """Exact inverse of the forward deformation: x (B, N, 3) -> S^-1 x - P^T pf - E^T psi (B, N, 3).

    Shapes as in `deform_layer`. Used to map canonical points to original space with the
    canonical expression/pose (spec 2.7, `get_original_points`).
    """
    S = blend_transforms(skin_weights[None], A)
    Sinv = torch.linalg.inv(S)
    y = (Sinv[..., :3, :3] @ x[..., None])[..., 0] + Sinv[..., :3, 3]
    return y - blendshape_offsets(expr_basis, pose_basis, expression, pose_feature)
