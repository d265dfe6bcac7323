"""The two shading networks as ONNX models (torch.onnx dynamo exporter, one file each).

* per-frame model  `frame`:  expression (1, E) f32, pose (1, 15) f32  ->  theta (1, P) f32
  (train.shading.frame_condition + FrameMLP: Slice, Concat, Gemm, PRelu);
* per-pixel model  `pixel`:  z (N, D+6) f32, theta (1, P) f32  ->  coef (N, K) f32
  (theta sliced into the row-major (out, in) matrices, MatMul, Relu, Mul by the temperature,
  Softmax). The basis blend `rgba = sum_k coef_k basis_k` stays outside: the player samples
  the radiance atlas itself, so the ONNX graph is exactly what its fragment shader evaluates.

`ALLOWED_OPS` is the op set the player must translate; `check_ops` enforces it.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from torch import Tensor, nn

from train.shading import FrameMLP, ShadingSpec, frame_condition

OPSET = 18
ALLOWED_OPS = frozenset(
    {"Gemm", "MatMul", "Add", "Mul", "PRelu", "Relu", "Softmax", "Concat", "Slice", "Reshape", "Transpose", "Squeeze", "Unsqueeze"}
)


class FrameModel(nn.Module):
    """expression (1, E), pose (1, 15) -> theta (1, P)."""

    def __init__(self, spec: ShadingSpec, state: dict[str, np.ndarray]):
        super().__init__()
        self.spec = spec
        self.mlp = FrameMLP(spec)
        self.mlp.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in state.items()})
        self.mlp.eval()

    def forward(self, expression: Tensor, pose: Tensor) -> Tensor:
        return self.mlp(frame_condition(expression, pose, self.spec.n_exp))


class PixelModel(nn.Module):
    """z (N, D+6), theta (1, P) -> softmax coefficients (N, K)."""

    def __init__(self, spec: ShadingSpec):
        super().__init__()
        self.spec = spec

    def forward(self, z: Tensor, theta: Tensor) -> Tensor:
        # same maths as train.shading.pixel_coefficients, written 2-D so the graph stays small
        dims, at, h = self.spec.pixel_dims, 0, z
        for i in range(len(dims) - 1):
            n = dims[i] * dims[i + 1]
            w = theta[:, at : at + n].reshape(dims[i + 1], dims[i])
            at += n
            h = h @ w.transpose(0, 1)
            if i < len(dims) - 2:
                h = torch.relu(h)
        return torch.softmax(self.spec.temperature * h, dim=-1)


def _to_bytes(model: nn.Module, args: tuple, input_names, output_names, dynamic_shapes) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prog = torch.onnx.export(
            model, args, dynamo=True, external_data=False, opset_version=OPSET,
            input_names=list(input_names), output_names=list(output_names),
            dynamic_shapes=dynamic_shapes, verbose=False, optimize=True,
        )
    buf = io.BytesIO()
    prog.model_proto.producer_name = "headbake"
    import onnx

    onnx.save_model(prog.model_proto, buf)
    return buf.getvalue()


def export_frame_model(spec: ShadingSpec, state: dict[str, np.ndarray]) -> bytes:
    """Serialised ONNX of the per-frame model (batch fixed at 1)."""
    model = FrameModel(spec, state)
    args = (torch.zeros(1, spec.n_exp), torch.zeros(1, 15))
    return _to_bytes(model, args, ("expression", "pose"), ("theta",), None)


def export_pixel_model(spec: ShadingSpec) -> bytes:
    """Serialised ONNX of the per-pixel model (N dynamic)."""
    model = PixelModel(spec)
    args = (torch.rand(7, spec.pixel_in), torch.zeros(1, spec.n_pixel_params))
    dyn = {"z": {0: torch.export.Dim("N", min=1)}, "theta": None}
    return _to_bytes(model, args, ("z", "theta"), ("coef",), dyn)


def op_types(model_bytes: bytes) -> set[str]:
    import onnx

    m = onnx.load_from_string(model_bytes)
    return {n.op_type for n in m.graph.node}


def check_model(model_bytes: bytes, name: str) -> None:
    """onnx.checker (full) and the small op set; raises ValueError naming the model."""
    import onnx

    m = onnx.load_from_string(model_bytes)
    onnx.checker.check_model(m, full_check=True)
    bad = {n.op_type for n in m.graph.node} - ALLOWED_OPS
    if bad:
        raise ValueError(f"ONNX model {name!r} uses ops outside the player's set {sorted(ALLOWED_OPS)}: {sorted(bad)}")


def run_onnx(model_bytes: bytes, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Evaluate with onnxruntime (CPU provider)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {k: np.ascontiguousarray(v, np.float32) for k, v in feeds.items()})
