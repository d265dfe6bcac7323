"""python -m export: baked avatar artifact -> one glTF 2.0 bundle `<out>/<name>.glb`.

    python -m export -c configs/synthetic.yaml -o dist/          # <workdir>/bake/finetuned, else baked
    python -m export --artifact runs/x/bake/baked -o dist/
    python -m export --from-bakedavatar mesh_data.pkl -o dist/ [--sequence flame_params.json]

Writes `<name>.glb` atomically, the resolved config beside it (`<name>.config.yaml`), a preview
image (`<name>.preview.png`, the bundle read back and rendered by the reference renderer) and
prints the size report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import yaml

from export.artifact import ArtifactError, load_artifact
from export.config import ExportConfig


def resolve_artifact(workdir: Path) -> Path:
    """`<workdir>/bake/finetuned` if present, else `<workdir>/bake/baked`."""
    ft = workdir / "bake" / "finetuned"
    return ft if ft.is_dir() else workdir / "bake" / "baked"


def write_preview(glb: Path, out_png: Path, size: int = 256) -> None:
    """Neutral frame and one sequence frame of the bundle, side by side (reference renderer)."""
    from PIL import Image

    from bake.baked_render import render_artifact
    from export.gltf_read import read_bundle

    art = read_bundle(glb)
    cam = art.meta["camera"]
    K = np.asarray(cam["K"], np.float64) * np.array([[size / cam["width"]], [size / cam["height"]], [1.0]])
    frames = [(np.zeros(art.n_exp), np.zeros(15))]
    for seq in art.sequences.values():
        n = len(seq["pose"]) // 2
        frames.append((seq["expression"][n], seq["pose"][n]))
        break
    tiles = []
    for e, p in frames:
        img = render_artifact(art, e, p, K, np.asarray(cam["w2c"]), size, size)[0, ..., :3].numpy()
        tiles.append(np.clip(np.rint(img * 255), 0, 255).astype(np.uint8))
    Image.fromarray(np.concatenate(tiles, axis=1)).save(out_png)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m export", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("-c", "--config", help="headbake YAML config (name, workdir, export section)")
    ap.add_argument("-o", "--output", default="dist", help="output folder (default dist/)")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--artifact", help="artifact folder (overrides the config's workdir)")
    src.add_argument("--from-bakedavatar", metavar="PKL|DIR",
                     help="convert BakedAvatar's mesh_data.pkl (or the folder unpack_pkl.py made of it) instead")
    ap.add_argument("--sequence", action="append", default=[], metavar="JSON", help="extra flame_params.json to animate (repeatable)")
    ap.add_argument("--name", help="bundle name (default: config name or artifact folder name)")
    ap.add_argument("--no-preview", action="store_true", help="skip the preview render")
    ap.add_argument("overrides", nargs="*", help="config overrides section.key=value")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="config override, as in the other stages' commands (repeatable; same as a positional override)")
    args = ap.parse_args(argv)
    args.overrides = [*args.overrides, *args.sets]

    from export.writer import export_glb
    from train.configlib import ConfigError, from_dict, load_yaml_text, to_dict

    try:
        if args.config:
            from train.config import load_config

            cfg = load_config(args.config, args.overrides)
            ecfg, name = cfg.export, args.name or cfg.name
            artifact_path = Path(args.artifact) if args.artifact else resolve_artifact(cfg.workpath)
        else:
            data = {}
            for item in args.overrides:
                key, _, raw = item.partition("=")
                if not key.startswith("export.") or not _:
                    raise ConfigError(f"override {item!r}: without -c only export.<key>=value is accepted")
                data[key[len("export."):]] = load_yaml_text(raw)
            ecfg, name = from_dict(ExportConfig, data, where="export"), args.name
            artifact_path = Path(args.artifact) if args.artifact else None
        if args.from_bakedavatar:
            from export.bakedavatar import load_mesh_data

            art = load_mesh_data(args.from_bakedavatar, sequences=args.sequence)
            name = name or Path(args.from_bakedavatar).stem
        else:
            if artifact_path is None:
                ap.error("give -c CONFIG, --artifact PATH or --from-bakedavatar PKL")
            art = load_artifact(artifact_path)
            name = name or art.meta.get("name") or artifact_path.name
            if args.sequence:
                from export.sequences import load_flame_params

                for path in args.sequence:
                    seq_name, seq, _ = load_flame_params(path, art.n_exp)
                    art.sequences[seq_name] = seq
        out = Path(args.output)
        glb = out / f"{name}.glb"
        report = export_glb(art, glb, ecfg)
    except (ArtifactError, ConfigError, ValueError) as exc:
        print(f"export: error: {exc}", file=sys.stderr)
        return 2
    from train.configlib import atomic_write_text

    if args.config:  # the resolved config beside the bundle, as every stage does
        from train.config import save_config

        save_config(cfg, out / f"{name}.config.yaml")
    else:
        atomic_write_text(out / f"{name}.config.yaml", yaml.safe_dump({"name": name, "export": to_dict(ecfg)}, sort_keys=False))
    print(f"wrote {glb} ({report.total / 1e6:.3f} MB)")
    print("\n".join(report.lines()))
    if not args.no_preview:
        try:
            write_preview(glb, out / f"{name}.preview.png")
            print(f"preview {out / f'{name}.preview.png'}")
        except Exception as exc:  # the bundle is written and valid; the preview is a convenience
            print(f"export: warning: preview not rendered ({type(exc).__name__}: {exc})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
