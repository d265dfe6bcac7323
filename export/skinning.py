"""FLAME-style playback maths in numpy (docs/formats.md, "Playback maths"), for export.

Two evaluations of one frame live here:

* `deform_exact`: the artifact's own maths (joints move with the expression, per-vertex
  expression basis, pose correctives, linear blend skinning with `A_j = G_j T(-J_j)`);
* `deform_gltf`: what a standard glTF viewer computes from the bundle (joint node transforms
  animated per frame, inverse bind matrices `T(-J_j^0)` at the neutral joints, morph targets).

`gltf_joint_locals` picks the animated joint translations so that the two agree exactly
(docs/bundle.md, "Joints that move with the expression").
"""

from __future__ import annotations

import numpy as np

N_FLAME_JOINTS = 5


def rodrigues(r: np.ndarray) -> np.ndarray:
    """Axis-angle (..., 3) -> rotation matrices (..., 3, 3) (FLAME's +1e-8 convention)."""
    r = np.asarray(r, dtype=np.float64)
    angle = np.linalg.norm(r + 1e-8, axis=-1, keepdims=True)
    k = r / angle
    kx, ky, kz = k[..., 0], k[..., 1], k[..., 2]
    zero = np.zeros_like(kx)
    K = np.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], axis=-1).reshape(*r.shape[:-1], 3, 3)
    s, c = np.sin(angle)[..., None], np.cos(angle)[..., None]
    return np.eye(3) + s * K + (1.0 - c) * (K @ K)


def axis_angle_to_quat(r: np.ndarray) -> np.ndarray:
    """Axis-angle (..., 3) -> unit quaternions (..., 4) in glTF order (x, y, z, w)."""
    r = np.asarray(r, dtype=np.float64)
    angle = np.linalg.norm(r, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(a/2)/a -> 1/2 as a -> 0 (series), so tiny rotations stay exact
    scale = np.where(angle > 1e-8, np.sin(half) / np.maximum(angle, 1e-30), 0.5 - angle**2 / 48.0)
    q = np.concatenate([r * scale, np.cos(half)], axis=-1)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Quaternions (..., 4) (x, y, z, w) -> rotation matrices (..., 3, 3)."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    x, y, z, w = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    m = np.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
            2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
            2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
        ],
        axis=-1,
    )
    return m.reshape(*q.shape[:-1], 3, 3)


def pose_feature(pose: np.ndarray) -> np.ndarray:
    """Pose theta (..., 15) -> pose feature (..., 36): row-major R_j - I for joints 1..4."""
    pose = np.asarray(pose, dtype=np.float64)
    R = rodrigues(pose.reshape(*pose.shape[:-1], N_FLAME_JOINTS, 3))
    return (R[..., 1:, :, :] - np.eye(3)).reshape(*pose.shape[:-1], 36)


def joints_at(joints_template: np.ndarray, joints_expr_basis: np.ndarray, expression: np.ndarray) -> np.ndarray:
    """(5,3), (5,3,E), (E,) -> joint positions (5,3) for one expression."""
    return np.asarray(joints_template, np.float64) + np.asarray(joints_expr_basis, np.float64) @ np.asarray(expression, np.float64)


