"""The synthetic subject end to end: layout, JSON schema, ground truth, held-out test motion, and
the camera conventions proven by re-rendering the model from what the dataset reader loads."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from train import raster
from train.config import load_config
from train.conventions import gl_projection, project
from train.data.imavatar import MASK_ONE_ABOVE, MASK_ZERO_BELOW, read_subject
from train.synth import appearance as app
from train.synth.motion import nearest_distance
from train.synth.render import SubjectRenderer, front_facing
from train.synth.subject import build_subject, load_model
from train.synth.writer import read_gray16

N_TRAIN, N_TEST, RES = 40, 12, 64


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny preset rendered once into a temp folder: (cfg, root)."""
    root = tmp_path_factory.mktemp("synth") / "subject"
    cfg = load_config("configs/tiny.yaml", [f"data.root={root}"])
    assert (cfg.synth.resolution, cfg.synth.n_train_frames, cfg.synth.n_test_frames) == (RES, N_TRAIN, N_TEST)
    build_subject(cfg, progress=False)
    return cfg, root


def test_layout_and_flame_params_schema(tiny):
    cfg, root = tiny
    for f in ("contact_sheet.png", "config.yaml", "synth.json"):
        assert (root / f).is_file(), f
    assert load_config(root / "config.yaml") == cfg
    assert not list(root.parent.glob(".subject.tmp-*")), "temp folder left behind"
    for video, n in (("train", N_TRAIN), ("test", N_TEST)):
        d = root / video
        fp = json.loads((d / "flame_params.json").read_text())
        assert set(fp) == {"intrinsics", "shape_params", "frames"}
        fx, fy, cx, cy = fp["intrinsics"]
        assert fx == -cfg.synth.focal and fy == cfg.synth.focal and (cx, cy) == (0.5, 0.5)
        assert fp["shape_params"] == [0.0] * 100
        assert len(fp["frames"]) == n
        t0 = fp["frames"][0]["world_mat"]
        for k, fr in enumerate(fp["frames"], start=1):
            assert set(fr) == {"file_path", "world_mat", "expression", "pose", "bbox", "flame_keypoints"}
            assert fr["file_path"] == f"./image/{k}"
            wm = np.asarray(fr["world_mat"])
            assert wm.shape == (3, 4) and np.array_equal(wm[:, :3], np.eye(3)) and fr["world_mat"] == t0
            assert len(fr["expression"]) == 50 and all(v == 0.0 for v in fr["expression"][cfg.data.n_exp :])
            assert len(fr["pose"]) == 15
            kp = np.asarray(fr["flame_keypoints"])
            assert kp.shape == (68, 2) and np.all(np.abs(kp) < 1)
            assert np.allclose(fr["bbox"], [kp[:, 0].min(), kp[:, 1].min(), kp[:, 0].max(), kp[:, 1].max()])
            for sub in ("image", "mask", "gt/alpha", "gt/depth"):
                assert (d / sub / f"{k}.png").is_file(), (video, sub, k)
        assert abs(t0[2][3] - (-4.0)) < 0.5  # camera about 4 units in front of the head
    # the two videos use different cameras (so a reader must take world_mat per video)
    tr = json.loads((root / "train" / "flame_params.json").read_text())["frames"][0]["world_mat"]
    te = json.loads((root / "test" / "flame_params.json").read_text())["frames"][0]["world_mat"]
    assert tr != te


def test_ground_truth_files(tiny):
    cfg, root = tiny
    from PIL import Image

    gt = json.loads((root / "train" / "gt" / "params.json").read_text())
    assert len(gt["pose"]) == N_TRAIN and len(gt["expression"][0]) == cfg.data.n_exp
    assert "brow_raise" in gt["expression_names"]
    for k in (1, N_TRAIN):
        alpha = read_gray16(root / "train" / "gt" / "alpha" / f"{k}.png") / 65535.0
        mask = np.asarray(Image.open(root / "train" / "mask" / f"{k}.png"), dtype=np.float64) / 255.0
        assert np.abs(alpha - mask).max() <= 0.5 / 255 + 1e-6  # the mask is the exact alpha, 8-bit
        soft = (mask > 0.02) & (mask < 0.98)
        assert soft.sum() > 10, "hair and anti-aliasing must give a soft matte"
        depth = read_gray16(root / "train" / "gt" / "depth" / f"{k}.png") / gt["depth_scale"]
        head = depth > 0
        assert head.sum() > 0.15 * RES * RES and np.all(alpha[head] > 0.49)
        assert 3.0 < depth[head].min() and depth[head].max() < 5.0  # camera ~4 units away
        img = np.asarray(Image.open(root / "train" / "image" / f"{k}.png"), dtype=np.float64) / 255.0
        bg = img[mask == 0]
        assert bg.size and np.all(bg.mean(0) < 0.8), "background must not be white"


