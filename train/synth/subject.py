"""Build the whole synthetic subject: every video of `data.train_videos` / `data.test_videos`,
ground truth, contact sheet and resolved config, written atomically into `data.root`.

The subject is rendered into a sibling temp folder and renamed into place at the end, so a
complete subject is never replaced by a half-written one. `<root>/synth.json` records what it
was built from; an existing complete subject with the same record is reused unless forced.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from train.config import HeadbakeConfig, save_config
from train.configlib import to_dict
from train.conventions import project
from train.synth import writer
from train.synth.contact_sheet import choose_frames, hair_zoom, render_sheet
from train.synth.motion import Motion, make_motion
from train.synth.render import SubjectRenderer, brow_raise_index

SYNTH_VERSION = 1
RECORD = "synth.json"


def build_record(cfg: HeadbakeConfig) -> dict:
    """What determines the subject's files (compared to decide whether to rebuild)."""
    from train.flame.procedural import PROCEDURAL_VERSION

    return {
        "format": "headbake-synthetic-subject",
        "version": SYNTH_VERSION,
        "procedural_head_version": PROCEDURAL_VERSION,
        "synth": to_dict(cfg.synth),
        "n_exp": cfg.data.n_exp,
        "train_videos": list(cfg.data.train_videos),
        "test_videos": list(cfg.data.test_videos),
    }


def existing_record(root: Path) -> dict | None:
    """The record of a complete subject at root, or None."""
    try:
        return json.loads((root / RECORD).read_text())
    except (OSError, ValueError):
        return None


def load_model(cfg: HeadbakeConfig):
    """The procedural head with the config's n_exp and ghost bone."""
    from train.flame.model import load_morphable_model

    if cfg.data.flame_model != "procedural":
        raise ValueError(f"data.flame_model must be 'procedural' for the synthetic subject; got {cfg.data.flame_model!r}")
    return load_morphable_model("procedural", n_exp=cfg.data.n_exp, ghostbone=cfg.data.ghostbone)


def video_plan(cfg: HeadbakeConfig) -> list[tuple[str, str, int, int]]:
    """(video name, split, index within split, frame count) for every video."""
    plan = [(n, "train", i, cfg.synth.n_train_frames) for i, n in enumerate(cfg.data.train_videos)]
    plan += [(n, "test", i, cfg.synth.n_test_frames) for i, n in enumerate(cfg.data.test_videos)]
    names = [p[0] for p in plan]
    if len(set(names)) != len(names):
        raise ValueError(f"data.train_videos and data.test_videos must name distinct folders; got {names}")
    return plan


