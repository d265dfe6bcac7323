"""How far is the synthetic ground truth from its own anti-aliased render? A ceiling check on the CPU.

The 512 px synthetic subject is rendered with one sample per pixel (`synth.supersample` 1), so its
hair strands alias. This renders the same frames again with `--supersample` samples per pixel axis
(box-filtered) and scores them against the ground truth (the config's own `synth.supersample`) with `train.region_error`'s classes
and fringe bins: what a model that drew the perfectly anti-aliased subject would score. A stage-1
fringe bin far below these numbers is not limited by the ground truth's aliasing.

    python scripts/aliasing_ceiling.py --split train --supersample 2,4
"""

from __future__ import annotations

import argparse
import dataclasses

import torch

from train.config import load_config
from train.configlib import add_override_args, overrides_of
from train.region_error import OUTSIDE, class_map, format_fringe, fringe_profile, summarise, units_per_pixel
from train.synth.motion import make_motion
from train.synth.render import SubjectRenderer
from train.synth.subject import load_model, split_camera


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--config", default="configs/synthetic.yaml")
    ap.add_argument("--split", choices=["train", "test"], default="train")
    ap.add_argument("--frames", type=int, default=10, help="frames spread over the video")
    ap.add_argument("--supersample", default="2,4", help="comma-separated samples per pixel axis to compare")
    add_override_args(ap, "synth.resolution=128")
    args = ap.parse_args()
    cfg = load_config(args.config, overrides_of(args))
    sc, model = cfg.synth, load_model(cfg)
    n = sc.n_test_frames if args.split == "test" else sc.n_train_frames
    motion = make_motion(sc, n, list(model.expression_names), args.split, 0)
    _, _, K, w2c = split_camera(sc, args.split)
    c2w = torch.linalg.inv(torch.as_tensor(w2c, dtype=torch.float32))
    Kt = torch.as_tensor(K, dtype=torch.float32)
    picks = torch.linspace(0, n - 1, args.frames).round().long().tolist()
    base = sc.supersample
    levels = [base] + [int(s) for s in args.supersample.split(",") if int(s) != base]
    renderers = {ss: SubjectRenderer(model, dataclasses.replace(sc, supersample=ss)) for ss in levels}
    bg = torch.tensor(cfg.data.background, dtype=torch.float32)
    images = {ss: [] for ss in levels}
    alphas = {ss: [] for ss in levels}
    classes, names = [], None
    for f in picks:
        e, p = torch.as_tensor(motion.expression[f : f + 1]), torch.as_tensor(motion.pose[f : f + 1])
        for ss, r in renderers.items():
            out = r.render(e, p, K, w2c)
            a = out.alpha[..., None]
            images[ss].append((out.straight * a + (1.0 - a) * bg)[0])  # over data.background, as the loader composites
            alphas[ss].append(out.alpha[0])
        cls, names = class_map(model, Kt, c2w, e[0], p[0], sc.resolution, sc.resolution, 2)
        classes.append(cls)
    cls_all, gt_mask = torch.stack(classes), torch.stack(alphas[base])
    units_per_px = units_per_pixel(Kt, c2w)
    for ss in levels[1:]:
        err = (torch.stack(images[ss]) - torch.stack(images[base])).pow(2).mean(-1)
        s = summarise(err, cls_all, names)
        print(f"{args.split}, {len(picks)} frames: supersample {ss} against the ground truth (supersample {base}): {s['psnr']:.2f} dB "
              f"(outside {s['classes'][OUTSIDE]['psnr_inside']:.2f}, scalp {s['classes']['scalp']['psnr_inside']:.2f})")
        print(format_fringe(fringe_profile(err, gt_mask, torch.stack(alphas[ss]), cls_all, names, units_per_px)))


if __name__ == "__main__":
    main()
