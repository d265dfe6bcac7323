"""Build the whole synthetic subject: every video of `data.train_videos` / `data.test_videos`,
ground truth, contact sheet and resolved config, written atomically into `data.root`.

The subject is rendered into a sibling temp folder and renamed into place at the end, so a
complete subject is never replaced by a half-written one. `<root>/synth.json` records what it
was built from; an existing complete subject with the same record is reused unless forced.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import multiprocessing as mp
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
from train.synth.render import SubjectRenderer, background, brow_raise_index

SYNTH_VERSION = 3  # 3: image/ holds straight colour (exact with the mask); bump whenever the rendered files change for the same settings
RECORD = "synth.json"


def build_record(cfg: HeadbakeConfig) -> dict:
    """What determines the subject's files (compared to decide whether to rebuild)."""
    from train.flame.procedural import PROCEDURAL_VERSION

    return {
        "format": "headbake-synthetic-subject",
        "version": SYNTH_VERSION,
        "procedural_head_version": PROCEDURAL_VERSION,
        # how the work is split does not change the files
        "synth": {k: v for k, v in to_dict(cfg.synth).items() if k not in ("workers", "batch_frames")},
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


def split_camera(sc, split: str) -> tuple[list[float], np.ndarray, np.ndarray, np.ndarray]:
    """The fixed camera of a split's videos: (normalised intrinsics, world_mat, K pixels, w2c)."""
    t = sc.camera_translation if split == "train" else sc.test_camera_translation
    intrinsics, world_mat = writer.camera(sc.focal, t)
    K, w2c = writer.pixel_camera(intrinsics, world_mat, sc.resolution)
    return intrinsics, world_mat, K, w2c


def video_plan(cfg: HeadbakeConfig) -> list[tuple[str, str, int, int]]:
    """(video name, split, index within split, frame count) for every video."""
    plan = [(n, "train", i, cfg.synth.n_train_frames) for i, n in enumerate(cfg.data.train_videos)]
    plan += [(n, "test", i, cfg.synth.n_test_frames) for i, n in enumerate(cfg.data.test_videos)]
    names = [p[0] for p in plan]
    if len(set(names)) != len(names):
        raise ValueError(f"data.train_videos and data.test_videos must name distinct folders; got {names}")
    return plan


_STATE: dict = {}  # the renderer and config, set in the parent before the worker processes fork


def _render_batch(job: tuple) -> tuple[int, list[dict]]:
    """Worker: render frames [start, start + b) of one video, write their files, return records."""
    folder, start, expr, pose, K, w2c, world_mat = job
    renderer: SubjectRenderer = _STATE["renderer"]
    sc = _STATE["cfg"].synth
    size = sc.resolution
    torch.set_num_threads(1)
    expr_t, pose_t = torch.as_tensor(expr), torch.as_tensor(pose)
    out = renderer.render(expr_t, pose_t, K, w2c)
    with torch.no_grad():
        verts = renderer.model(expr_t, pose_t).vertices
    Kt, w2ct = torch.as_tensor(K, dtype=torch.float32), torch.as_tensor(w2c, dtype=torch.float32)
    kp = project(verts[:, renderer.model.landmarks], Kt, w2ct).numpy()  # (b, 68, 2) continuous pixels
    records = []
    for j in range(expr.shape[0]):
        k = start + j + 1
        writer.save_rgb(folder / "image" / f"{k}.png", out.straight[j].numpy())
        writer.save_gray8(folder / "mask" / f"{k}.png", out.alpha[j].numpy())
        writer.save_gray16(folder / "gt" / "alpha" / f"{k}.png", out.alpha[j].numpy() * 65535.0)
        writer.save_gray16(folder / "gt" / "depth" / f"{k}.png", out.depth[j].numpy() * sc.depth_scale)
        records.append(writer.frame_record(k, expr[j], pose[j], world_mat, kp[j], size))
    return start, records


def render_videos(root: Path, renderer: SubjectRenderer, cfg: HeadbakeConfig, plan, progress: bool) -> dict:
    """Render every video of the plan into root/<video>/ (IMavatar files + gt/); returns, per
    video, {"split", "expression", "pose"} for the contact sheet."""
    sc = cfg.synth
    names = list(renderer.model.expression_names)
    jobs, videos, meta = [], {}, {}
    for name, split, idx, n in plan:
        motion = make_motion(sc, n, names, split, idx)
        intrinsics, world_mat, K, w2c = split_camera(sc, split)
        folder = root / name
        for sub in ("image", "mask", "gt/alpha", "gt/depth"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        for s in range(0, n, sc.batch_frames):
            e = slice(s, s + sc.batch_frames)
            jobs.append((folder, s, motion.expression[e], motion.pose[e], K, w2c, world_mat))
        videos[name] = {"split": split, "expression": motion.expression, "pose": motion.pose}
        meta[name] = (motion, intrinsics, K, w2c)
    results: dict[Path, list] = {}
    _STATE.update(renderer=renderer, cfg=cfg)
    total = sum(p[3] for p in plan)
    with tqdm(total=total, desc="synth", unit="frame", disable=not progress) as bar:
        if sc.workers > 1:
            ctx = mp.get_context("fork")
            with ctx.Pool(min(sc.workers, len(jobs))) as pool:
                for (start, recs), job in zip(pool.imap(_render_batch, jobs), jobs):
                    results.setdefault(job[0], []).extend(recs)
                    bar.update(len(recs))
        else:
            for job in jobs:
                start, recs = _render_batch(job)
                results.setdefault(job[0], []).extend(recs)
                bar.update(len(recs))
    _STATE.clear()
    for name, (motion, intrinsics, K, w2c) in meta.items():
        folder = root / name
        writer.write_json(folder / "flame_params.json", writer.flame_params(intrinsics, results[folder]))
        writer.write_json(folder / "gt" / "params.json", gt_params(renderer, cfg, motion, K, w2c))
    return videos


def gt_params(renderer: SubjectRenderer, cfg: HeadbakeConfig, motion: Motion, K, w2c) -> dict:
    """Contents of `gt/params.json`: exact per-frame parameters and how to read the gt images."""
    sc, model = cfg.synth, renderer.model
    return {
        "format": "headbake-synthetic-gt",
        "version": SYNTH_VERSION,
        "resolution": sc.resolution,
        "K": np.asarray(K).tolist(),
        "w2c": np.asarray(w2c).tolist(),
        "expression_names": list(model.expression_names),
        "region_names": list(model.region_names),
        "depth_scale": sc.depth_scale,
        "depth": "gt/depth/<k>.png: uint16 = camera distance (-z, world units) x depth_scale of the head "
        "surface; 0 where the head covers < half the pixel",
        "alpha": "gt/alpha/<k>.png: uint16 = exact alpha (head + hair shells) x 65535",
        "image": "image/<k>.png: straight (un-premultiplied) colour where alpha > 0, the background where "
        "alpha == 0; image * alpha + c * (1 - alpha) is the exact render over a background c",
        "hair": {"shells": sc.hair_shells, "thickness": sc.hair_thickness},
        "expression": motion.expression.tolist(),
        "pose": motion.pose.tolist(),
    }


def build_subject(cfg: HeadbakeConfig, force: bool = False, progress: bool = True) -> Path:
    """Render the synthetic subject into `cfg.data.root`; returns the root.

    Skips (and says so) when a complete subject built from the same settings is already there,
    unless `force`. Refuses to replace a folder that is not a synthetic subject unless `force`.
    """
    root = Path(cfg.data.root)
    record = build_record(cfg)
    root.parent.mkdir(parents=True, exist_ok=True)
    # one builder per root at a time: a second `python -m train.synth` (another test, `make demo`)
    # waits, then finds the finished subject and skips instead of rendering it again
    with open(root.parent / f".{root.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = existing_record(root)
        if root.exists() and not force:
            if old == record:
                print(f"synthetic subject at {root} is complete and matches the config; skipping (--force rebuilds)")
                return root
            if old is None and any(root.iterdir()):
                raise FileExistsError(f"{root}: exists and is not a complete synthetic subject; remove it or pass --force")
        # one thread per process: on this shared 2-core machine two intra-op threads ran ~4x slower
        # (measured) than one; parallelism comes from `synth.workers` processes instead
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return _build(cfg, root, record, progress)
        finally:
            torch.set_num_threads(threads)


def _build(cfg: HeadbakeConfig, root: Path, record: dict, progress: bool) -> Path:
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
        videos = render_videos(tmp, renderer, cfg, plan, progress)
        write_contact_sheet(tmp, videos, list(model.expression_names), cfg)
        save_config(cfg, tmp / "config.yaml")
        writer.write_json(tmp / RECORD, record, indent=1)  # last: marks the subject complete
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
    tile = 256  # small subjects are scaled up so the labels fit
    path = root / "contact_sheet.png"
    res = cfg.synth.resolution
    render_sheet(root, picks, tile, background(cfg.synth, res, res).numpy()).save(path)
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
