"""Pure-torch reference rasterizer with nvdiffrast's semantics (the spec of `train.raster`).

Runs anywhere torch runs (CPU included). Output layout and conventions are nvdiffrast's:

* `rast[b, row, col] = (u, v, z/w, triangle_id + 1)`; `triangle_id + 1 == 0` marks an empty pixel.
  Attributes interpolate as `u * a0 + v * a1 + (1 - u - v) * a2` (perspective-correct `u, v`).
* Pixel (col, row) has its centre at NDC `x = -1 + (2 col + 1) / W`, `y = -1 + (2 row + 1) / H`:
  row 0 is NDC y = -1 (no vertical flip).
* Coverage: vertices are snapped to a 1/16-pixel grid (as nvdiffrast's CUDA rasterizer does) and
  edge functions are evaluated exactly in int64 with nvdiffrast's tie rule, so meshes are
  watertight: a pixel centre on a shared edge belongs to exactly one of the two triangles.
* Depth test: nearest z/w wins; exact ties go to the lower triangle index.
* Clipping: a pixel is drawn only where the interpolated z/w lies in [-1, 1] (what near/far
  clipping produces). Triangles with any vertex at w <= 0 are dropped entirely (nvdiffrast clips
  them instead; meshes in front of the camera, as ours always are, are unaffected).
* No backface culling.

Gradients: visibility is piecewise constant (no gradient). For the winning triangle of each pixel
the barycentrics are recomputed from `pos` with differentiable torch ops, so `u, v` carry
gradients to the clip-space positions (x, y, w), and `interpolate` carries gradients to the
attributes and through `u, v` to the positions. Exactly as in nvdiffrast: `u, v` are clamped to
[0, 1] in value while the gradient is that of the unclamped `a_i / (sum(a) + 1e-6)`, and the z/w
channel (clamped to [-1, 1]) carries no gradient.
"""

from __future__ import annotations

import torch
from torch import Tensor

_SUB = 16  # subpixels per pixel (nvdiffrast: CR_SUBPIXEL_LOG2 = 4)
_COORD_LIMIT = float(1 << 26)  # snapped coordinates are clamped here (keeps int64 products exact)
_EMPTY = torch.iinfo(torch.int64).max
_DEPTH_SCALE = float(1 << 30)  # z/w in [-1, 1] -> integer depth in [0, 2^31]
_AREA_EPS = 1e-6  # nvdiffrast's epsilon on the clip-space area in its rasterize gradient
DEFAULT_CHUNK = 1 << 21  # bbox pixels of the triangles processed at once (bounds memory)


def _sum3(x: Tensor) -> Tensor:
    """x (N,3,...) -> x[:,0] + x[:,1] + x[:,2]."""
    return x[:, 0] + x[:, 1] + x[:, 2]


def _min3(x: Tensor) -> Tensor:
    return torch.minimum(torch.minimum(x[:, 0], x[:, 1]), x[:, 2])


def _max3(x: Tensor) -> Tensor:
    return torch.maximum(torch.maximum(x[:, 0], x[:, 1]), x[:, 2])


def _resolution(resolution) -> tuple[int, int]:
    if isinstance(resolution, int):
        resolution = (resolution, resolution)
    if len(resolution) != 2 or int(resolution[0]) <= 0 or int(resolution[1]) <= 0:
        raise ValueError(f"resolution must be (height, width) of positive ints; got {resolution}")
    return int(resolution[0]), int(resolution[1])


def check_pos_tri(pos: Tensor, tri: Tensor) -> tuple[Tensor, Tensor]:
    """Validate and normalise `pos` (B,V,4)|(V,4) float and `tri` (F,3) int -> ((B,V,4), (F,3) long)."""
    if not torch.is_tensor(pos) or not pos.is_floating_point():
        raise TypeError(f"pos must be a floating-point tensor; got {type(pos).__name__} {getattr(pos, 'dtype', '')}")
    if pos.dim() == 2:
        pos = pos[None]
    if pos.dim() != 3 or pos.shape[-1] != 4:
        raise ValueError(f"pos must be (B,V,4) or (V,4) clip-space positions; got {tuple(pos.shape)}")
    if not torch.is_tensor(tri) or tri.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"tri must be an int32/int64 tensor; got {getattr(tri, 'dtype', type(tri).__name__)}")
    if tri.dim() != 2 or tri.shape[1] != 3:
        raise ValueError(f"tri must be (F,3); got {tuple(tri.shape)}")
    tri = tri.long()
    if tri.numel() and (int(tri.min()) < 0 or int(tri.max()) >= pos.shape[1]):
        raise ValueError(f"tri indices must lie in [0, {pos.shape[1]}); got [{int(tri.min())}, {int(tri.max())}]")
    return pos, tri


