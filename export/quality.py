"""Quality cost of the bundle's compression: reference renders of the artifact vs of the bundle
read back (`export.gltf_read`), PSNR per frame.

    python -m export.quality --artifact runs/synthetic/bake/finetuned --bundle dist/synthetic.glb [--frames 8] [--size 512]

Frames are spread over the artifact's first sequence (neutral frame if it has none); renders use
the training camera scaled to `--size`. Prints one line per frame and the mean; writes a
side-by-side preview (`--preview PATH`) of artifact | bundle | 10x difference for the first frame.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from tqdm import tqdm


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def frames_of(art, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    if not art.sequences:
        return [(np.zeros(art.n_exp, np.float32), np.zeros(15, np.float32))]
    seq = next(iter(art.sequences.values()))
    idx = np.unique(np.linspace(0, len(seq["pose"]) - 1, count).round().astype(int))
    return [(seq["expression"][i], seq["pose"][i]) for i in idx]


def compare(art, bundle_art, count: int = 8, size: int | None = None, progress: bool = True):
    """PSNR (RGB over the white background) per frame and the first frame's two renders."""
    from bake.baked_render import render_artifact

    cam = art.meta["camera"]
    W, H = (size, size) if size else (cam["width"], cam["height"])
    K = np.asarray(cam["K"], np.float64) * np.array([[W / cam["width"]], [H / cam["height"]], [1.0]])
    bc = bundle_art.meta["camera"]
    scores, first = [], None
    for e, p in tqdm(frames_of(art, count), desc="quality", disable=not progress, leave=False):
        a = render_artifact(art, e, p, K, cam["w2c"], W, H)[0, ..., :3].numpy()
        b = render_artifact(bundle_art, e, p, K, bc["w2c"], W, H)[0, ..., :3].numpy()
        scores.append(psnr(a, b))
        if first is None:
            first = (a, b)
    return scores, first


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m export.quality", description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifact", required=True, help="artifact folder the bundle was exported from")
    ap.add_argument("--bundle", required=True, help="the .glb")
    ap.add_argument("--frames", type=int, default=8, help="frames spread over the first sequence (default 8)")
    ap.add_argument("--size", type=int, default=None, help="render size (default: the training camera's)")
    ap.add_argument("--preview", help="write artifact | bundle | 10x difference PNG here")
    args = ap.parse_args(argv)
    from export.artifact import ArtifactError, load_artifact
    from export.gltf_read import read_bundle

    try:
        art, back = load_artifact(args.artifact), read_bundle(args.bundle)
    except ArtifactError as exc:
        print(f"quality: error: {exc}", file=sys.stderr)
        return 2
    scores, (a, b) = compare(art, back, args.frames, args.size)
    for i, s in enumerate(scores):
        print(f"frame {i}: {s:.2f} dB")
    print(f"mean PSNR bundle vs artifact: {np.mean(scores):.2f} dB (min {np.min(scores):.2f})")
    if args.preview:
        from PIL import Image

        diff = np.clip(np.abs(a - b) * 10, 0, 1)
        Image.fromarray(np.clip(np.rint(np.concatenate([a, b, diff], 1) * 255), 0, 255).astype(np.uint8)).save(args.preview)
    return 0


if __name__ == "__main__":
    sys.exit(main())
