"""A contact sheet a person can look at: frames chosen to show what the subject exercises
(jaw open with teeth, eyes looking sideways, raised brows with wrinkles, turned and tilted head,
a zoom on the translucent hair edge), labelled, in one grid PNG."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from train.synth.writer import read_gray16


@dataclass
class Pick:
    """One tile: frame k (1-based) of a video, a label, and an optional zoom box (x0, y0, x1, y1)."""

    video: str
    k: int
    label: str
    zoom: tuple[int, int, int, int] | None = None


def choose_frames(videos: dict[str, dict], brow: int, blink: int | None, count: int) -> list[Pick]:
    """Pick frames by what they show.

    videos: name -> {"split", "expression" (N, E), "pose" (N, 15)}; brow/blink: expression indices.
    """
    picks: list[Pick] = []
    seen: set[tuple[str, int]] = set()

    def best(label: str, score, split: str | None = None) -> None:
        cands = [(float(s), name, i) for name, v in videos.items() if split in (None, v["split"])
                 for i, s in enumerate(score(v["expression"], v["pose"]))]
        for s, name, i in sorted(cands, reverse=True):
            if (name, i) not in seen:
                seen.add((name, i))
                picks.append(Pick(name, i + 1, label))
                return

    # what training shows, then the test video's extremes
    best("jaw open, teeth", lambda e, p: p[:, 6], split="train")
    best("eyes sideways", lambda e, p: np.abs(p[:, 10]) + 0.3 * np.abs(p[:, 9]), split="train")
    best("brows raised, wrinkles", lambda e, p: e[:, brow], split="train")
    best("head turned, hair edge", lambda e, p: np.abs(p[:, 1] + p[:, 4]), split="train")
    best("head tilted", lambda e, p: np.abs(p[:, 0] + p[:, 3]) + np.abs(p[:, 2] + p[:, 5]), split="train")
    if blink is not None:
        best("blink", lambda e, p: e[:, blink], split="train")
    best("test: extreme pose", lambda e, p: np.abs(p[:, 0:6]).sum(1), split="test")
    best("test: extreme expression", lambda e, p: np.abs(e).sum(1), split="test")
    # fill the sheet with evenly spaced frames of every video
    for name, v in videos.items():
        n = len(v["pose"])
        for i in np.linspace(0, n - 1, num=max(count, 1)).round().astype(int):
            if len(picks) >= count - 1:
                break
            if (name, int(i)) not in seen:
                seen.add((name, int(i)))
                picks.append(Pick(name, int(i) + 1, f"{v['split']} frame"))
    return picks[: count - 1]


def hair_zoom(alpha: np.ndarray) -> tuple[int, int, int, int]:
    """Square box (x0, y0, x1, y1) on the top edge of the silhouette in an alpha map (H, W)."""
    H, W = alpha.shape
    rows = np.nonzero((alpha > 0.02).any(1))[0]
    top = int(rows[0]) if rows.size else H // 4
    cols = np.nonzero(alpha[min(top + H // 40, H - 1)] > 0.02)[0]
    cx = int(cols.mean()) if cols.size else W // 2
    s = max(8, H // 4)
    x0 = int(np.clip(cx - s // 2, 0, W - s))
    y0 = int(np.clip(top - s // 4, 0, H - s))
    return x0, y0, x0 + s, y0 + s


def render_sheet(root: Path, picks: list[Pick], tile: int, background: np.ndarray, columns: int = 4) -> Image.Image:
    """Grid of labelled tiles: `<root>/<video>/image/<k>.png` (straight colour) composited with
    `gt/alpha/<k>.png` over `background` (H, W, 3) in [0, 1], as the camera saw them."""
    rows = (len(picks) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * tile, rows * tile), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    for n, p in enumerate(picks):
        rgb = np.asarray(Image.open(root / p.video / "image" / f"{p.k}.png").convert("RGB"), np.float64) / 255.0
        a = read_gray16(root / p.video / "gt" / "alpha" / f"{p.k}.png")[..., None] / 65535.0
        img = Image.fromarray(np.rint(255.0 * (rgb * a + background * (1.0 - a))).clip(0, 255).astype(np.uint8))
        if p.zoom is not None:
            img = img.crop(p.zoom)
        img = img.resize((tile, tile), Image.NEAREST if p.zoom is not None else Image.BILINEAR)
        x, y = (n % columns) * tile, (n // columns) * tile
        sheet.paste(img, (x, y))
        text = f"{p.video}/{p.k}: {p.label}"
        draw.rectangle([x, y + tile - 12, x + tile, y + tile], fill=(0, 0, 0))
        draw.text((x + 2, y + tile - 12), text[: max(tile // 6, 8)], fill=(255, 255, 255))
    return sheet