def _setup(pos: Tensor, tri: Tensor, H: int, W: int):
    """Per-triangle setup on snapped vertices, T = B*F triangles.

    Returns (pack (T,15) int64, rows (T,)): per triangle the exact int64 edge functions at the
    centre of its bbox's first pixel (x0, y0) (3) and their per-pixel steps along x (3) and y (3),
    x0, y0, the bbox width, and (bit-cast float64) the NDC depth at that pixel centre and its
    per-row step; `rows` = bbox rows (0 = culled). Edge functions are pre-biased by the fill
    rule, so a pixel centre is inside iff all three are >= 0.
    """
    B, F = pos.shape[0], tri.shape[0]
    v = pos[:, tri].reshape(B * F, 3, 4)  # (T,3,4)
    w = v[..., 3]
    # (small-dim reductions like .all(-1)/.sum(1) are very slow on CPU torch: columns instead)
    s4 = _sum3(v)  # (T,4): non-finite if any coordinate is
    ok = (w[:, 0] > 0) & (w[:, 1] > 0) & (w[:, 2] > 0) & torch.isfinite(s4[:, 0] + s4[:, 1] + s4[:, 2] + s4[:, 3])
    rcp = 1.0 / torch.where(w > 0, w, torch.ones_like(w))
    # snap like nvdiffrast: (x * (1/w)) * (size * 8) rounded to nearest-even (same float ops, so
    # the same subpixel grid), then the origin moved to the viewport corner
    X = torch.round((v[..., 0] * rcp * float(W * _SUB // 2)).clamp(-_COORD_LIMIT, _COORD_LIMIT)).long() + W * _SUB // 2
    Y = torch.round((v[..., 1] * rcp * float(H * _SUB // 2)).clamp(-_COORD_LIMIT, _COORD_LIMIT)).long() + H * _SUB // 2
    zw = (v[..., 2] * rcp).double()  # (T,3) NDC depth
    # candidate pixel range: centres 16 i + 8 inside the snapped bbox
    x0 = torch.div(_min3(X) - _SUB // 2 + _SUB - 1, _SUB, rounding_mode="floor").clamp(0, W)
    x1 = torch.div(_max3(X) - _SUB // 2, _SUB, rounding_mode="floor").clamp(-1, W - 1)
    y0 = torch.div(_min3(Y) - _SUB // 2 + _SUB - 1, _SUB, rounding_mode="floor").clamp(0, H)
    y1 = torch.div(_max3(Y) - _SUB // 2, _SUB, rounding_mode="floor").clamp(-1, H - 1)
    # edge i runs from vertex i+1 to vertex i+2: e_i(P) = dx_i (Py - Y_{i+1}) - dy_i (Px - X_{i+1})
    X1, X2, Y1, Y2 = X.roll(-1, 1), X.roll(-2, 1), Y.roll(-1, 1), Y.roll(-2, 1)
    dx, dy = X2 - X1, Y2 - Y1
    area = (X[:, 1] - X[:, 0]) * (Y[:, 2] - Y[:, 0]) - (Y[:, 1] - Y[:, 0]) * (X[:, 2] - X[:, 0])
    sgn = torch.where(area < 0, -1, 1)[:, None]
    dx, dy = dx * sgn, dy * sgn
    cx0 = (x0 * _SUB + _SUB // 2)[:, None]
    cy0 = (y0 * _SUB + _SUB // 2)[:, None]
    e0 = dx * (cy0 - Y1) - dy * (cx0 - X1)  # (T,3) exact, at the first candidate centre
    # fill rule (nvdiffrast's cudaraster): with the triangle wound to positive area, a centre
    # exactly on an edge is covered only if the edge has dy < 0, or dy == 0 and dx > 0
    bias = ((dy > 0) | ((dy == 0) & (dx <= 0))).long()
    step_x, step_y = -dy * _SUB, dx * _SUB
    # depth is affine in screen space: z = sum_i e_i z_i / area (unbiased e)
    area_f = area.abs().clamp(min=1).double()
    z0 = _sum3(e0.double() * zw) / area_f
    zx = _sum3(step_x.double() * zw) / area_f
    zy = _sum3(step_y.double() * zw) / area_f
    zp = torch.stack([z0, zx, zy], 1).contiguous().view(torch.int64)
    ok &= area != 0
    ok &= (_max3(zw) >= -1) & (_min3(zw) <= 1)
    bw = (x1 - x0 + 1).clamp(min=0)
    rows = (y1 - y0 + 1).clamp(min=0) * (bw > 0) * ok
    pack = torch.cat([e0 - bias, step_x, step_y, x0[:, None], y0[:, None], bw[:, None], zp], 1)
    return pack, rows


def _visible(pos: Tensor, tri: Tensor, H: int, W: int, chunk: int) -> Tensor:
    """Z-buffer pass -> (B*H*W,) int64 key per pixel; low 31 bits = winning b*F + f, _EMPTY if none."""
    B, F = pos.shape[0], tri.shape[0]
    out = torch.full((B * H * W,), _EMPTY, dtype=torch.int64, device=pos.device)
    if F == 0:
        return out
    pack, rows = _setup(pos, tri, H, W)
    live = torch.nonzero(rows > 0).squeeze(1)
    if live.numel() == 0:
        return out
    pack, rows = pack[live], rows[live]
    # chunks bounded by bbox area (an upper bound on the pixels a chunk can produce)
    ends = (rows * pack[:, 11]).cumsum(0)
    start, n_live = 0, live.numel()
    while start < n_live:
        base = int(ends[start - 1]) if start else 0
        stop = max(int(torch.searchsorted(ends, base + chunk, right=True)), start + 1)
        _scan_chunk(pack[start:stop], rows[start:stop], live[start:stop], F, H, W, out)
        start = stop
    return out


def _scan_chunk(pack: Tensor, rows: Tensor, tris: Tensor, F: int, H: int, W: int, out: Tensor) -> None:
    """Triangles -> rows -> exactly covered pixels (integer spans); z-test by amin into `out`."""
    dev = pack.device
    n_rows = int(rows.sum())
    rt = torch.repeat_interleave(torch.arange(tris.numel(), device=dev), rows, output_size=n_rows)
    ly = torch.arange(n_rows, device=dev) - (rows.cumsum(0) - rows).index_select(0, rt)
    p = pack.index_select(0, rt)  # (R,15)
    e = p[:, 0:3] + p[:, 6:9] * ly[:, None]  # (R,3) edge functions at the row's first pixel
    sx = p[:, 3:6]
    # inside iff e + sx * lx >= 0 for all edges: solve each for lx exactly (integer division)
    safe = torch.where(sx == 0, torch.ones_like(sx), sx)
    q = torch.div(e, safe.abs(), rounding_mode="floor")
    big = torch.full_like(e, 1 << 40)
    lo3 = torch.where(sx > 0, -q, -big)
    hi3 = torch.where(sx < 0, q, torch.where((sx == 0) & (e < 0), -big, big))  # sx == 0, e < 0: empty row
    lo = torch.maximum(torch.maximum(lo3[:, 0], lo3[:, 1]), lo3[:, 2]).clamp(min=0)
    hi = torch.minimum(torch.minimum(hi3[:, 0], hi3[:, 1]), hi3[:, 2])
    hi = torch.minimum(hi, p[:, 11] - 1)
    span = (hi - lo + 1).clamp(min=0)
    t = tris.index_select(0, rt)  # global triangle index b*F + f
    b = torch.div(t, F, rounding_mode="floor")
    start = (b * H + p[:, 10] + ly) * W + p[:, 9] + lo  # first covered pixel's linear index
    zrow = p[:, 12:15].contiguous().view(torch.float64)  # [z at (x0, y0), per-x step, per-y step]
    z_start = zrow[:, 0] + zrow[:, 2] * ly + zrow[:, 1] * lo
    keep = span > 0
    rowtab = torch.stack([start, t, z_start.view(torch.int64), zrow[:, 1].contiguous().view(torch.int64)], 1)[keep]
    span = span[keep]
    n_pix = int(span.sum())
    if n_pix == 0:
        return
    pr = torch.repeat_interleave(torch.arange(span.numel(), device=dev), span, output_size=n_pix)
    off = torch.arange(n_pix, device=dev) - (span.cumsum(0) - span).index_select(0, pr)
    r = rowtab.index_select(0, pr)  # (N,4)
    zf = r[:, 2:4].contiguous().view(torch.float64)
    z = zf[:, 0] + zf[:, 1] * off
    pix = r[:, 0] + off
    t = r[:, 1]
    keep = (z >= -1) & (z <= 1)  # near/far clipping
    if not bool(keep.all()):
        z, pix, t = z[keep], pix[keep], t[keep]
    # z-test key: depth quantised to 2^-30 (finer than float32 near 1) in the high bits, the
    # triangle in the low 31 bits (equal depths -> lower triangle index wins)
    key = (((z + 1.0) * _DEPTH_SCALE).long() << 31) | t
    out.scatter_reduce_(0, pix, key, reduce="amin", include_self=True)


def rasterize(pos: Tensor, tri: Tensor, resolution, *, chunk: int = DEFAULT_CHUNK) -> Tensor:
    """Rasterize triangles. pos (B,V,4)|(V,4) clip space, tri (F,3) int -> rast (B,H,W,4).

    `resolution` is (H, W) or an int. See the module docstring for the exact semantics.
    """
    pos, tri = check_pos_tri(pos, tri)
    H, W = _resolution(resolution)
    B, F = pos.shape[0], tri.shape[0]
    with torch.no_grad():
        key = _visible(pos.detach(), tri, H, W, chunk)
    dtype = pos.dtype if pos.dtype == torch.float64 else torch.float32
    rast = torch.zeros(B * H * W, 4, dtype=dtype, device=pos.device)
    pix = torch.nonzero(key != _EMPTY).squeeze(1)
    if pix.numel() == 0:
        return rast.reshape(B, H, W, 4)
    g = key[pix] & 0x7FFFFFFF  # b*F + f
    b, f = torch.div(g, F, rounding_mode="floor"), g % F
    col, row = pix % W, torch.div(pix, W, rounding_mode="floor") % H
    # perspective-correct barycentrics at the pixel centre from homogeneous edge functions (the
    # formulas of nvdiffrast's forward shader and gradient kernels)
    fx = ((2 * col + 1).to(dtype) / W - 1)[:, None]
    fy = ((2 * row + 1).to(dtype) / H - 1)[:, None]
    v = pos[b[:, None], tri[f]].to(dtype)  # (P,3,4), differentiable
    px = v[..., 0] - fx * v[..., 3]
    py = v[..., 1] - fy * v[..., 3]
    a = px.roll(-1, 1) * py.roll(-2, 1) - py.roll(-1, 1) * px.roll(-2, 1)  # (P,3)
    at = _sum3(a)[:, None]
    with torch.no_grad():
        # values: exact, clamped to [0, 1] (centres just outside the unsnapped triangle)
        tiny = torch.finfo(dtype).tiny
        exact = (a / torch.where(at.abs() < tiny, torch.full_like(at, tiny), at)).clamp(0.0, 1.0)
        zw = (_sum3(a * v[..., 2]) / _sum3(a * v[..., 3])).clamp(-1.0, 1.0)
        eps = torch.where(at < 0, -_AREA_EPS, _AREA_EPS)
    # gradients: of the unclamped a / (at + 1e-6), as nvdiffrast's rasterize backward computes them
    soft = a / (at + eps)
    bary = soft + (exact - soft).detach()
    vals = torch.cat([bary[:, :2], zw[:, None], (f + 1).to(dtype)[:, None]], 1)
    rast = rast.index_put((pix,), vals)
    return rast.reshape(B, H, W, 4)


def interpolate(attr: Tensor, rast: Tensor, tri: Tensor) -> Tensor:
    """Interpolate vertex attributes: attr (V,C)|(B,V,C), rast (B,H,W,4), tri (F,3) -> (B,H,W,C).

    Empty pixels get 0. Differentiable w.r.t. `attr` and `rast[..., :2]`.
    """
    if rast.dim() != 4 or rast.shape[-1] != 4:
        raise ValueError(f"rast must be (B,H,W,4); got {tuple(rast.shape)}")
    if attr.dim() not in (2, 3):
        raise ValueError(f"attr must be (V,C) or (B,V,C); got {tuple(attr.shape)}")
    B, H, W, _ = rast.shape
    if attr.dim() == 3 and attr.shape[0] not in (1, B):
        raise ValueError(f"attr batch must be 1 or {B}; got {attr.shape[0]}")
    tri = tri.long()
    C = attr.shape[-1]
    flat = rast.reshape(-1, 4)
    tid = flat[:, 3].detach().round().long()
    pix = torch.nonzero(tid > 0).squeeze(1)
    dtype = torch.promote_types(attr.dtype, rast.dtype)
    out = torch.zeros(B * H * W, C, dtype=dtype, device=attr.device)
    if pix.numel() == 0:
        return out.reshape(B, H, W, C)
    vi = tri[tid[pix] - 1]  # (P,3)
    if attr.dim() == 2 or attr.shape[0] == 1:
        a = attr.reshape(-1, C)[vi] if attr.dim() == 2 else attr[0][vi]
    else:
        a = attr[torch.div(pix, H * W, rounding_mode="floor")[:, None], vi]
    u, v = flat[pix, 0:1], flat[pix, 1:2]
    val = u * a[:, 0] + v * a[:, 1] + (1 - u - v) * a[:, 2]
    out = out.index_put((pix,), val.to(dtype))
    return out.reshape(B, H, W, C)
