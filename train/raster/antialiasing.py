"""Pure-torch analytic antialiasing with nvdiffrast's `antialias` semantics (reference backend).

For every pair of horizontally or vertically adjacent pixels whose triangle ids differ, the
triangle in front (the covered one, or the nearer z/w) is examined in pixel space around its own
pixel centre. Among its edges that cross the line between the two centres, the one crossing
farthest towards the neighbour is taken, if it is a **silhouette** edge (a mesh boundary, or the
triangle across it is wound the other way, i.e. faces away) and runs more across the pair than
along it. With `dc` the crossing position (0 = the front pixel's centre, 1 = the neighbour's),
the pixel on the far side of the edge blends towards the other pixel's colour by
`|0.5 - dc|` (`dc < 0.5`: the front pixel is partly background, `dc > 0.5`: the neighbour is
partly covered). Contributions of all pairs add up; every pair reads the input colours.

Gradients: colours are blended linearly (exact gradients); positions receive the derivative of
the crossing point through the two vertices of the chosen edge, computed like nvdiffrast's
gradient kernel (inverse edge height with a 1e-3 pixel epsilon, zero when the blend saturates).
Silhouette topology is derived from `tri` on every call: an edge shared by more than two
triangles pairs its first two triangles (others treat it as a boundary).
"""

from __future__ import annotations

import torch
from torch import Tensor

from train.raster.reference import check_pos_tri

_F32_MAX = 3.402823466e38
_EPS_DC = 0.0625  # crossings up to 1/16 pixel outside the pair still count (then clamp)
_EPS_DY = 1e-3  # nvdiffrast's epsilon on the edge height in its position gradient


def opposite_vertices(tri: Tensor) -> Tensor:
    """tri (F,3) -> (F,3) long: vertex across edge i (the edge opposite vertex i), or -1."""
    F = tri.shape[0]
    t = tri.long()
    a, b = t.roll(-1, 1), t.roll(-2, 1)  # edge i = (v[i+1], v[i+2])
    nv = int(t.max()) + 1 if F else 1
    key = (torch.minimum(a, b) * nv + torch.maximum(a, b)).reshape(-1)
    degenerate = ((t[:, 0] == t[:, 1]) | (t[:, 1] == t[:, 2]) | (t[:, 2] == t[:, 0]))[:, None].expand(F, 3)
    key = torch.where(degenerate.reshape(-1), torch.full_like(key, -1), key)  # never matches
    order = torch.argsort(key, stable=True)
    ks = key[order]
    n = ks.numel()
    pos = torch.arange(n, device=tri.device)
    start = torch.ones(n, dtype=torch.bool, device=tri.device)
    start[1:] = ks[1:] != ks[:-1]
    first = torch.cummax(torch.where(start, pos, torch.zeros_like(pos)), 0).values
    rank = pos - first
    nxt_same = torch.zeros(n, dtype=torch.bool, device=tri.device)
    nxt_same[:-1] = ks[1:] == ks[:-1]
    partner = torch.full((n,), -1, dtype=torch.long, device=tri.device)
    partner = torch.where((rank == 0) & nxt_same, pos + 1, partner)
    partner = torch.where(rank == 1, pos - 1, partner)
    partner = torch.where(ks < 0, torch.full_like(partner, -1), partner)
    opp_sorted = torch.where(partner >= 0, t.reshape(-1)[order[partner.clamp(min=0)]], torch.full_like(partner, -1))
    out = torch.empty(n, dtype=torch.long, device=tri.device)
    out[order] = opp_sorted
    return out.reshape(F, 3)


def _same_sign(a: Tensor, b: Tensor) -> Tensor:
    return torch.signbit(a) == torch.signbit(b)


def _rational_gt(n0, n1, d0, d1) -> Tensor:
    """n0/d0 > n1/d1 without dividing (nvdiffrast's comparison, sign-aware)."""
    return (n0 * d1 > n1 * d0) == _same_sign(d0, d1)


