"""Texture atlases of the bundle: packing, image encoding/decoding, the fallback base colour.

Atlas layout (docs/bundle.md): tile t of a grid [cols, rows] occupies columns
[(t % cols) W, (t % cols + 1) W) and rows [(t // cols) H, ...) of the image; image row 0 is
v = 0 (train/conventions.py), so a tile keeps its texture's orientation. Position features
(H, W, D) become ceil(D/4) RGBA tiles in one row (channels 4t..4t+3, zero padded); radiance
bases (K, H, W, 4) become a grid of min(K, 4) columns.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from export.hb_neural_shading import Atlas

MIME = {"png": "image/png", "webp": "image/webp"}


def grid_for(count: int, max_cols: int = 4) -> tuple[int, int]:
    cols = max(1, min(count, max_cols))
    return cols, -(-count // cols)


def pack_tiles(tiles: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """(T, H, W, 4) u8 -> atlas (rows*H, cols*W, 4); unused tiles stay zero."""
    T, H, W, C = tiles.shape
    cols, rows = grid
    out = np.zeros((rows * H, cols * W, C), np.uint8)
    for t in range(T):
        r, c = divmod(t, cols)
        out[r * H : (r + 1) * H, c * W : (c + 1) * W] = tiles[t]
    return out


def unpack_tiles(atlas: np.ndarray, grid: tuple[int, int], count: int) -> np.ndarray:
    """Inverse of `pack_tiles`: atlas -> (count, H, W, C)."""
    cols, rows = grid
    H, W = atlas.shape[0] // rows, atlas.shape[1] // cols
    return np.stack([atlas[(t // cols) * H : (t // cols + 1) * H, (t % cols) * W : (t % cols + 1) * W] for t in range(count)])


def position_tiles(pos: np.ndarray) -> np.ndarray:
    """(H, W, D) u8 -> (ceil(D/4), H, W, 4), channels zero padded."""
    H, W, D = pos.shape
    n = -(-D // 4)
    padded = np.zeros((H, W, 4 * n), np.uint8)
    padded[..., :D] = pos
    return np.ascontiguousarray(padded.reshape(H, W, n, 4).transpose(2, 0, 1, 3))


def encode(rgba: np.ndarray, fmt: str, quality: int, lossless: bool, alpha_quality: int = 100) -> bytes:
    """u8 (H, W, 4) -> PNG or WebP bytes. WebP lossless is exact; lossy WebP at `quality`, its
    alpha plane lossless unless `alpha_quality` < 100 (fewer alpha levels, then lossless)."""
    img = Image.fromarray(np.ascontiguousarray(rgba), "RGBA")
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, "PNG", optimize=True)
    elif fmt == "webp":
        if lossless:
            img.save(buf, "WEBP", lossless=True, quality=100, method=4, exact=True)
        else:
            img.save(buf, "WEBP", quality=int(quality), method=6, exact=True, alpha_quality=int(alpha_quality))
    else:
        raise ValueError(f"texture format must be png or webp; got {fmt!r}")
    return buf.getvalue()


def decode(data: bytes, where: str = "image") -> np.ndarray:
    """PNG/WebP bytes -> u8 (H, W, 4)."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:  # PIL raises several types on damaged data
        raise ValueError(f"{where}: undecodable image ({exc})") from None
    return np.asarray(img.convert("RGBA"))


def make_atlases(pos_texture: np.ndarray, radiance: np.ndarray, fmt: str, quality: int,
                 lossless_radiance: bool, position_quality: int = 0, shared_alpha: bool = True,
                 alpha_quality: int = 100) -> tuple[Atlas, Atlas]:
    """Artifact layer textures -> (position-feature atlas, radiance atlas).

    Position features are stored losslessly unless `position_quality` (1-100) asks for lossy
    WebP (they are MLP inputs, not colours: lossy 4:2:0 chroma mixes neighbouring channels, so
    the cost is measured in renders, `python -m export.quality`); `alpha_quality` < 100 makes the
    alpha planes of lossy atlases lossy too (radiance alpha, position channels 3 and 7). With `shared_alpha` and an
    alpha field identical in every basis (as stage 2 bakes it), the alpha is stored once, in
    tile 0; the other tiles' alpha is 0."""
    pt = position_tiles(pos_texture)
    pg = (pt.shape[0], 1)
    H, W = pos_texture.shape[:2]
    pos_lossless = fmt != "webp" or not position_quality
    pos = Atlas(encode(pack_tiles(pt, pg), fmt, position_quality or 100, pos_lossless, alpha_quality), MIME[fmt], pg, (W, H),
                pos_texture.shape[2])
    K = radiance.shape[0]
    rg = grid_for(K)
    share = bool(shared_alpha) and K > 1 and bool(np.all(radiance[..., 3] == radiance[:1, ..., 3]))
    tiles = radiance
    if share:
        tiles = radiance.copy()
        tiles[1:, ..., 3] = 0
    rad = Atlas(encode(pack_tiles(tiles, rg), fmt, quality, lossless_radiance, alpha_quality), MIME[fmt], rg, (W, H), K, share)
    return pos, rad


def atlas_arrays(pos: Atlas, rad: Atlas, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode atlases back to artifact arrays: pos (H, W, D) u8, radiance (K, H, W, 4) u8."""
    pa = decode(pos.image, f"{where}.positionFeatures")
    tiles = unpack_tiles(pa, pos.grid, pos.grid[0] * pos.grid[1])
    H, W = tiles.shape[1:3]
    pos_tex = np.ascontiguousarray(tiles.transpose(1, 2, 0, 3).reshape(H, W, -1)[..., : pos.count])
    rad_tex = unpack_tiles(decode(rad.image, f"{where}.radiance"), rad.grid, rad.count)
    if rad.shared_alpha:
        rad_tex[1:, ..., 3] = rad_tex[:1, ..., 3]
    return pos_tex, np.ascontiguousarray(rad_tex)


def neutral_base_colour(pos_texture: np.ndarray, radiance: np.ndarray, theta: np.ndarray, spec) -> np.ndarray:
    """Fallback look for standard viewers: the bases mixed by the per-pixel MLP at the neutral
    frame (zero expression and pose), seen head-on (normal +z, view direction -z).
    Returns u8 (H, W, 4), straight alpha."""
    import torch

    from train.shading import pixel_coefficients

    H, W, D = pos_texture.shape
    f = torch.from_numpy(pos_texture.reshape(-1, D).astype(np.float32) / 255.0)
    nv = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0, -1.0]).expand(f.shape[0], 6)
    with torch.no_grad():
        coef = pixel_coefficients(torch.cat([f, nv], -1)[None], torch.from_numpy(theta[None].astype(np.float32)), spec)[0]
    bases = radiance.reshape(radiance.shape[0], -1, 4).astype(np.float32) / 255.0  # (K, HW, 4)
    rgba = np.einsum("nk,knc->nc", coef.numpy(), bases)
    return np.clip(np.rint(rgba * 255.0), 0, 255).astype(np.uint8).reshape(H, W, 4)
