"""ONNX shading models: checker clean, small op set, onnxruntime == torch to 1e-5."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from export.onnx_models import (
    ALLOWED_OPS, FrameModel, PixelModel, check_model, export_frame_model, export_pixel_model, op_types, run_onnx,
)
from train.shading import FrameMLP, ShadingSpec, frame_condition, pixel_coefficients


@pytest.fixture(scope="module")
def spec_state():
    spec = ShadingSpec(n_exp=6, dim_pos_feature=8, num_texture_basis=16, frame_hidden=(32, 32), pixel_hidden=(16,))
    torch.manual_seed(3)
    mlp = FrameMLP(spec)
    with torch.no_grad():  # distinct PReLU slopes, as after training
        for act in mlp.acts:
            act.weight.uniform_(-0.3, 0.5)
    return spec, {k: v.detach().numpy().copy() for k, v in mlp.state_dict().items()}, mlp


def test_frame_model_matches_torch(spec_state):
    spec, state, mlp = spec_state
    blob = export_frame_model(spec, state)
    check_model(blob, "frame")
    assert op_types(blob) <= ALLOWED_OPS
    rng = np.random.default_rng(0)
    for _ in range(5):
        e = rng.normal(size=(1, spec.n_exp)).astype(np.float32) * 2
        p = rng.normal(size=(1, 15)).astype(np.float32) * 0.3
        (theta,) = run_onnx(blob, {"expression": e, "pose": p})
        with torch.no_grad():
            ref = mlp(frame_condition(torch.from_numpy(e), torch.from_numpy(p), spec.n_exp)).numpy()
        assert theta.shape == (1, spec.n_pixel_params)
        # float32 Gemm vs torch Linear: observed <= 2e-6 on outputs of magnitude ~1
        np.testing.assert_allclose(theta, ref, atol=1e-5, rtol=1e-5)


def test_pixel_model_matches_torch(spec_state):
    spec, _, _ = spec_state
    blob = export_pixel_model(spec)
    check_model(blob, "pixel")
    assert op_types(blob) <= ALLOWED_OPS
    rng = np.random.default_rng(1)
    for n in (1, 37, 1000):  # dynamic N
        z = rng.random((n, spec.pixel_in)).astype(np.float32)
        theta = rng.normal(size=(1, spec.n_pixel_params)).astype(np.float32) * 0.5
        (coef,) = run_onnx(blob, {"z": z, "theta": theta})
        ref = pixel_coefficients(torch.from_numpy(z)[None], torch.from_numpy(theta), spec)[0].numpy()
        assert coef.shape == (n, spec.num_texture_basis)
        np.testing.assert_allclose(coef, ref, atol=1e-5)
        np.testing.assert_allclose(coef.sum(1), 1.0, atol=1e-5)


def test_frame_model_wrapper_equals_state(spec_state):
    spec, state, mlp = spec_state
    fm = FrameModel(spec, state)
    e, p = torch.randn(1, spec.n_exp), torch.randn(1, 15)
    torch.testing.assert_close(fm(e, p), mlp(frame_condition(e, p, spec.n_exp)))
    assert isinstance(PixelModel(spec)(torch.rand(3, spec.pixel_in), torch.randn(1, spec.n_pixel_params)), torch.Tensor)


def test_op_check_rejects_foreign_ops():
    import onnx
    from onnx import helper, TensorProto

    g = helper.make_graph([helper.make_node("Sin", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    blob = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)]).SerializeToString()
    with pytest.raises(ValueError, match="Sin"):
        check_model(blob, "bad")
