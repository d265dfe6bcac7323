"""`python -m train.synth -c configs/synthetic.yaml [--force] [--set section.key=value ...] [section.key=value ...]`"""

from __future__ import annotations

import argparse
import sys

from train.configlib import ConfigError, add_override_args, overrides_of


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m train.synth",
        description="Render the built-in procedural head into an IMavatar-layout subject at data.root "
        "(train and test videos, gt/ ground truth, contact_sheet.png, resolved config.yaml).",
    )
    parser.add_argument("-c", "--config", required=True, help="YAML config (e.g. configs/synthetic.yaml)")
    parser.add_argument("--force", action="store_true", help="rebuild even if a complete subject with the same settings exists")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_override_args(parser, "synth.resolution=128")
    args = parser.parse_args(argv)
    from train.config import load_config
    from train.synth.subject import build_subject

    try:
        cfg = load_config(args.config, overrides_of(args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        build_subject(cfg, force=args.force, progress=not args.quiet)
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
