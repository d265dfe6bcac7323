"""LBS maths and MorphableModel against a straightforward reference implementation."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from train.conventions import FLAME_SCALE
from train.flame import FlameModelError, MorphableModel, load_morphable_model, rodrigues, safe_load_flame_pickle
from train.flame.lbs import joint_transforms, pose_feature


def test_rodrigues_flame_convention():
    r = torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.2, 0.5], [1e-5, 0.0, 0.0]], dtype=torch.float64)
    R = rodrigues(r)
    torch.testing.assert_close(R[0], torch.eye(3, dtype=torch.float64), rtol=0, atol=0)  # exact identity
    ref = Rotation.from_rotvec(r[1].numpy()).as_matrix()
    # FLAME's +1e-8 shifts the axis/angle by O(1e-8)
    np.testing.assert_allclose(R[1].numpy(), ref, atol=5e-8)
    # FLAME's quirk: angle = |r + 1e-8| (not |r|); check the formula for a tiny vector
    v = r[2].numpy()
    ang = np.linalg.norm(v + 1e-8)
    k = v / ang
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    np.testing.assert_allclose(R[2].numpy(), np.eye(3) + np.sin(ang) * K + (1 - np.cos(ang)) * K @ K, atol=1e-15)


def _reference_forward(data, beta, expr, pose, n_exp):
    """Plain numpy FLAME (spec 2.2/2.4) with per-joint loops, float64, scipy rotations."""
    s = FLAME_SCALE
    v = s * (data["v_template"] + data["shapedirs"][:, :, : len(beta)] @ beta)
    E = s * data["shapedirs"][:, :, 300 : 300 + n_exp]
    vs = v + E @ expr
    J = data["J_regressor"] @ vs
    parents = [-1, 0, 1, 1, 1]
    Rs = [Rotation.from_rotvec(pose[3 * j : 3 * j + 3]).as_matrix() for j in range(5)]
    pf = np.concatenate([(Rs[j] - np.eye(3)).reshape(-1) for j in range(1, 5)])
    vp = vs + s * np.einsum("vcp,p->vc", data["posedirs"], pf)
    G = []
    for j in range(5):
        T = np.eye(4)
        T[:3, :3] = Rs[j]
        T[:3, 3] = J[j] - (J[parents[j]] if j else 0)
        G.append(T if j == 0 else G[parents[j]] @ T)
    out = np.zeros_like(vp)
    for i in range(len(vp)):
        M = np.zeros((4, 4))
        for j in range(5):
            A = G[j] @ np.block([[np.eye(3), -J[j][:, None]], [np.zeros((1, 3)), np.ones((1, 1))]])
            M += data["weights"][i, j] * A
        out[i] = (M @ np.append(vp[i], 1.0))[:3]
    joints = np.stack([g[:3, 3] for g in G])
    return out, pf, joints


@pytest.fixture(scope="module")
def small_flame(tmp_path_factory):
    rng = np.random.default_rng(7)
    V = 60
    jr = np.abs(rng.normal(size=(5, V)))
    jr /= jr.sum(1, keepdims=True)
    data = {
        "v_template": rng.normal(size=(V, 3)) * 0.05,
        "f": rng.integers(0, V, size=(50, 3)),
        "shapedirs": rng.normal(size=(V, 3, 400)) * 1e-3,
        "posedirs": rng.normal(size=(V, 3, 36)) * 1e-3,
        "J_regressor": jr,
        "weights": rng.dirichlet(np.ones(5), size=V),
        "kintree_table": np.array([[2**32 - 1, 0, 1, 1, 1], [0, 1, 2, 3, 4]]),
    }
    path = tmp_path_factory.mktemp("flame") / "model.pkl"
    path.write_bytes(pickle.dumps(data))
    return path, data


@pytest.mark.parametrize("ghostbone", [True, False])
def test_forward_matches_reference(small_flame, ghostbone):
    path, data = small_flame
    beta = np.random.default_rng(1).normal(size=10)
    model = load_morphable_model(path, shape_params=beta, n_exp=20, ghostbone=ghostbone).double()
    rng = np.random.default_rng(2)
    expr = rng.normal(size=(3, 20))
    pose = rng.normal(size=(3, 15)) * 0.4
    out = model(torch.tensor(expr), torch.tensor(pose))
    for b in range(3):
        ref_v, ref_pf, ref_j = _reference_forward(data, beta, expr[b], pose[b], 20)
        np.testing.assert_allclose(out.vertices[b].numpy(), ref_v, atol=1e-6)  # FLAME eps ~1e-8
        np.testing.assert_allclose(out.pose_feature[b].numpy(), ref_pf, atol=1e-6)
        np.testing.assert_allclose(out.joints[b].numpy(), ref_j, atol=1e-6)
    assert out.transforms.shape == (3, 5 + ghostbone, 4, 4)
    if ghostbone:
        torch.testing.assert_close(out.transforms[:, 0], torch.eye(4, dtype=torch.float64).expand(3, 4, 4))
        assert torch.all(model.skin_weights[:, 0] == 0)
    # skinning with the returned transforms and skin_weights reproduces the vertices
    assert model.skin_weights.shape == (60, 5 + ghostbone)


def test_model_buffers_and_joint_bases(small_flame):
    path, data = small_flame
    model = load_morphable_model(path, n_exp=50)
    assert model.posedirs.shape == (36, 60 * 3) and model.shapedirs.shape == (60, 3, 50)
    assert model.v_template.dtype == torch.float32 and model.parents.tolist() == [-1, 0, 1, 1, 1]
    np.testing.assert_allclose(model.v_template.numpy(), 4 * data["v_template"], rtol=1e-6, atol=1e-7)
    # joints are linear in the expression: J(psi) = joints_template + joints_expr_basis . psi
    psi = torch.randn(1, 50)
    out = model(psi, torch.zeros(1, 15))
    pred = model.joints_template + torch.einsum("jce,e->jc", model.joints_expr_basis, psi[0])
    torch.testing.assert_close(out.joints[0], pred, atol=1e-5, rtol=1e-5)


def test_gradients_flow(small_flame):
    path, _ = small_flame
    model = load_morphable_model(path, n_exp=10)
    expr = torch.zeros(2, 10, requires_grad=True)
    pose = (0.1 * torch.randn(2, 15)).requires_grad_()
    model(expr, pose).vertices.square().sum().backward()
    assert expr.grad.abs().sum() > 0 and pose.grad.abs().sum() > 0
    assert torch.isfinite(pose.grad).all()


def test_zero_pose_gradient_is_finite(small_flame):
    path, _ = small_flame
    model = load_morphable_model(path, n_exp=10)
    pose = torch.zeros(1, 15, requires_grad=True)
    model(torch.zeros(1, 10), pose).vertices.sum().backward()
    assert torch.isfinite(pose.grad).all()


def test_bad_inputs(small_flame, tmp_path):
    path, _ = small_flame
    model = load_morphable_model(path, n_exp=10)
    with pytest.raises(ValueError, match=r"expression must have shape \(B, 10\)"):
        model(torch.zeros(1, 11), torch.zeros(1, 15))
    with pytest.raises(ValueError, match=r"pose must have shape \(1, 15\)"):
        model(torch.zeros(1, 10), torch.zeros(1, 12))
    with pytest.raises(FlameModelError, match="n_exp must be in"):
        load_morphable_model(path, n_exp=101)
    with pytest.raises(FlameModelError, match=r"missing\.pkl: morphable-model file not found"):
        load_morphable_model(tmp_path / "missing.pkl")


def test_joint_transforms_identity_and_pose_feature():
    joints = torch.randn(2, 5, 3)
    rot = torch.eye(3).expand(2, 5, 3, 3).clone()
    A = joint_transforms(joints, rot, [-1, 0, 1, 1, 1])
    torch.testing.assert_close(A, torch.eye(4).expand(2, 5, 4, 4))
    assert pose_feature(rot).abs().max() == 0
    with pytest.raises(ValueError, match="topologically ordered"):
        joint_transforms(joints, rot, [-1, 2, 0, 1, 1])


def test_per_vertex_bases_match_forward(small_flame):
    path, _ = small_flame
    model = load_morphable_model(path, n_exp=8, ghostbone=False).double()
    psi = torch.randn(1, 8, dtype=torch.float64)
    pose = 0.3 * torch.randn(1, 15, dtype=torch.float64)
    out = model(psi, pose)
    # spec 2.7 forward_pts with the per-vertex bases equals the model's forward pass
    x = model.v_template + torch.einsum("vec,e->vc", model.expr_basis, psi[0])
    x = x + torch.einsum("vpc,p->vc", model.pose_basis, out.pose_feature[0])
    T = torch.einsum("vj,jkl->vkl", model.skin_weights, out.transforms[0])
    y = (T[:, :3, :3] @ x[..., None])[..., 0] + T[:, :3, 3]
    torch.testing.assert_close(y, out.vertices[0], atol=1e-10, rtol=1e-10)
