"""Reference images for the web player's parity test (run by test/browser/render.test.ts).

    ../.venv/bin/python test/browser/reference_render.py OUT_DIR [--bundle X.glb] [--frames 0 5 11]
                                                                 [--normal-blendshapes]

Without --bundle it first writes the synthetic test bundle (`export.testbundle`, small preset;
with --normal-blendshapes its layers also carry normal morph targets) to OUT_DIR/test.glb. The bundle is read back with `export.gltf_read.read_bundle` (exactly the
arrays the player decodes) and rendered by `bake.baked_render.render_artifact` from the
training camera at the given keyframes of the first animation. Writes per frame
`ref_<f>.rgb` (H*W*3 uint8, row 0 = top), `ref_<f>.png`, and `reference.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--bundle", type=Path, default=None)
    ap.add_argument("--frames", type=int, nargs="+", default=[0, 5, 11])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="small")
    ap.add_argument("--normal-blendshapes", action="store_true", help="the test bundle's layers carry normal morph targets")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    import numpy as np
    from PIL import Image

    t0 = time.time()
    bundle = args.bundle
    if bundle is None:
        from export import testbundle

        bundle = args.out / "test.glb"
        testbundle.main(["-o", str(bundle), "--seed", str(args.seed), "--preset", args.preset]
                        + (["--normal-blendshapes"] if args.normal_blendshapes else []))
    t1 = time.time()
    from bake.baked_render import render_artifact
    from export.gltf_read import read_bundle
    from train.conventions import srgb_to_uint8

    art = read_bundle(bundle)
    name = next(iter(art.sequences))
    seq = art.sequences[name]
    cam = art.meta["camera"]
    K, w2c, W, H = np.asarray(cam["K"]), np.asarray(cam["w2c"]), int(cam["width"]), int(cam["height"])
    frames = [f for f in args.frames if f < seq["expression"].shape[0]]
    rgba = render_artifact(art, seq["expression"][frames], seq["pose"][frames], K, w2c, W, H).numpy()
    meta = {"bundle": str(bundle), "animation": name, "width": W, "height": H, "frames": frames,
            "seconds": {"bundle": round(t1 - t0, 2), "render": round(time.time() - t1, 2)}}
    for i, f in enumerate(frames):
        img = srgb_to_uint8(rgba[i, ..., :3])
        (args.out / f"ref_{f}.rgb").write_bytes(np.ascontiguousarray(img).tobytes())
        Image.fromarray(img).save(args.out / f"ref_{f}.png")
    # the per-frame model through onnxruntime, for the player's JS interpreter
    from export import hb_neural_shading as hbns
    from export.gltf_read import load_document
    from export.onnx_models import run_onnx

    doc, bin_chunk = load_document(bundle)
    ns = hbns.read(doc, bin_chunk, str(bundle))
    f0 = frames[0]
    theta = run_onnx(ns.frame_onnx, {"expression": seq["expression"][f0 : f0 + 1], "pose": seq["pose"][f0 : f0 + 1]})[0]
    meta["theta"] = {"frame": f0, "values": theta.reshape(-1).tolist()}
    (args.out / "reference.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps({k: v for k, v in meta.items() if k != "theta"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
