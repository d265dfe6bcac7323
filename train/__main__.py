"""Stage 1: `python -m train -c configs/tiny.yaml` or `accelerate launch [--multi_gpu] -m train -c ...`.

Trains the implicit avatar (fields in train/fields, renderer in train/render) and writes
`<workdir>/train/{config.yaml, checkpoint.pt, previews/, stage1/ (TensorBoard)}`.
"""

from __future__ import annotations

import argparse
import sys

from train.configlib import add_override_args, overrides_of


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--config", required=True, help="YAML config (e.g. configs/synthetic.yaml)")
    ap.add_argument("--resume", action="store_true", help="continue exactly from <workdir>/train/checkpoint.pt")
    ap.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (checkpointing there)")
    add_override_args(ap, "train.iterations=100")
    args = ap.parse_args(argv)
    args.overrides = overrides_of(args)

    from train.config import load_config
    from train.configlib import ConfigError

    try:
        cfg = load_config(args.config, args.overrides)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    import torch

    from train.checkpoint import ResumeError
    from train.trainer import TrainingStopped, train

    try:
        from train.data import DatasetError
    except ImportError:  # pragma: no cover - the reader always ships with train
        DatasetError = ValueError  # type: ignore[misc,assignment]
    try:
        res = train(cfg, resume=args.resume, max_steps=args.max_steps)
    except TrainingStopped:
        return 3
    except (DatasetError, ResumeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from accelerate.state import PartialState

    if PartialState().is_main_process:
        print(f"stage 1 done: {res.steps} steps in {res.seconds:.1f} s ({res.it_per_s:.2f} it/s); "
              f"loss {res.first_loss:.4f} -> {res.last_loss:.4f}; train PSNR {res.first_psnr:.2f} -> "
              f"{res.last_psnr:.2f} dB; checkpoint {res.checkpoint}")
        if torch.cuda.is_available():
            print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