def render_video(
    folder: Path, renderer: SubjectRenderer, motion: Motion, intrinsics, world_mat, cfg: HeadbakeConfig, bar: tqdm
) -> None:
    """Render and write one video (IMavatar files + gt/) into folder."""
    sc = cfg.synth
    size = sc.resolution
    K, w2c = writer.pixel_camera(intrinsics, world_mat, size)
    for sub in ("image", "mask", "gt/alpha", "gt/depth"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    model = renderer.model
    lm_idx = model.landmarks
    frames = []
    Kt, w2ct = torch.as_tensor(K, dtype=torch.float32), torch.as_tensor(w2c, dtype=torch.float32)
    for s in range(0, len(motion), sc.batch_frames):
        expr = torch.as_tensor(motion.expression[s : s + sc.batch_frames])
        pose = torch.as_tensor(motion.pose[s : s + sc.batch_frames])
        out = renderer.render(expr, pose, K, w2c)
        with torch.no_grad():
            verts = model(expr, pose).vertices
        kp = project(verts[:, lm_idx], Kt, w2ct).numpy()  # (b, 68, 2) continuous pixels
        for j in range(expr.shape[0]):
            k = s + j + 1
            writer.save_rgb(folder / "image" / f"{k}.png", out.image[j].numpy())
            writer.save_gray8(folder / "mask" / f"{k}.png", out.alpha[j].numpy())
            writer.save_gray16(folder / "gt" / "alpha" / f"{k}.png", out.alpha[j].numpy() * 65535.0)
            writer.save_gray16(folder / "gt" / "depth" / f"{k}.png", out.depth[j].numpy() * sc.depth_scale)
            frames.append(writer.frame_record(k, motion.expression[s + j], motion.pose[s + j], world_mat, kp[j], size))
            bar.update(1)
    writer.write_json(folder / "flame_params.json", writer.flame_params(intrinsics, frames))
    writer.write_json(
        folder / "gt" / "params.json",
        {
            "format": "headbake-synthetic-gt",
            "version": SYNTH_VERSION,
            "resolution": size,
            "K": K.tolist(),
            "w2c": w2c.tolist(),
            "expression_names": list(model.expression_names),
            "region_names": list(model.region_names),
            "depth_scale": sc.depth_scale,
            "depth": "gt/depth/<k>.png: uint16 = camera distance (-z, world units) x depth_scale of the head "
            "surface; 0 where the head covers < half the pixel",
            "alpha": "gt/alpha/<k>.png: uint16 = exact alpha (head + hair shells) x 65535",
            "hair": {"shells": sc.hair_shells, "thickness": sc.hair_thickness},
            "expression": motion.expression.tolist(),
            "pose": motion.pose.tolist(),
        },
    )


def build_subject(cfg: HeadbakeConfig, force: bool = False, progress: bool = True) -> Path:
    """Render the synthetic subject into `cfg.data.root`; returns the root.

    Skips (and says so) when a complete subject built from the same settings is already there,
    unless `force`. Refuses to replace a folder that is not a synthetic subject unless `force`.
    """
    root = Path(cfg.data.root)
    record = build_record(cfg)
    old = existing_record(root)
    if root.exists() and not force:
        if old == record:
            print(f"synthetic subject at {root} is complete and matches the config; skipping (--force rebuilds)")
            return root
        if old is None and any(root.iterdir()):
            raise FileExistsError(f"{root}: exists and is not a complete synthetic subject; remove it or pass --force")
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    t0 = time.time()
    model = load_model(cfg)
    renderer = SubjectRenderer(model, cfg.synth)
    plan = video_plan(cfg)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.parent / f".{root.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        videos = {}
        with tqdm(total=sum(p[3] for p in plan), desc="synth", unit="frame", disable=not progress) as bar:
            for name, split, idx, n in plan:
                motion = make_motion(cfg.synth, n, list(model.expression_names), split, idx)
                t = cfg.synth.camera_translation if split == "train" else cfg.synth.test_camera_translation
                intrinsics, world_mat = writer.camera(cfg.synth.focal, t)
                render_video(tmp / name, renderer, motion, intrinsics, world_mat, cfg, bar)
                videos[name] = {"split": split, "expression": motion.expression, "pose": motion.pose}
        write_contact_sheet(tmp, videos, list(model.expression_names), cfg)
        save_config(cfg, tmp / "config.yaml")
        writer.write_json(tmp / RECORD, record)  # last: marks the subject complete
        _swap_into_place(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    n = sum(p[3] for p in plan)
    print(f"synthetic subject: {n} frames at {cfg.synth.resolution} px in {time.time() - t0:.1f} s -> {root}")
    return root


def write_contact_sheet(root: Path, videos: dict, names: list[str], cfg: HeadbakeConfig) -> Path:
    """`<root>/contact_sheet.png` from the already written frames."""
    blink = next((i for i, n in enumerate(names) if "blink" in n.lower()), None)
    picks = choose_frames(videos, brow_raise_index(names), blink, cfg.synth.contact_sheet_frames)
    turned = next((p for p in picks if p.label.startswith("head turned")), picks[0])
    alpha = writer.read_gray16(root / turned.video / "gt" / "alpha" / f"{turned.k}.png") / 65535.0
    picks.append(dataclasses.replace(turned, label="zoom: translucent hair edge", zoom=hair_zoom(alpha)))
    tile = min(cfg.synth.resolution, 256)
    path = root / "contact_sheet.png"
    render_sheet(root, picks, tile).save(path)
    return path


def _swap_into_place(tmp: Path, root: Path) -> None:
    """Rename tmp to root; an existing root is moved aside first and removed after."""
    aside = None
    if root.exists():
        aside = root.parent / f".{root.name}.old-{os.getpid()}"
        os.replace(root, aside)
    os.replace(tmp, root)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
