"""CPU budget for `make demo`: config overrides that keep the demo to ~15-25 min on a 2-4 core CPU.

    python scripts/demo_budget.py CONFIG [KEY=VALUE ...]

Prints one `section.key=value` override per line on stdout (nothing when the config is already
CPU-sized) and a human-readable summary on stderr. Values are only ever lowered, but for the frames
a training step draws: the rays a step are capped and spread over more frames (more motion per
step). A config that is already small (configs/tiny.yaml) passes through unchanged. User overrides
given after CONFIG are applied first, so the budget caps what they ask for too; pass them to
demo.sh after the budget overrides if they must win.

Measured on 2 cores (no GPU), configs/synthetic.yaml (session 37): stage 1 10 min (the layer sweep,
then 600 steps of 8 x 256 rays at ~0.8 s/step, train PSNR 25.4 dB), bake 43 s, fine-tune 2.1 min,
export 15 s: the player was serving after 13 min 20 s (30 test frames: stage 1 23.05 dB, fine-tuned
23.63). Without these caps stage 1 alone (2500 steps of the 512 px model) would take hours.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train.config import load_config  # noqa: E402
from train.configlib import to_dict  # noqa: E402

# (dotted key, cap): ints/floats are capped; lists of ints drop (or clamp) entries above the cap.
CAPS = (
    ("synth.resolution", 128),
    ("data.img_res", 128),
    ("synth.n_train_frames", 600),  # 150 -> 600 (the 512 px subject's own video): 30 test frames 21.09 -> 22.28 dB, same steps
                                    # (docs/results/cpu_generalisation_2026-12-06.txt 18)
    ("synth.n_test_frames", 30),
    ("model.ray_samples", 32),
    ("model.manifold_base_res", 48),
    ("model.manifold_grid_res", 64),
    ("model.radiance_grid_res", 128),
    ("model.deform_prior_res", 32),
    ("model.deform_residual_res", 16),
    ("model.manifold_pin_res", 128),
    ("model.deform_detail_res", 0),  # the eye/jaw box: no gain at 128 px (docs/results/cpu_deform_detail_2026-12-06.txt)
    ("train.iterations", 600),
    ("train.checkpoint_every", 200),
    ("train.preview_every", 200),
    ("train.preview_res", 128),
    ("train.log_every", 25),
    ("train.max_minutes", 12.0),  # safety net: stop stage 1 (with a checkpoint) after 12 min
    ("bake.mc_resolution", 128),
    ("bake.faces_per_layer", 5000),
    ("bake.texture_size", 256),
    ("bake.supersample", 1),
    ("bake.finetune_iterations", 200),
    ("bake.finetune_preview_every", 100),
)
# Rays a training step: a config above RAYS_PER_STEP gets that many, spread over frames of at most
# RAYS_PER_FRAME rays each (8 x 256 from 4 x 4096). The same 2048 rays over 8 frames instead of 2:
# 30 test frames 23.05 vs 22.28 dB, 16 x 128 23.17, for ~15% more time a step (and 690 steps of
# 2 x 1024, the same time: see docs/results/cpu_generalisation_2026-12-06.txt 20).
RAYS_PER_STEP, RAYS_PER_FRAME = 2048, 256
# Settings that change the data or the model get their own folders, so a GPU-scale subject or run
# in the config's folders is neither overwritten nor mixed with this one.
SEPARATE = ("synth.", "data.", "model.")


def _get(d: dict, key: str):
    for part in key.split("."):
        d = d[part]
    return d


def _fmt(v) -> str:
    return "[" + ",".join(str(x) for x in v) + "]" if isinstance(v, (list, tuple)) else str(v)


def _cap(value, cap, key):
    if isinstance(value, (list, tuple)):
        if key == "data.img_res":  # (H, W): scale both, keeping the aspect ratio
            s = min(1.0, cap / max(value))
            return [max(1, round(x * s)) for x in value]
        kept = [x for x in value if x <= cap]
        return kept if kept else [min(value[0], cap)]
    if key == "train.max_minutes" and value <= 0:  # 0 = no limit
        return cap
    return min(value, cap)


def budget(config: str, overrides: list[str]) -> tuple[list[str], list[str]]:
    """(overrides, summary lines) for a CPU-only demo of `config`."""
    cfg = to_dict(load_config(config, overrides))
    changes = [(key, _get(cfg, key), cap) for key, cap in CAPS]
    changes = [(key, old, _cap(old, cap, key)) for key, old, cap in changes]
    tc = cfg["train"]
    if tc["batch_images"] * tc["rays_per_image"] > RAYS_PER_STEP:  # not a cap: fewer rays, more frames
        rays = min(tc["rays_per_image"], RAYS_PER_FRAME)
        changes += [("train.batch_images", tc["batch_images"], max(1, RAYS_PER_STEP // rays)),
                    ("train.rays_per_image", tc["rays_per_image"], rays)]
    out, notes = [], []
    for key, old, new in changes:
        if new != (list(old) if isinstance(old, tuple) else old):
            out.append(f"{key}={_fmt(new)}")
            notes.append(f"  {key}: {_fmt(old)} -> {_fmt(new)}")
    if any(o.startswith(SEPARATE) for o in out):
        root, workdir = cfg["data"]["root"].rstrip("/") + "_cpu", cfg["workdir"].rstrip("/") + "_cpu"
        out += [f"data.root={root}", f"workdir={workdir}"]
        notes.append(f"  data.root: {cfg['data']['root']} -> {root}; workdir: {cfg['workdir']} -> {workdir}")
    return out, notes


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    out, notes = budget(argv[0], argv[1:])
    if notes:
        print("CPU budget, aiming at ~15-25 min on 2-4 cores (changed from the config):", *notes, sep="\n", file=sys.stderr)
    else:
        print("CPU budget: the config is already CPU-sized; nothing lowered.", file=sys.stderr)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
