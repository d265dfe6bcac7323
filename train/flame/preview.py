"""Preview sheet of the morphable model: `python -m train.flame.preview out.png [--source S]`.

Renders neutral, jaw open, smile, brow raise, blink, eyes left (and a side view) with a small
numpy z-buffer triangle splatter (orthographic, Lambert + a little ambient), coloured by the
procedural head's regions when present. Meant for a person to look at, not for measurement.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

REGION_COLOURS = {
    "skin": (224, 172, 150), "lips": (196, 92, 96), "brows": (92, 64, 48), "eyes": (245, 245, 240),
    "teeth": (250, 250, 235), "mouth_interior": (120, 30, 40), "scalp": (150, 110, 80),
    "neck": (214, 162, 140), "ears": (215, 150, 130), "nose": (230, 165, 145),
}


def _rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def splat(vertices: np.ndarray, faces: np.ndarray, colours: np.ndarray, size: int = 256,
          yaw: float = 0.0, extent: float | None = None, centre=None) -> np.ndarray:
    """Orthographic z-buffer render looking along -z after a yaw: (V,3), (F,3), (V,3) -> (S,S,3) u8."""
    v = vertices @ _rot_y(yaw).T
    centre = v.mean(axis=0) if centre is None else np.asarray(centre) @ _rot_y(yaw).T
    extent = extent or float(np.abs(v[:, :2] - centre[:2]).max()) * 1.1
    px = (v[:, 0] - centre[0]) / extent * 0.5 * size + 0.5 * size
    py = (centre[1] - v[:, 1]) / extent * 0.5 * size + 0.5 * size
    img = np.full((size, size, 3), 255.0)
    zbuf = np.full((size, size), -np.inf)
    tri = v[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-12
    light = np.array([0.3, 0.4, 0.87])
    shade = 0.35 + 0.65 * np.clip(n @ (light / np.linalg.norm(light)), 0, 1)
    col = colours[faces].mean(axis=1) * shade[:, None]
    for f in np.where(n[:, 2] > 0)[0]:  # back-face culling
        i0, i1, i2 = faces[f]
        xs, ys = px[[i0, i1, i2]], py[[i0, i1, i2]]
        x0, x1 = max(int(np.floor(xs.min())), 0), min(int(np.ceil(xs.max())), size - 1)
        y0, y1 = max(int(np.floor(ys.min())), 0), min(int(np.ceil(ys.max())), size - 1)
        if x1 < x0 or y1 < y0:
            continue
        gx, gy = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
        d = (xs[1] - xs[0]) * (ys[2] - ys[0]) - (xs[2] - xs[0]) * (ys[1] - ys[0])
        if abs(d) < 1e-12:
            continue
        w1 = ((gx - xs[0]) * (ys[2] - ys[0]) - (xs[2] - xs[0]) * (gy - ys[0])) / d
        w2 = ((xs[1] - xs[0]) * (gy - ys[0]) - (gx - xs[0]) * (ys[1] - ys[0])) / d
        w0 = 1 - w1 - w2
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        z = w0 * v[i0, 2] + w1 * v[i1, 2] + w2 * v[i2, 2]
        sub = zbuf[y0 : y1 + 1, x0 : x1 + 1]
        upd = inside & (z > sub)
        sub[upd] = z[upd]
        img[y0 : y1 + 1, x0 : x1 + 1][upd] = col[f]
    return np.clip(img, 0, 255).astype(np.uint8)


def _colours(model) -> np.ndarray:
    V = model.n_vertices
    if model.vertex_regions is None:
        return np.tile(np.array([[200.0, 170.0, 150.0]]), (V, 1))
    table = np.array([REGION_COLOURS.get(n, (200, 200, 200)) for n in model.region_names], dtype=float)
    col = table[model.vertex_regions.numpy()]
    if "eyes" in model.region_names and model.vertex_uvs is not None:  # iris/pupil from the polar uv
        eye = model.vertex_regions.numpy() == model.region_names.index("eyes")
        r = np.linalg.norm(model.vertex_uvs.numpy() - 0.5, axis=1)
        col[eye & (r < 0.09)] = (70, 110, 150)
        col[eye & (r < 0.035)] = (15, 15, 15)
    return col


def _expr(model, name: str, value: float) -> torch.Tensor:
    e = torch.zeros(1, model.n_exp)
    if model.expression_names and name in model.expression_names:
        e[0, model.expression_names.index(name)] = value
    return e


def preview_sheet(model, size: int = 256) -> Image.Image:
    """Neutral, jaw open, smile, brow raise, blink, eyes left, side view, ... as one image."""
    zero_pose = torch.zeros(1, 15)
    jaw = zero_pose.clone()
    jaw[0, 6] = 0.35
    eyes = zero_pose.clone()
    eyes[0, 10] = eyes[0, 13] = 0.45  # eyes turn towards +x (the subject's left)
    turn = zero_pose.clone()
    turn[0, 4] = 0.5
    both_blink = _expr(model, "blink_left", 1.0) + _expr(model, "blink_right", 1.0)
    panels = [
        ("neutral", _expr(model, "", 0.0), zero_pose, 0.0),
        ("jaw open (pose)", _expr(model, "", 0.0), jaw, 0.0),
        ("jaw_open expr + pose", _expr(model, "jaw_open", 1.0), jaw, 0.0),
        ("smile", _expr(model, "smile", 1.0), zero_pose, 0.0),
        ("brow_raise", _expr(model, "brow_raise", 1.0), zero_pose, 0.0),
        ("blink", both_blink, zero_pose, 0.0),
        ("eyes left", _expr(model, "", 0.0), eyes, 0.0),
        ("lip_pucker", _expr(model, "lip_pucker", 1.0), zero_pose, 0.0),
        ("side, jaw open", _expr(model, "", 0.0), jaw, np.pi / 2),
        ("3/4, neck turn", _expr(model, "", 0.0), turn, 0.6),
    ]
    colours = _colours(model)
    faces = model.faces.numpy()
    v0 = model.v_template.numpy()
    centre = v0.mean(axis=0)
    extent = float(np.abs(v0[:, :2] - centre[:2]).max()) * 1.05
    tiles = []
    with torch.no_grad():
        for label, e, p, yaw in panels:
            verts = model(e, p).vertices[0].numpy()
            im = Image.fromarray(splat(verts, faces, colours, size, yaw, extent, centre))
            ImageDraw.Draw(im).text((4, 4), label, fill=(0, 0, 0))
            tiles.append(im)
    cols = 5
    rows = (len(tiles) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * size, rows * size), (255, 255, 255))
    for k, im in enumerate(tiles):
        sheet.paste(im, ((k % cols) * size, (k // cols) * size))
    return sheet


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.flame.preview", description=__doc__.splitlines()[0])
    ap.add_argument("out", help="output PNG path")
    ap.add_argument("--source", default="procedural", help="'procedural' or a FLAME pickle path")
    ap.add_argument("--size", type=int, default=256, help="tile size in pixels")
    ap.add_argument("--n-exp", type=int, default=16, help="expression coefficients to load")
    args = ap.parse_args(argv)
    from train.flame.model import load_morphable_model

    model = load_morphable_model(args.source, n_exp=args.n_exp, ghostbone=True)
    sheet = preview_sheet(model, args.size)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=out.parent)
    os.close(fd)
    sheet.save(tmp)
    os.replace(tmp, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
