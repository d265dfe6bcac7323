"""Intersections of rays with the deformed layered level sets (spec 3.6, re-thought).

Samples along each ray are mapped to canonical space (inverse deformation), s is evaluated, and
for every level the first *entering* crossing (s from above to below the level, between a valid
sample and the last valid sample before it) is refined by regula falsi; where the refinement does
not converge, the bracket's converged back end is the hit. A level with no entering crossing is
not hit. Each level is
its own layer slot: targets and compositing never depend on a depth sort.

With `refine` > 0, that many extra samples are placed evenly between the two neighbours of the
sample with the smallest s (a ray that grazes a level set dips below it between two coarse
samples) and merged into the depth-sorted sample list before crossings are searched.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from train.render.warp import FrameState, invert, newton


@dataclass
class LevelHits:
    t: Tensor  # (B, R, L) depth along the ray
    x_c: Tensor  # (B, R, L, 3) canonical point (no gradient)
    hit: Tensor  # (B, R, L) bool
    s_min: Tensor  # (B, R) smallest valid s over the ray samples (no gradient)
    x_min: Tensor  # (B, R, 3) canonical point of that sample
    has_valid: Tensor  # (B, R) any valid sample on the ray


def _gather(v: Tensor, idx: Tensor) -> Tensor:
    """v (B, R, N, *F), idx (B, R, L) -> (B, R, L, *F)."""
    extra = v.shape[3:]
    view = idx.reshape(*idx.shape, *([1] * len(extra))).expand(*idx.shape, *extra)
    return torch.gather(v, 2, view)


@torch.no_grad()
def _invert_samples(deform, manifold, o: Tensor, d: Tensor, t: Tensor, fs: FrameState, newton_steps: int,
                    tol: float) -> tuple[Tensor, Tensor, Tensor]:
    """Depths t (B, R, N) -> canonical points (B, R, N, 3), valid (B, R, N), s (B, R, N)."""
    b, r, n = t.shape
    x_d = o[:, :, None] + t[..., None] * d[:, :, None]
    x_c, valid, s = invert(deform, manifold, x_d.reshape(b, r * n, 3), fs, newton_steps, tol)
    return x_c.reshape(b, r, n, 3), valid.reshape(b, r, n), s.reshape(b, r, n)


def _refine_near_min(deform, manifold, o, d, t, x_c, valid, s, fs, newton_steps, tol, m: int):
    """Merge m samples spread between the neighbours of the smallest-s sample (see module doc)."""
    n = t.shape[-1]
    i_min = torch.where(valid, s, torch.full_like(s, float("inf"))).argmin(dim=-1, keepdim=True)
    t_lo = torch.gather(t, 2, (i_min - 1).clamp(min=0))
    t_hi = torch.gather(t, 2, (i_min + 1).clamp(max=n - 1))
    u = torch.arange(1, m + 1, device=t.device, dtype=t.dtype) / (m + 1)
    t_new = t_lo + (t_hi - t_lo) * u
    x_n, v_n, s_n = _invert_samples(deform, manifold, o, d, t_new, fs, newton_steps, tol)
    t_all, order = torch.cat([t, t_new], -1).sort(dim=-1)
    x_all = torch.gather(torch.cat([x_c, x_n], 2), 2, order[..., None].expand(-1, -1, -1, 3))
    return (t_all, x_all, torch.gather(torch.cat([valid, v_n], -1), 2, order),
            torch.gather(torch.cat([s, s_n], -1), 2, order))


@torch.no_grad()
def find_level_hits(deform, manifold, o: Tensor, d: Tensor, t: Tensor, fs: FrameState, levels: Tensor,
                    newton_steps: int, secant_steps: int, tol: float, refine: int = 0) -> LevelHits:
    """o, d (B, R, 3), t (B, R, N) sample depths, levels (L,) -> LevelHits."""
    x_c, valid, s = _invert_samples(deform, manifold, o, d, t, fs, newton_steps, tol)
    if refine > 0:
        t, x_c, valid, s = _refine_near_min(deform, manifold, o, d, t, x_c, valid, s, fs, newton_steps, tol, refine)
    b, r, n = t.shape
    n_lv = levels.shape[0]

    s_masked = torch.where(valid, s, torch.full_like(s, float("inf")))
    s_min, i_min = s_masked.min(dim=-1)
    x_min = torch.gather(x_c, 2, i_min[:, :, None, None].expand(b, r, 1, 3))[:, :, 0]
    has_valid = valid.any(dim=-1)

    lv = levels.view(1, 1, 1, n_lv)
    # a crossing pairs each valid sample with the last valid sample before it: samples whose
    # inverse deformation did not converge (folds near the lips and eyelids) are skipped rather
    # than hiding the surface behind them (they did, for ~12% of opaque rays on a trained model)
    ar = torch.arange(n, device=t.device).expand(b, r, n)
    last_valid = torch.where(valid, ar, torch.full_like(ar, -1)).cummax(dim=-1).values
    front_idx = last_valid[..., :-1]  # (B, R, N-1): front sample of the pair ending at j + 1
    has_front = (front_idx >= 0)[..., None]
    s_front = torch.gather(s, 2, front_idx.clamp(min=0))
    cond = (s_front[..., None] > lv) & (s[..., 1:, None] <= lv) & valid[..., 1:, None] & has_front  # (B, R, N-1, L)
    has = cond.any(dim=2)
    first = cond.to(torch.int8).argmax(dim=2)  # first entering crossing per level
    front = _gather(front_idx.clamp(min=0), first)
    tf, tb = _gather(t, front), _gather(t, first + 1)
    sf, sb = _gather(s, front), _gather(s, first + 1)
    xf, xb = _gather(x_c, front), _gather(x_c, first + 1)
    lvl = levels.view(1, 1, n_lv).expand(b, r, n_lv)

    refine = max(2, newton_steps // 2)
    for k in range(secant_steps + 1):
        denom = sf - sb
        frac = torch.where(denom.abs() > 1e-6, (sf - lvl) / denom.clamp_min(1e-6), torch.full_like(sf, 0.5))
        frac = torch.where(has, frac.clamp(0.0, 1.0), torch.zeros_like(frac))
        tn = tf + frac * (tb - tf)
        x0 = xf + frac[..., None] * (xb - xf)
        xdn = o[:, :, None] + tn[..., None] * d[:, :, None]
        xn, res = newton(deform, xdn.reshape(b, r * n_lv, 3), x0.reshape(b, r * n_lv, 3), fs, refine)
        xn, ok = xn.reshape(b, r, n_lv, 3), (res < tol).reshape(b, r, n_lv)
        if k == secant_steps:
            break
        sn = manifold(xn)
        front = ok & (sn > lvl)
        back = ok & (sn <= lvl)
        tf, sf, xf = torch.where(front, tn, tf), torch.where(front, sn, sf), torch.where(front[..., None], xn, xf)
        tb, sb, xb = torch.where(back, tn, tb), torch.where(back, sn, sb), torch.where(back[..., None], xn, xb)
    # where the refinement did not converge (the bracket spans a fold of the deformation) the
    # bracket's back end stands in: a converged sample at most one step behind the level
    fallback = has & ~ok
    tn = torch.where(fallback, tb, tn)
    xn = torch.where(fallback[..., None], xb, xn)
    return LevelHits(t=tn, x_c=xn, hit=has, s_min=s_min, x_min=x_min, has_valid=has_valid)
