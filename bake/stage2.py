"""Stage 2 driver: stage-1 checkpoint -> baked avatar artifact in `<workdir>/bake/baked/`.

The folder holds avatar.json + avatar.safetensors (export/artifact.py), `config.yaml` (the
resolved config), `report.json` (sizes, timings) and `previews/` (per-layer mesh renders,
texture atlases, composited renders); all written in one atomic swap.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from bake.baked_render import BakedAvatar
from bake.layers import bake_layers
from bake.reach import stage1_reach
from bake.previews import atlas_png, layers_png, renders_png
from bake.source import joint_metadata
from export.artifact import Artifact, save_artifact
from train.configlib import to_dict
from train.conventions import intrinsics_from_normalized, w2c_from_world_mat

class CheckpointError(ValueError):
    """The stage-1 checkpoint is missing, truncated or does not match its config."""


BAKED_DIR = "baked"
FINETUNED_DIR = "finetuned"


def bake_dir(cfg) -> Path:
    return Path(cfg.workdir) / "bake"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("bake.device is 'cuda' but torch.cuda.is_available() is False")
    return torch.device(name)


def tracked_sequences(cfg) -> tuple[dict[str, dict[str, np.ndarray]], dict]:
    """Expression/pose of every frame of the train and test videos, and the training camera."""
    from train.data import read_flame_params

    seqs, camera = {}, None
    H, W = (int(v) for v in cfg.data.img_res)
    for video in [*cfg.data.train_videos, *cfg.data.test_videos]:
        fp = read_flame_params(Path(cfg.data.root) / video, cfg.data.n_exp)
        order = np.argsort(fp["k"])
        seqs[video] = {
            "expression": np.stack(fp["expression"])[order].astype(np.float32),
            "pose": np.stack(fp["pose"])[order].astype(np.float32),
        }
        if camera is None:
            K = intrinsics_from_normalized(fp["intrinsics"], W, H)
            w2c = w2c_from_world_mat(fp["world_mat"][int(order[0])])
            camera = {"K": K.tolist(), "w2c": w2c.tolist(), "width": W, "height": H}
    return seqs, camera


def build_artifact(source, layers, sequences: dict, camera: dict, provenance: dict) -> Artifact:
    """Wrap baked layers with the source's shading spec, joints and FrameMLP."""
    names, parents, ghost = joint_metadata(source.flame)
    meta = {
        "shading": source.shading_spec.to_json(),
        "joint_names": names,
        "parents": parents,
        "ghostbone": ghost,
        "camera": camera,
        "source": provenance,
    }
    fl = source.flame
    mlp = {k: v.detach().float().cpu().numpy() for k, v in source.frame_mlp.state_dict().items()}
    return Artifact(
        meta, layers,
        fl.joints_template.detach().float().cpu().numpy(),
        fl.joints_expr_basis.detach().float().cpu().numpy(),
        mlp, sequences,
    )


def artifact_extras(art: Artifact, cfg_dict: dict, report: dict, frames=None, backend: str = "auto", device="cpu") -> dict[str, bytes]:
    """config.yaml, report.json and previews/*.png for save_artifact(extras=...)."""
    extras = {
        "config.yaml": yaml.safe_dump(cfg_dict, sort_keys=False).encode(),
        "report.json": json.dumps(report, indent=1).encode(),
    }
    cam = art.meta["camera"]
    size = 256
    scale = size / max(cam["width"], cam["height"])
    K = np.array(cam["K"]) * np.array([[scale], [scale], [1.0]])
    W, H = int(round(cam["width"] * scale)), int(round(cam["height"] * scale))
    avatar = BakedAvatar(art).to(device)
    extras["previews/layers.png"] = layers_png(avatar, K, cam["w2c"], W, H, backend)
    for i in range(len(art.layers)):
        extras[f"previews/atlas_{i}.png"] = atlas_png(art, i)
    if frames is not None:
        e, p, gt = frames
        extras["previews/renders.png"] = renders_png(avatar, e, p, cam["K"], cam["w2c"], cam["width"], cam["height"], gt, backend)
    return extras


def preview_frames(cfg, n: int = 4):
    """A few frames of the first training video (expression, pose, ground truth), or None."""
    from train.data import ImavatarDataset, read_flame_params, read_subject

    try:
        video = cfg.data.train_videos[0]
        count = len(read_flame_params(Path(cfg.data.root) / video, cfg.data.n_exp)["k"])
        pick = sorted({int(i) for i in np.linspace(0, count - 1, min(n, count)).round()})
        frames = read_subject(cfg.data.root, [video], pick, tuple(cfg.data.img_res), tuple(cfg.data.background),
                              cfg.data.n_exp, progress=False, mask_thresholds=tuple(cfg.data.mask_thresholds))
    except Exception:  # previews are optional; the bake itself does not need images
        return None
    ds = ImavatarDataset(frames)
    items = [ds[i] for i in range(len(ds))]
    return (torch.stack([it["expression"] for it in items]), torch.stack([it["pose"] for it in items]),
            torch.stack([it["rgb"] for it in items]).numpy())


def run_bake(cfg, progress: bool = True) -> Path:
    """Stage 2 end to end; returns the artifact folder."""
    from train.model import load_stage1

    t0 = time.perf_counter()
    device = resolve_device(cfg.bake.device)
    tdir = Path(cfg.workdir) / "train"
    try:
        _, model = load_stage1(cfg.workdir, device)
    except FileNotFoundError as exc:
        raise CheckpointError(str(exc)) from None
    except Exception as exc:  # torch.load / load_state_dict raise many types for bad files
        raise CheckpointError(f"{tdir}/checkpoint.pt: cannot load the stage-1 checkpoint "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    model.eval()
    t_load = time.perf_counter() - t0
    sequences, camera = tracked_sequences(cfg)
    corrected = []
    if getattr(model, "frame_inputs", None) is not None:
        from train.frame_inputs import correct_sequences

        corrected = correct_sequences(sequences, cfg.data, dict(model.frame_inputs.named_parameters()))
    layers, reports, grid = bake_layers(model, cfg.bake, device, cfg.bake.raster_backend, progress,
                                        stage1_reach(model, sequences, cfg))
    provenance = {"config": cfg.name, "stage1": str(Path(cfg.workdir) / "train"), "stage": "bake",
                  "sequence_corrections": corrected}
    art = build_artifact(model, layers, sequences, camera, provenance)
    t_bake = time.perf_counter() - t0
    report = {
        "seconds_total": t_bake,
        "seconds_load": t_load,
        "device": str(device),
        "lattice_queries": grid.n_evaluated,
        "lattice_dense": (grid.resolution + 1) ** 3,
        "layers": [r.summary() for r in reports],
        "texture_size": cfg.bake.texture_size,
    }
    frames = preview_frames(cfg)
    out = bake_dir(cfg) / BAKED_DIR
    save_artifact(art, out, artifact_extras(art, to_dict(cfg), report, frames, cfg.bake.raster_backend, device))
    return out