def antialias(color: Tensor, rast: Tensor, pos: Tensor, tri: Tensor) -> Tensor:
    """color (B,H,W,C), rast (B,H,W,4), pos (B,V,4)|(V,4) clip space, tri (F,3) -> (B,H,W,C)."""
    if color.dim() != 4 or rast.dim() != 4 or rast.shape[:3] != color.shape[:3] or rast.shape[-1] != 4:
        raise ValueError(f"color must be (B,H,W,C) and rast (B,H,W,4) of the same B,H,W; got {tuple(color.shape)}, {tuple(rast.shape)}")
    pos, tri = check_pos_tri(pos, tri)
    B, H, W, C = color.shape
    if pos.shape[0] not in (1, B):
        raise ValueError(f"pos batch must be 1 or {B}; got {pos.shape[0]}")
    ids = rast[..., 3].detach().round().long().reshape(-1)
    zs = rast[..., 2].detach().reshape(-1)
    flat = torch.arange(B * H * W, device=color.device).reshape(B, H, W)
    pairs = []
    for d, (p0, p1) in enumerate(((flat[:, :, :-1], flat[:, :, 1:]), (flat[:, :-1, :], flat[:, 1:, :]))):
        p0, p1 = p0.reshape(-1), p1.reshape(-1)
        diff = ids[p0] != ids[p1]
        pairs.append((p0[diff], p1[diff], torch.full_like(p0[diff], d)))
    pix0, pix1, down = (torch.cat(x) for x in zip(*pairs))
    out = color.reshape(-1, C)
    if pix0.numel() == 0:
        return color.clone()
    t0, t1 = ids[pix0] - 1, ids[pix1] - 1
    use1 = (t0 < 0) | ((t1 >= 0) & ~(zs[pix0] < zs[pix1]))
    tsel = torch.where(use1, t1, t0)
    ds = torch.where(use1, -1.0, 1.0)
    ref = torch.where(use1, pix1, pix0)  # pixel whose centre the geometry is measured from
    b = torch.div(ref, H * W, rounding_mode="floor")
    px = (ref % W).float()
    py = (torch.div(ref, W, rounding_mode="floor") % H).float()
    vi = tri[tsel]  # (P,3)
    opp = opposite_vertices(tri)[tsel]  # (P,3)
    bpos = b if pos.shape[0] == B else torch.zeros_like(b)
    v = pos[bpos[:, None], vi].float()  # (P,3,4), differentiable
    o = torch.where((opp >= 0)[..., None], pos[bpos[:, None], opp.clamp(min=0)].float(), v)
    xh, yh = W / 2.0, H / 2.0
    fx, fy = (px + 0.5 - xh)[:, None], (py + 0.5 - yh)[:, None]

    def to_pixels(q: Tensor) -> tuple[Tensor, Tensor]:
        r = 1.0 / q[..., 3]
        return q[..., 0] * r * xh - fx, q[..., 1] * r * yh - fy

    with torch.no_grad():
        x, y = to_pixels(v.detach())
        ox, oy = to_pixels(o.detach())
        x0, x1, x2 = x.unbind(1)
        y0, y1, y2 = y.unbind(1)
        bb = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        wing = torch.stack([
            (x1 - ox[:, 0]) * (y2 - oy[:, 0]) - (x2 - ox[:, 0]) * (y1 - oy[:, 0]),
            (x2 - ox[:, 1]) * (y0 - oy[:, 1]) - (x0 - ox[:, 1]) * (y2 - oy[:, 1]),
            (x0 - ox[:, 2]) * (y1 - oy[:, 2]) - (x1 - ox[:, 2]) * (y0 - oy[:, 2]),
        ], 1)
        silhouette = _same_sign(wing, bb[:, None])  # (P,3)
        dn = (down == 1)[:, None]
        x, y = torch.where(dn, y, x), torch.where(dn, x, y)  # vertical pairs: swap axes
        xa, ya = x.roll(-1, 1), y.roll(-1, 1)  # edge i from vertex i+1 ...
        xb, yb = x.roll(-2, 1), y.roll(-2, 1)  # ... to vertex i+2
        ex, ey = xb - xa, yb - ya
        dist = ds[:, None] * (xa * ey - ya * ex)
        no_cross = _same_sign(ya, yb)
        dist = torch.where(no_cross, torch.full_like(dist, -_F32_MAX), dist)
        ey = torch.where(no_cross, torch.ones_like(ey), ey)
        n0, n1, n2 = dist.unbind(1)
        d0, d1, d2 = ey.unbind(1)
        g10, g20, g21 = _rational_gt(n1, n0, d1, d0), _rational_gt(n2, n0, d2, d0), _rational_gt(n2, n1, d2, d1)
        di = torch.where(g20 & g21, 2, torch.where(g10, 1, 0))
        pick = lambda t: t.gather(1, di[:, None])[:, 0]  # noqa: E731
        ok = pick(silhouette) & (pick(ey).abs() >= pick(ex).abs())
        dc = torch.where(ok, pick(dist) / pick(ey), torch.full_like(n0, -_F32_MAX))
        valid = (dc > -_EPS_DC) & (dc < 1.0 + _EPS_DC)
    idx = torch.nonzero(valid).squeeze(1)
    if idx.numel() == 0:
        return color.clone()
    di, dsv, dn = di[idx], ds[idx], (down[idx] == 1)[:, None]
    # the chosen edge's endpoints, differentiable: crossing = ds * (xa*ey - ya*ex) / ey
    ia, ib = (di + 1) % 3, (di + 2) % 3
    va = v[idx, ia]
    vb = v[idx, ib]
    fxi, fyi = fx[idx], fy[idx]
    ra, rb = 1.0 / va[:, 3:4], 1.0 / vb[:, 3:4]
    qa = torch.cat([va[:, 0:1] * ra * xh - fxi, va[:, 1:2] * ra * yh - fyi], 1)
    qb = torch.cat([vb[:, 0:1] * rb * xh - fxi, vb[:, 1:2] * rb * yh - fyi], 1)
    qa, qb = torch.where(dn, qa.flip(1), qa), torch.where(dn, qb.flip(1), qb)
    exv, eyv = qb[:, 0] - qa[:, 0], qb[:, 1] - qa[:, 1]
    db = qa[:, 0] * eyv - qa[:, 1] * exv
    with torch.no_grad():
        exact = (dsv * db / eyv).clamp(0.0, 1.0)
        live = ((dsv * (0.5 - exact)).abs() < 0.5).to(db.dtype)  # saturated blends pass no gradient
        eps = torch.where(eyv < 0, -_EPS_DY, _EPS_DY)
    soft = dsv * db / (eyv + eps) * live
    dcv = soft + (exact - soft).detach()
    alpha = dsv * (0.5 - dcv)
    c0, c1 = out[pix0[idx]], out[pix1[idx]]
    target = torch.where(alpha.detach() > 0, pix0[idx], pix1[idx])
    delta = alpha[:, None].to(color.dtype) * (c1 - c0)
    return out.index_add(0, target, delta).reshape(B, H, W, C)
