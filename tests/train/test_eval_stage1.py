"""Metrics (shared with the baked-avatar eval) and the stage-1 eval CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from train.metrics import mask_iou, psnr, ssim


def test_psnr_known_values():
    gt = torch.zeros(2, 8, 8, 3)
    assert psnr(gt + 0.1, gt) == pytest.approx(20.0, abs=1e-4)  # MSE 0.01
    # per-image mean: one image at 20 dB, one at 40 dB -> 30
    pred = torch.stack([gt[0] + 0.1, gt[1] + 0.01])
    assert psnr(pred, gt) == pytest.approx(30.0, abs=1e-3)
    assert psnr(np.full((4, 4, 3), 0.5), np.full((4, 4, 3), 0.5)) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="same shape"):
        psnr(torch.zeros(4, 4, 3), torch.zeros(4, 5, 3))


def test_ssim_properties():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(32, 32, 3, generator=g)
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-6)
    noisy = (img + 0.2 * torch.randn(32, 32, 3, generator=g)).clamp(0, 1)
    s_noisy = ssim(noisy, img)
    assert 0.0 < s_noisy < 0.9
    # a constant offset hurts luminance only a little; noise hurts structure more
    assert ssim((img * 0.9 + 0.05), img) > s_noisy


def test_mask_iou():
    a = torch.zeros(8, 8)
    b = torch.zeros(8, 8)
    a[:4] = 1.0
    b[2:6] = 1.0
    assert mask_iou(a, b) == pytest.approx(16 / 48)
    assert mask_iou(torch.zeros(4, 4), torch.zeros(4, 4)) == 1.0


def test_eval_cli_writes_metrics_and_images(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    cfg = root / "configs" / "tiny.yaml"
    synth = subprocess.run([sys.executable, "-m", "train.synth", "-c", str(cfg)], cwd=root, env=env,
                           capture_output=True, text=True, timeout=900)
    assert synth.returncode == 0, synth.stderr[-2000:]
    r = subprocess.run([sys.executable, "-m", "train.eval", "-c", str(cfg), "--set", f"workdir={tmp_path}"],
                       cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 2 and "stage-1 config not found (train stage 1 first)" in r.stderr  # clear error
    r = subprocess.run([sys.executable, "-m", "train", "-c", str(cfg), "--set", f"workdir={tmp_path}",
                        "--set", "train.iterations=2", "--set", "train.preview_every=1000"],
                       cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run([sys.executable, "-m", "train.eval", "-c", str(cfg), "--set", f"workdir={tmp_path}",
                        "--max-frames", "3"], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "PSNR" in r.stdout and "mask IoU" in r.stdout
    out = tmp_path / "eval" / "stage1_test"
    m = json.loads((out / "metrics.json").read_text())
    assert m["frames"] == 3 and len(m["per_frame"]) == 3 and m["resolution"] == [64, 64]
    assert all(math.isfinite(m[k]) for k in ("psnr", "ssim", "mask_iou"))
    assert m["psnr"] == pytest.approx(np.mean([f["psnr"] for f in m["per_frame"]]))
    pngs = sorted((out / "side_by_side").glob("*.png"))
    assert len(pngs) == 3
    from PIL import Image

    assert Image.open(pngs[0]).size == (64 * 3, 64)

    # --shading-condition: on training frames, clamping to the training range changes nothing
    runs = {}
    for cond in ("frame", "train-range"):
        r = subprocess.run([sys.executable, "-m", "train.eval", "-c", str(cfg), "--set", f"workdir={tmp_path}",
                            "--split", "train", "--max-frames", "3", "--no-images", "--shading-condition", cond],
                           cwd=root, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        suffix = "" if cond == "frame" else f"_{cond}"
        runs[cond] = json.loads((tmp_path / "eval" / f"stage1_train{suffix}" / "metrics.json").read_text())
    assert runs["train-range"]["shading_condition"] == "train-range"
    assert [f["psnr"] for f in runs["train-range"]["per_frame"]] == pytest.approx(
        [f["psnr"] for f in runs["frame"]["per_frame"]], abs=1e-4)
    r = subprocess.run([sys.executable, "-m", "train.eval", "-c", str(cfg), "--set", f"workdir={tmp_path}",
                        "--max-frames", "2", "--no-images", "--shading-condition", "train-mean"],
                       cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "shading condition train-mean" in r.stdout, r.stderr[-2000:]
    m = json.loads((tmp_path / "eval" / "stage1_test_train-mean" / "metrics.json").read_text())
    assert m["frames"] == 2 and math.isfinite(m["psnr"])
    r = subprocess.run([sys.executable, "-m", "train.eval", "-c", str(cfg), "--set", f"workdir={tmp_path}",
                        "--max-frames", "2", "--no-images", "--mean-bases"],
                       cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "mean bases" in r.stdout, r.stderr[-2000:]
    m = json.loads((tmp_path / "eval" / "stage1_test_mean-bases" / "metrics.json").read_text())
    assert m["mean_bases"] is True and m["frames"] == 2 and math.isfinite(m["psnr"])
    r = subprocess.run([sys.executable, "-m", "train.normal_error", "-c", str(cfg), "--set", f"workdir={tmp_path}"],
                       cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "opaque-layer normals" in r.stdout and "skin" in r.stdout, r.stderr[-2000:]
    m = json.loads((tmp_path / "eval" / "normal_error.json").read_text())
    assert m["vertices"] > 0 and 0 < m["found"] <= 1 and 0 <= m["all"]["median"] <= 180
    r = subprocess.run([sys.executable, "-m", "train.region_error", "-c", str(cfg), "--set", f"workdir={tmp_path}",
                        "--max-frames", "2", "--quiet", "--variants", "full,mean-bases,refine-0"],
                       cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "skin" in r.stdout and "edge" in r.stdout, r.stderr[-2000:]
    m = json.loads((tmp_path / "eval" / "region_error_test.json").read_text())
    assert m["frames"] == 2 and m["variants"] == ["full", "mean-bases", "refine-0"]
    for v in m["variants"]:
        cls = m[v]["classes"]
        assert sum(c["pixel_share"] for c in cls.values()) == pytest.approx(1.0)
        assert sum(c["error_share"] for c in cls.values()) == pytest.approx(1.0)
        assert all(c["psnr_without"] >= m[v]["psnr"] - 1e-9 for c in cls.values())
    assert {"skin", "edge", "outside"} <= set(m["full"]["classes"])
    assert m["fringe"] and sum(r["pixel_share"] for r in m["fringe"]) == pytest.approx(m["full"]["classes"]["outside"]["pixel_share"])
    assert "outside, px off" in r.stdout
    assert Image.open(tmp_path / "eval" / "region_error_test.png").size == (64 * 4, 64)
    r = subprocess.run([sys.executable, "-m", "train.region_error", "-c", str(cfg), "--set", f"workdir={tmp_path}",
                        "--max-frames", "1", "--quiet", "--variants", "full,sharper"],
                       cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 2 and "unknown variant 'sharper'" in r.stderr


def test_mean_bases_replaces_every_basis_by_the_points_mean():
    from train.eval import MeanBases
    from train.fields import RadianceField

    torch.manual_seed(0)
    field = RadianceField(-torch.ones(3), torch.ones(3), [4, 8], 2, 8, dim_pos_feature=3, num_bases=5)
    x = torch.rand(7, 3) * 2 - 1
    f0, b0, a0 = field(x)
    f1, b1, a1 = MeanBases(field)(x)
    assert torch.equal(f0, f1) and torch.equal(a0, a1)
    torch.testing.assert_close(b1, b0.mean(1, keepdim=True).expand(-1, 5, -1))
    assert float((b0 - b1).abs().max()) > 1e-3  # the field's own bases do differ


def test_conditioned_frame_mlp_clamps_and_replaces():
    from train.eval import ConditionedFrameMLP

    lo, hi, mean = torch.tensor([0.0, -1.0]), torch.tensor([1.0, 1.0]), torch.tensor([0.5, 0.25])
    x = torch.tensor([[2.0, -3.0], [0.5, 0.5]])
    w = ConditionedFrameMLP(torch.nn.Identity(), "train-range", lo, hi, mean)
    assert torch.equal(w(x), torch.tensor([[1.0, -1.0], [0.5, 0.5]]))
    w = ConditionedFrameMLP(torch.nn.Identity(), "train-mean", lo, hi, mean)
    assert torch.equal(w(x), mean.expand(2, 2))
    with pytest.raises(ValueError, match="shading condition"):
        ConditionedFrameMLP(torch.nn.Identity(), "frame", lo, hi, mean)


def test_region_summary_shares_and_psnr():
    from train.region_error import summarise

    err = torch.zeros(1, 2, 4)
    err[0, 0, :2] = 0.01  # class 0: 2 pixels with error 0.01, class 1 error-free, class 2 absent
    cls = torch.tensor([[[0, 0, 1, 1], [1, 1, 1, 1]]])
    res = summarise(err, cls, ["a", "b", "c"])
    assert res["psnr"] == pytest.approx(-10 * math.log10(0.02 / 8))
    a, b = res["classes"]["a"], res["classes"]["b"]
    assert "c" not in res["classes"]
    assert a["pixel_share"] == pytest.approx(0.25) and a["error_share"] == pytest.approx(1.0)
    assert a["psnr_inside"] == pytest.approx(20.0) and a["psnr_without"] == math.inf
    assert b["error_share"] == 0.0 and b["psnr_inside"] == math.inf and b["psnr_without"] == pytest.approx(res["psnr"])
    # the written JSON is strict (no Infinity token): an infinite PSNR becomes null
    from train.region_error import _strict_json
    back = json.loads(json.dumps(_strict_json(res), allow_nan=False))
    assert back["classes"]["b"]["psnr_inside"] is None and back["classes"]["a"]["psnr_without"] is None
    assert back["classes"]["a"]["psnr_inside"] == pytest.approx(20.0)


def test_fringe_profile_bins_outside_pixels_by_distance():
    from train.region_error import OUTSIDE, fringe_profile

    cls = torch.zeros(1, 1, 40, dtype=torch.long)
    cls[0, 0, 10:] = 1  # class 1 = outside: pixels 10..39 lie 1..30 px off the covered pixels 0..9
    gt = torch.zeros(1, 1, 40)
    gt[0, 0, 10:19] = 0.5  # hair within 9 px
    alpha = torch.zeros(1, 1, 40)
    err = torch.zeros(1, 1, 40)
    err[0, 0, 10:19] = 0.25
    rows = fringe_profile(err, gt, alpha, cls, ["skin", OUTSIDE], units_per_px=0.01)
    assert [r["px"] for r in rows] == [[0, 9], [9, 18], [18, 27], [27, 36]]
    first = rows[0]
    assert first["pixel_share"] == pytest.approx(9 / 40) and first["error_share"] == pytest.approx(1.0)
    assert first["gt_alpha"] == pytest.approx(0.5) and first["alpha_err"] == pytest.approx(0.5)
    assert first["units"] == pytest.approx([0.0, 0.09]) and rows[1]["psnr_inside"] == math.inf
    assert sum(r["pixel_share"] for r in rows) == pytest.approx(30 / 40)


def test_fringe_profile_splits_hair_beyond_the_scalp_from_the_rest():
    """Classes 0 scalp, 1 face, 2 edge, 3 outside on a row of 60 px: the outside pixels left of the
    scalp are hair beyond it, those right of the face (behind an edge band) are not."""
    from train.region_error import EDGE, OUTSIDE, format_fringe, fringe_profile

    cls = torch.full((1, 1, 60), 3, dtype=torch.long)
    cls[0, 0, 20:25] = 0  # scalp
    cls[0, 0, 25:27] = 2  # edge band between them
    cls[0, 0, 27:32] = 1  # face
    err = torch.zeros(1, 1, 60)
    err[0, 0, :20] = 0.01  # beyond the scalp: 20 dB
    err[0, 0, 32:] = 0.001  # beyond the face: 30 dB
    z = torch.zeros(1, 1, 60)
    rows = fringe_profile(err, z, z, cls, ["scalp", "face", EDGE, OUTSIDE], units_per_px=0.01)
    first = rows[0]  # 1..9 px off: 9 px on each side
    assert first["scalp_share"] == pytest.approx(0.5)
    assert first["psnr_scalp"] == pytest.approx(20.0) and first["psnr_other"] == pytest.approx(30.0)
    assert "PSNR sc" in format_fringe(rows)
    assert "scalp_share" not in fringe_profile(err, z, z, cls, ["hair", "face", EDGE, OUTSIDE], units_per_px=0.01)[0]
    # a frame without any scalp (or model) pixel: nothing counts as beyond the scalp, no distance to a phantom border
    none = fringe_profile(err, z, z, torch.where(cls == 0, 1, cls), ["scalp", "face", EDGE, OUTSIDE], units_per_px=0.01)
    assert none[0]["scalp_share"] == 0.0 and none[0]["psnr_scalp"] is None
    far = fringe_profile(err, z, z, torch.full_like(cls, 3), ["scalp", "face", EDGE, OUTSIDE], units_per_px=0.01)
    assert [r["px"][0] for r in far] == [60] and far[0]["pixel_share"] == 1.0  # no model in view: all far off it


def test_class_map_labels_model_regions_edge_and_outside():
    from train.config import load_config
    from train.model import build_flame
    from train.region_error import EDGE, OUTSIDE, class_map

    cfg = load_config("configs/tiny.yaml")
    flame = build_flame(cfg, "cpu")
    K = torch.tensor([[-192.0, 0, 32], [0, 192.0, 32], [0, 0, 1]])
    c2w = torch.eye(4)
    c2w[2, 3] = 4.0
    cls, names = class_map(flame, K, c2w, torch.zeros(cfg.data.n_exp), torch.zeros(15), 64, 64, edge_px=1)
    assert names[-2:] == [EDGE, OUTSIDE] and cls.shape == (64, 64)
    assert cls[0, 0] == names.index(OUTSIDE)  # image corner: background
    assert (cls == names.index(EDGE)).any() and (cls == names.index("skin")).any()
    wide, _ = class_map(flame, K, c2w, torch.zeros(cfg.data.n_exp), torch.zeros(15), 64, 64, edge_px=3)
    assert (wide == names.index(EDGE)).sum() > (cls == names.index(EDGE)).sum()