def local_transforms(joints: np.ndarray, parents, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FLAME joints (5,3), parents (5,) with -1 at the root, pose (15,) ->
    per-joint local rotations (5,3,3) and translations (5,3) (relative to the parent joint)."""
    R = rodrigues(np.asarray(pose, np.float64).reshape(N_FLAME_JOINTS, 3))
    t = np.array(joints, dtype=np.float64)
    for j, p in enumerate(parents):
        if p >= 0:
            t[j] = joints[j] - joints[p]
    return R, t


def global_transforms(R: np.ndarray, t: np.ndarray, parents) -> np.ndarray:
    """Chain local (5,3,3), (5,3) along `parents` -> global 4x4 matrices G (5,4,4)."""
    G = np.zeros((len(parents), 4, 4))
    for j, p in enumerate(parents):
        L = np.eye(4)
        L[:3, :3], L[:3, 3] = R[j], t[j]
        G[j] = L if p < 0 else G[p] @ L
    return G


def flame_parents(meta_parents, ghostbone: bool) -> list[int]:
    """Artifact `parents` (over skinning bones) -> parents over the 5 FLAME joints."""
    parents = list(meta_parents)
    if ghostbone:
        parents = [p - 1 if p > 0 else -1 for p in parents[1:]]
    if len(parents) != N_FLAME_JOINTS:
        raise ValueError(f"parents must describe {N_FLAME_JOINTS} FLAME joints; got {meta_parents}")
    return parents


def bone_matrices(joints_template, joints_expr_basis, parents, ghostbone, expression, pose, exact=True) -> np.ndarray:
    """Skinning matrices (Jb,4,4) for one frame.

    exact=True: A_j = G_j(psi) T(-J_j(psi)) (the artifact's maths);
    exact=False: G_j(psi) T(-J_j^0), i.e. glTF's joint matrix times the neutral inverse bind matrix.
    """
    J = joints_at(joints_template, joints_expr_basis, expression)
    R, t = local_transforms(J, parents, pose)
    G = global_transforms(R, t, parents)
    bind = J if exact else np.asarray(joints_template, np.float64)
    A = G.copy()
    A[:, :3, 3] = G[:, :3, 3] - np.einsum("jab,jb->ja", G[:, :3, :3], bind)
    if ghostbone:
        A = np.concatenate([np.eye(4)[None], A], axis=0)
    return A


def skin(points: np.ndarray, weights: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Linear blend skinning: points (V,3), weights (V,Jb), A (Jb,4,4) -> (V,3)."""
    M = np.einsum("vj,jab->vab", weights, A)
    return np.einsum("vab,vb->va", M[:, :3, :3], points) + M[:, :3, 3]


def gltf_joint_locals(joints_template, joints_expr_basis, parents, expression, pose) -> tuple[np.ndarray, np.ndarray]:
    """Joint node local transforms that make glTF skinning exact: rotations (5,3,3), translations (5,3).

    glTF skins with `world_j . IBM_j`, IBM_j = T(-J_j^0) fixed at the neutral joints; the artifact
    uses A_j = G_j(psi) T(-J_j(psi)). Choosing world_j = G_j T(-dJ_j) (dJ = J(psi) - J^0) gives
    world_j IBM_j = A_j exactly. world_j is rigid, so each node keeps its FLAME rotation R_j and
    gets the translation  J_j - J_p + dJ_p - R_j dJ_j  (root: J_0 - R_0 dJ_0).
    """
    J = joints_at(joints_template, joints_expr_basis, expression)
    dJ = J - np.asarray(joints_template, np.float64)
    R, t = local_transforms(J, parents, pose)
    for j, p in enumerate(parents):
        t[j] = t[j] - R[j] @ dJ[j] + (dJ[p] if p >= 0 else 0.0)
    return R, t


def deform_exact(layer_arrays: dict, art_top: dict, expression, pose) -> np.ndarray:
    """Deformed vertices (V,3) of one layer with the artifact's maths.

    art_top: joints_template, joints_expr_basis, parents (FLAME, 5), ghostbone.
    """
    x = (
        layer_arrays["vertices"].astype(np.float64)
        + np.einsum("vec,e->vc", layer_arrays["expr_basis"], np.asarray(expression, np.float64))
        + np.einsum("vpc,p->vc", layer_arrays["pose_basis"], pose_feature(pose))
    )
    A = bone_matrices(art_top["joints_template"], art_top["joints_expr_basis"], art_top["parents"],
                      art_top["ghostbone"], expression, pose, exact=True)
    return skin(x, layer_arrays["skin_weights"], A)


def deform_gltf(vertices, targets, weights_morph, joints, weights_skin, joint_matrices, inverse_bind) -> np.ndarray:
    """What a glTF viewer computes: morph (V,3)+(T,V,3)*(T,), then skin with JOINTS_0 (V,4),
    WEIGHTS_0 (V,4), joint world matrices (Jb,4,4) and inverse bind matrices (Jb,4,4)."""
    x = np.asarray(vertices, np.float64) + np.einsum("tvc,t->vc", np.asarray(targets, np.float64), np.asarray(weights_morph, np.float64))
    S = np.einsum("jab,jbc->jac", joint_matrices, inverse_bind)
    M = np.einsum("vk,vkab->vab", np.asarray(weights_skin, np.float64), S[np.asarray(joints)])
    return np.einsum("vab,vb->va", M[:, :3, :3], x) + M[:, :3, 3]
