"""Stages 2 and 3: `python -m bake -c configs/tiny.yaml` or `accelerate launch [--multi_gpu] -m bake -c ...`.

Stage 2 (bake) reads `<workdir>/train/{config.yaml,checkpoint.pt}` and writes the baked avatar
artifact `<workdir>/bake/baked/` (avatar.json + avatar.safetensors, config.yaml, report.json,
previews/). Stage 3 (finetune) reads it and the training video and writes
`<workdir>/bake/finetuned/` (same layout) plus TensorBoard logs in `<workdir>/bake/finetune/`.
Artifacts are swapped in atomically: an interrupted run never leaves a half-written one.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bake", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--config", required=True, help="YAML config (e.g. configs/synthetic.yaml)")
    ap.add_argument("--stage", choices=("bake", "finetune", "all"), default="all",
                    help="bake (stage 2), finetune (stage 3) or all (default)")
    ap.add_argument("--max-steps", type=int, default=None, help="stop the fine-tune after this many steps")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config value, e.g. --set bake.texture_size=256 (repeatable)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)

    from train.config import load_config, save_config
    from train.configlib import ConfigError

    try:
        cfg = load_config(args.config, args.overrides)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    import json

    from accelerate.state import PartialState

    from bake.stage2 import CheckpointError, bake_dir, run_bake
    from export.artifact import ArtifactError
    from train.data import DatasetError

    state = PartialState()
    progress = not args.no_progress
    try:
        if args.stage in ("bake", "all"):
            if state.is_main_process:
                save_config(cfg, bake_dir(cfg) / "config.yaml")
                out = run_bake(cfg, progress)
                rep = json.loads((out / "report.json").read_text())
                faces = [layer["faces"] for layer in rep["layers"]]
                print(f"stage 2 done in {rep['seconds_total']:.1f} s: {len(faces)} layers, faces {faces}, "
                      f"textures {rep['texture_size']}^2 -> {out}")
            state.wait_for_everyone()
        if args.stage in ("finetune", "all"):
            from bake.finetune import run_finetune

            if state.is_main_process:
                save_config(cfg, bake_dir(cfg) / "config.yaml")
            out, res = run_finetune(cfg, progress, args.max_steps)
            if state.is_main_process:
                print(f"stage 3 done: {res.steps} steps in {res.seconds:.1f} s; loss {res.first_loss:.4f} -> "
                      f"{res.last_loss:.4f}; train PSNR {res.first_psnr:.2f} -> {res.last_psnr:.2f} dB "
                      f"(the same {res.eval_frames} training frames before and after) -> {out}")
    except (CheckpointError, ArtifactError, DatasetError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: no artifact was replaced by a partial one", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
