"""The shading maths shared by stage 1, the baked avatar, stage 3, the ONNX export and the
player. It is the one definition; `export` turns these modules into ONNX and the player
generates its shader from that ONNX.

Per frame:  c = [pose[6:15] (jaw + eyes), expression[:n_exp]]  ->  FrameMLP  ->  theta (P,)
Per pixel:  z = [f_pos (D), n (3), v (3)]  ->  h = relu(W0 z) -> ... -> logits = W_last h
            coef = softmax(temperature * logits)     (K coefficients, sum 1)
            rgba = sum_k coef_k * basis_k             (basis_k: RGBA from the radiance textures)

`n` is the unit deformed-space (world) normal, `v` the unit view direction camera -> point, in
world space. The spatial layers have no biases; `theta` holds their weights row-major (out, in),
layer after layer. Innermost layer alpha is forced to 1 by the compositor, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class ShadingSpec:
    """Sizes that fix the shading networks (stored in the artifact's JSON)."""

    n_exp: int
    dim_pos_feature: int = 8
    num_texture_basis: int = 16
    temperature: float = 10.0
    frame_hidden: tuple[int, ...] = (64, 64)
    pixel_hidden: tuple[int, ...] = (16,)

    @property
    def frame_in(self) -> int:
        return 9 + self.n_exp

    @property
    def pixel_in(self) -> int:
        return self.dim_pos_feature + 6

    @property
    def pixel_dims(self) -> list[int]:
        return [self.pixel_in, *self.pixel_hidden, self.num_texture_basis]

    @property
    def n_pixel_params(self) -> int:
        d = self.pixel_dims
        return sum(d[i] * d[i + 1] for i in range(len(d) - 1))

    def to_json(self) -> dict:
        return {
            "n_exp": self.n_exp,
            "dim_pos_feature": self.dim_pos_feature,
            "num_texture_basis": self.num_texture_basis,
            "temperature": self.temperature,
            "frame_hidden": list(self.frame_hidden),
            "pixel_hidden": list(self.pixel_hidden),
        }

    @classmethod
    def from_json(cls, d: dict) -> "ShadingSpec":
        return cls(
            n_exp=int(d["n_exp"]),
            dim_pos_feature=int(d["dim_pos_feature"]),
            num_texture_basis=int(d["num_texture_basis"]),
            temperature=float(d["temperature"]),
            frame_hidden=tuple(int(x) for x in d["frame_hidden"]),
            pixel_hidden=tuple(int(x) for x in d["pixel_hidden"]),
        )


def frame_condition(expression: Tensor, pose: Tensor, n_exp: int) -> Tensor:
    """Per-frame MLP input (B, 9 + n_exp): jaw and eye pose, then the expression."""
    return torch.cat([pose[..., 6:15], expression[..., :n_exp]], dim=-1)


def condition_spread(expression: Tensor, pose: Tensor, n_exp: int) -> Tensor | None:
    """Per-dimension std (9 + n_exp,) of `frame_condition` over frames (N, ...); None for N < 2.
    The unit of the frame-condition noise (`noisy_frame_condition`)."""
    if expression.shape[0] < 2:
        return None
    return frame_condition(expression.float(), pose.float(), n_exp).std(0)


def noisy_frame_condition(expression: Tensor, pose: Tensor, n_exp: int, std: Tensor | None, scale: float,
                          generator: torch.Generator | None = None) -> Tensor | None:
    """`frame_condition` plus `scale` x N(0, std^2) noise, std (9 + n_exp,) per input dimension
    (the training frames' spread, `condition_spread`): the per-frame MLP learns to answer smoothly
    around the training conditions instead of memorising them (`train.frame_cond_noise`,
    `bake.finetune_cond_noise`). None (render with the frames' own condition) when `scale` <= 0 or
    `std` is None. The noise is drawn on the CPU (from `generator`, else the global RNG) and moved
    to the input's device."""
    if scale <= 0 or std is None:
        return None
    cond = frame_condition(expression, pose, n_exp)
    return cond + scale * std.to(cond) * torch.randn(cond.shape, generator=generator).to(cond.device)


class FrameMLP(nn.Module):
    """Per-frame network: condition (B, 9 + n_exp) -> per-pixel MLP weights theta (B, P)."""

    def __init__(self, spec: ShadingSpec):
        super().__init__()
        self.spec = spec
        dims = [spec.frame_in, *spec.frame_hidden]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.acts = nn.ModuleList(nn.PReLU(b, init=0.1) for b in dims[1:])
        self.out = nn.Linear(dims[-1], spec.n_pixel_params)

    def forward(self, cond: Tensor) -> Tensor:
        h = cond
        for lin, act in zip(self.hidden, self.acts):
            h = act(lin(h))
        return self.out(h)


def unpack_pixel_weights(theta: Tensor, spec: ShadingSpec) -> list[Tensor]:
    """theta (B, P) -> list of (B, out, in) weight matrices, row-major as documented."""
    dims = spec.pixel_dims
    mats, at = [], 0
    for i in range(len(dims) - 1):
        n = dims[i] * dims[i + 1]
        mats.append(theta[..., at : at + n].reshape(*theta.shape[:-1], dims[i + 1], dims[i]))
        at += n
    return mats


def pixel_coefficients(z: Tensor, theta: Tensor, spec: ShadingSpec) -> Tensor:
    """Per-pixel MLP. z (B, N, pixel_in), theta (B, P) -> coefficients (B, N, K), rows sum to 1."""
    mats = unpack_pixel_weights(theta, spec)
    h = z
    for i, w in enumerate(mats):
        h = h @ w.transpose(-1, -2)
        if i < len(mats) - 1:
            h = torch.relu(h)
    return torch.softmax(spec.temperature * h, dim=-1)


def blend_bases(coef: Tensor, bases: Tensor) -> Tensor:
    """coef (..., K), bases (..., K, C) -> (..., C)."""
    return (coef.unsqueeze(-1) * bases).sum(dim=-2)


def shade(f_pos: Tensor, normal: Tensor, view_dir: Tensor, bases: Tensor, theta: Tensor, spec: ShadingSpec) -> Tensor:
    """Full per-pixel shading: (B, N, D), (B, N, 3), (B, N, 3), (B, N, K, C), (B, P) -> (B, N, C)."""
    z = torch.cat([f_pos, normal, view_dir], dim=-1)
    return blend_bases(pixel_coefficients(z, theta, spec), bases)