def _silhouette(model, renderer: SubjectRenderer, expr, pose, K, w2c, res: int, ss: int) -> torch.Tensor:
    """Alpha (H, W) of the head + hair shells, rendered independently of the generator's path:
    the loaded camera through `gl_projection`, the reference rasterizer, `ss`^2 samples/pixel."""
    Kss = np.array(K, dtype=np.float64)
    Kss[:2] *= ss
    P = torch.as_tensor(gl_projection(Kss, res * ss, res * ss), dtype=torch.float32)
    w2c = torch.as_tensor(w2c, dtype=torch.float32)
    cam = torch.linalg.inv(w2c)[:3, 3]

    def clip(v):
        q = v @ w2c[:3, :3].T + w2c[:3, 3]
        return (torch.cat([q, torch.ones_like(q[..., :1])], -1) @ P.T).contiguous()

    out = model(expr[None], pose[None])
    rast = raster.rasterize(clip(out.vertices), model.faces.to(torch.int32), res * ss)
    head = rast[0, ..., 3] > 0
    keep_out = torch.ones(head.shape)  # transmittance of the hair shells
    sh = renderer.shells
    for i in range(sh.n_shells):
        v = sh.deform(out.vertices, out.transforms, model.skin_weights, i)
        faces = sh.faces[front_facing(v, sh.faces, cam)[0]]
        r = raster.rasterize(clip(v), faces, res * ss)
        attr = torch.cat([sh.original(model.v_template, i), sh.edge[:, None]], 1)
        ip = raster.interpolate(attr, r, faces)[0]
        cov = r[0, ..., 3] > 0
        a = app.hair_alpha(ip[cov][:, :3], i, sh.n_shells, ip[cov][:, 3], renderer.landmarks, renderer.noise,
                           renderer.cfg.hair_strands)
        keep_out[cov] *= 1.0 - a
    alpha = torch.where(head, torch.ones_like(keep_out), 1.0 - keep_out)
    return F.avg_pool2d(alpha[None, None], ss)[0, 0] if ss > 1 else alpha


def test_cameras_proven_through_the_dataset_reader(tiny):
    """Acceptance: load through train.data, pose the procedural head with the loaded parameters,
    project with the loaded cameras: vertices and keypoints fall inside the masks, and the
    re-rendered silhouette matches every mask with IoU >= 0.98."""
    cfg, root = tiny
    data = read_subject(root, ["train", "test"], img_res=(RES, RES), n_exp=cfg.data.n_exp, progress=False)
    assert len(data) == N_TRAIN + N_TEST
    model = load_model(cfg)
    renderer = SubjectRenderer(model, cfg.synth)
    regions, neck = model.vertex_regions, model.region_names.index("neck")
    ious = []
    for n in range(len(data)):
        K = torch.as_tensor(data.K[n], dtype=torch.float32)
        w2c = torch.as_tensor(data.w2c[n], dtype=torch.float32)
        expr, pose = torch.as_tensor(data.expression[n]), torch.as_tensor(data.pose[n])
        mask = torch.as_tensor(data.masks[n].astype(np.float32))
        with torch.no_grad():
            verts = model(expr[None], pose[None]).vertices[0]
            uv = project(verts, K, w2c)
        # the head stays in the picture; only the neck runs out, through the bottom edge
        assert uv[:, 0].min() >= 0 and uv[:, 0].max() < RES and uv[:, 1].min() >= 0, f"frame {n}: head leaves the image"
        below = uv[:, 1] >= RES
        assert bool((regions[below] == neck).all()), f"frame {n}: non-neck vertices below the image"
        px = uv[~below].floor().long()
        # every vertex lands on (or, on the rim, next to) a pixel the loaded matte covers
        near = F.max_pool2d(mask[None, None], 3, stride=1, padding=1)[0, 0]
        inside = near[px[:, 1], px[:, 0]] > 0
        assert bool(inside.all()), f"frame {n}: {int((~inside).sum())} vertices outside the mask"
        # stored keypoints are the projected landmark vertices (normalised coordinates, spec 1.2)
        assert torch.allclose(torch.as_tensor(data.keypoints[n]), uv[model.landmarks], atol=1e-3)
        with torch.no_grad():
            alpha = _silhouette(model, renderer, expr, pose, data.K[n], data.w2c[n], RES, cfg.synth.supersample)
        # the independent render reproduces the exact alpha the generator stored
        gt = torch.as_tensor(read_gray16(root / data.video[n] / "gt" / "alpha" / f"{data.frame[n]}.png") / 65535.0)
        off = (alpha - gt).abs() > 0.01
        assert float(off.float().mean()) < 0.005, f"frame {n}: {int(off.sum())} pixels differ from gt/alpha"
        # and, stored as an 8-bit matte and loaded with the reader's thresholds, the mask
        q = torch.round(alpha * 255.0) / 255.0
        q = torch.where(q < MASK_ZERO_BELOW, 0.0, torch.where(q > MASK_ONE_ABOVE, 1.0, q))
        a, b = q > 0.5, mask > 0.5
        iou = float((a & b).sum()) / float((a | b).sum())
        ious.append(iou)
        assert iou >= 0.98, f"frame {n} ({data.video[n]}/{data.frame[n]}): silhouette IoU {iou:.4f}"
        assert float((q - mask).abs().mean()) < 0.005
    assert min(ious) >= 0.98


