"""Reference rasterizer vs nvdiffrast on a baked avatar (CUDA machine): PSNR and frame times.

    python -m bake.parity [--artifact <folder>] [--frames 8] [--size 512] [--out parity.json]

Without --artifact a toy avatar (bake.toy) is used. Both backends render the same frames with
`bake.baked_render.render_baked` on the GPU; the report holds per-frame PSNR (colour, over the
white background) and the mean milliseconds per frame of each backend.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch


def _frames(art, n: int):
    seqs = art.sequences
    if seqs:
        name = sorted(seqs)[0]
        e, p = seqs[name]["expression"], seqs[name]["pose"]
        idx = np.linspace(0, len(e) - 1, min(n, len(e))).round().astype(int)
        return torch.tensor(e[idx]), torch.tensor(p[idx])
    return torch.zeros(1, art.n_exp), torch.zeros(1, 15)


def measure(art, frames: int = 8, size: int | None = None, device: str = "cuda") -> dict:
    """PSNR of the reference (torch) vs nvdiffrast (cuda) renders of `art` and timings."""
    from bake.baked_render import BakedAvatar, render_baked

    avatar = BakedAvatar(art).to(device).eval()
    cam = art.meta["camera"]
    W, H = int(cam["width"]), int(cam["height"])
    K = torch.tensor(cam["K"], dtype=torch.float32)
    if size is not None:
        s = size / max(W, H)
        K = K * torch.tensor([[s], [s], [1.0]])
        W, H = round(W * s), round(H * s)
    w2c = torch.tensor(cam["w2c"], dtype=torch.float32)
    e, p = _frames(art, frames)
    out, times = {}, {}
    for backend in ("torch", "cuda"):
        imgs, ms = [], []
        with torch.no_grad():
            render_baked(avatar, e[:1], p[:1], K, w2c, W, H, backend)  # warm-up (JIT, caches)
            for i in range(len(e)):
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                img = render_baked(avatar, e[i : i + 1], p[i : i + 1], K, w2c, W, H, backend)
                torch.cuda.synchronize()
                ms.append(1000 * (time.perf_counter() - t0))
                imgs.append(img[0].float().cpu())
        out[backend], times[backend] = torch.stack(imgs), float(np.mean(ms))
    mse = ((out["torch"][..., :3] - out["cuda"][..., :3]) ** 2).flatten(1).mean(1).clamp_min(1e-12)
    psnr = (-10 * torch.log10(mse)).tolist()
    cov = (out["torch"][..., 3] > 0) != (out["cuda"][..., 3] > 0)
    return {
        "frames": len(e), "width": W, "height": H,
        "psnr_db": psnr, "psnr_min_db": min(psnr), "psnr_mean_db": float(np.mean(psnr)),
        "coverage_mismatch_pixels": int(cov.sum()), "ms_per_frame_torch": times["torch"], "ms_per_frame_nvdiffrast": times["cuda"],
        "faces": [int(l.arrays["faces"].shape[0]) for l in art.layers],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bake.parity", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--artifact", default=None, help="baked artifact folder (default: a toy avatar)")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=None, help="longer image side (default: the artifact's camera)")
    ap.add_argument("--out", default=None, help="write the JSON report here")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("error: bake.parity needs CUDA (torch.cuda.is_available() is False)", file=sys.stderr)
        return 2
    if args.artifact:
        from export.artifact import load_artifact

        art = load_artifact(args.artifact)
    else:
        from bake.toy import toy_artifact

        art = toy_artifact(n_layers=3, n_exp=8, texture_size=256, n_lat=48, n_lon=64, num_texture_basis=16, image_size=512)
    res = measure(art, args.frames, args.size)
    res["artifact"] = args.artifact or "bake.toy"
    res["device"] = torch.cuda.get_device_name(0)
    text = json.dumps(res, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