def test_wrong_camera_is_detected(tiny):
    """The IoU check above is sensitive: a camera with a positive fx (the x flip lost) fails it."""
    cfg, root = tiny
    data = read_subject(root, ["train"], img_res=(RES, RES), n_exp=cfg.data.n_exp, progress=False)
    model = load_model(cfg)
    renderer = SubjectRenderer(model, cfg.synth)
    n = int(np.argmax(np.abs(data.pose[:, 1] + data.pose[:, 4])))  # the most turned head
    K = data.K[n].copy()
    K[0, 0] = -K[0, 0]
    with torch.no_grad():
        alpha = _silhouette(model, renderer, torch.as_tensor(data.expression[n]), torch.as_tensor(data.pose[n]),
                            K, data.w2c[n], RES, cfg.synth.supersample)
    a, b = alpha > 0.5, torch.as_tensor(data.masks[n].astype(np.float32)) > 0.5
    assert float((a & b).sum()) / float((a | b).sum()) < 0.95


def test_test_video_is_held_out(tiny):
    """Test expressions and poses are not in the training set: every test frame is far from its
    nearest training frame (in training standard deviations) and leaves the training range."""
    cfg, root = tiny
    data = read_subject(root, ["train", "test"], img_res=(16, 16), n_exp=cfg.data.n_exp, progress=False)
    is_test = np.array([v == "test" for v in data.video])
    feats = np.concatenate([data.expression, data.pose[:, [0, 1, 2, 3, 4, 5, 6, 9, 10]]], 1).astype(np.float64)
    tr, te = feats[~is_test], feats[is_test]
    sd = tr.std(0) + 1e-6
    d_test = nearest_distance(te / sd, tr / sd)
    # baseline: how far a training frame is from the rest of training (its +-2 neighbours left out)
    n = len(tr)
    loo = np.array([nearest_distance(tr[i : i + 1] / sd, np.delete(tr, list(range(max(0, i - 2), min(n, i + 3))), 0) / sd)[0]
                    for i in range(n)])
    # test frames are further from training than training frames are from each other
    assert d_test.min() > np.median(loo), (d_test.min(), np.median(loo))
    assert np.median(d_test) > np.percentile(loo, 90), (np.median(d_test), np.percentile(loo, 90))
    outside = ((te > tr.max(0)) | (te < tr.min(0))).any(1)
    assert outside.mean() >= 0.9
    # larger amplitudes: the head turns further and the jaw opens wider than in training
    yaw = np.abs(data.pose[:, 1] + data.pose[:, 4])
    assert yaw[is_test].max() > yaw[~is_test].max() and data.pose[is_test, 6].max() > data.pose[~is_test, 6].max()


def test_rebuild_skips_then_force_and_refuses_foreign_folder(tmp_path, capsys):
    root = tmp_path / "subj"
    over = [f"data.root={root}", "synth.resolution=32", "synth.n_train_frames=2", "synth.n_test_frames=1",
            "synth.hair_shells=2", "synth.workers=1", "synth.supersample=1", "synth.contact_sheet_frames=4"]
    cfg = load_config("configs/tiny.yaml", over)
    build_subject(cfg, progress=False)
    stamp = (root / "synth.json").stat().st_mtime_ns
    capsys.readouterr()
    build_subject(cfg, progress=False)
    assert "skipping" in capsys.readouterr().out
    assert (root / "synth.json").stat().st_mtime_ns == stamp
    build_subject(cfg, force=True, progress=False)
    assert (root / "synth.json").stat().st_mtime_ns != stamp
    # a changed setting rebuilds without --force
    cfg2 = load_config("configs/tiny.yaml", over + ["synth.seed=3"])
    build_subject(cfg2, progress=False)
    assert json.loads((root / "synth.json").read_text())["synth"]["seed"] == 3
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("user data")
    cfg3 = load_config("configs/tiny.yaml", over + [f"data.root={foreign}"])
    with pytest.raises(FileExistsError, match="not a complete synthetic subject"):
        build_subject(cfg3, progress=False)
    assert (foreign / "keep.txt").read_text() == "user data"


def test_failure_leaves_previous_subject_intact(tmp_path, monkeypatch):
    root = tmp_path / "subj"
    over = [f"data.root={root}", "synth.resolution=32", "synth.n_train_frames=3", "synth.n_test_frames=1",
            "synth.hair_shells=1", "synth.workers=1", "synth.supersample=1", "synth.batch_frames=1"]
    cfg = load_config("configs/tiny.yaml", over)
    build_subject(cfg, progress=False)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    from train.synth import writer

    calls = {"n": 0}
    real = writer.save_rgb

    def flaky(path, image):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full (simulated)")
        real(path, image)

    monkeypatch.setattr(writer, "save_rgb", flaky)
    with pytest.raises(OSError, match="simulated"):
        build_subject(cfg, force=True, progress=False)
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".subj.lock", "subj"], "temp folder left behind"


def test_concurrent_builders_render_once(tmp_path):
    """Two builders of one root: the second waits for the first and then skips."""
    root = tmp_path / "subj"
    args = [sys.executable, "-m", "train.synth", "-c", "configs/tiny.yaml", "--quiet", f"data.root={root}",
            "synth.resolution=32", "synth.n_train_frames=2", "synth.n_test_frames=1", "synth.hair_shells=1",
            "synth.workers=1", "synth.supersample=1", "synth.contact_sheet_frames=4"]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    said = [o[0] for o in outs]
    assert sum("skipping" in o for o in said) == 1 and sum("synthetic subject: 3 frames" in o for o in said) == 1, said
    assert sorted(p.name for p in tmp_path.iterdir()) == [".subj.lock", "subj"]


def test_flame_model_must_be_procedural(tmp_path):
    cfg = load_config("configs/tiny.yaml", [f"data.root={tmp_path / 's'}", "data.flame_model=/x/generic_model.pkl"])
    with pytest.raises(ValueError, match="data.flame_model must be 'procedural'"):
        build_subject(cfg, progress=False)
    assert not (tmp_path / "s").exists()


def test_cli_help_and_bad_config(tmp_path):
    r = subprocess.run([sys.executable, "-m", "train.synth", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--force" in r.stdout and "data.root" in r.stdout and "--set" in r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("synth:\n  resolutoin: 64\n")
    r = subprocess.run([sys.executable, "-m", "train.synth", "-c", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and "bad.yaml" in r.stderr and "resolutoin" in r.stderr
    # overrides read like every other stage's: --set KEY=VALUE or positional KEY=VALUE
    for args in (["--set", "synth.resolutoin=64"], ["synth.resolutoin=64"]):
        r = subprocess.run([sys.executable, "-m", "train.synth", "-c", "configs/tiny.yaml", *args],
                           capture_output=True, text=True)
        assert r.returncode == 2 and "resolutoin" in r.stderr, (args, r.stderr)
