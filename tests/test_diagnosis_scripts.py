"""The diagnosis scripts (aliasing_ceiling, hair_layer_check, hair_cover_check, level_pull_check, hair_depth_sweep,
region_level_check, shading_gap_check, normal_model_check, correspondence_check) on the tiny synthetic subject."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
TINY = str(ROOT / "configs" / "tiny.yaml")


def _run(args: list[str], timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


def _tiny_checkpoint(workdir) -> None:
    """The tiny synthetic subject and a 2-step stage-1 run in `workdir`: a checkpoint to diagnose."""
    assert _run(["-m", "train.synth", "-c", TINY]).returncode == 0
    r = _run(["-m", "train", "-c", TINY, "--set", f"workdir={workdir}", "--set", "train.iterations=2",
              "--set", "train.preview_every=1000"])
    assert r.returncode == 0, r.stderr[-2000:]


def test_aliasing_ceiling_scores_a_finer_render_against_the_ground_truth():
    r = _run(["scripts/aliasing_ceiling.py", "-c", TINY, "--split", "train", "--frames", "2", "--supersample", "1,4"])
    assert r.returncode == 0, r.stderr[-2000:]
    # tiny renders its ground truth at supersample 2: both others are compared against it
    scores = [float(m) for m in re.findall(r"against the ground truth \(supersample 2\): ([0-9.]+) dB", r.stdout)]
    assert len(scores) == 2, r.stdout
    assert all(15.0 < s < 80.0 for s in scores)  # close to the ground truth, yet not identical
    assert "outside, px off" in r.stdout and r.stdout.count("0-9 ") == 2


def test_hair_layer_check_reports_every_shell_and_the_normal_profile(tmp_path):
    _tiny_checkpoint(tmp_path)
    r = _run(["scripts/hair_layer_check.py", "--workdir", str(tmp_path), "--points", "500"])
    assert r.returncode == 0, r.stderr[-2000:]
    shell_part, level_part = r.stdout.split("\nlevel  s ")
    shells = re.findall(r"^\s+(\d)\s+[+-]\d", shell_part, re.M)
    assert shells == ["0", "1", "2", "3"], r.stdout
    profile = [float(v) for v in re.findall(r"^\s+[+-]\d\.\d{3}: ([+-]\d\.\d{4})", shell_part, re.M)]
    assert len(profile) >= 17 and profile[-1] > profile[0]  # s grows away from the scalp (initial SDF)
    assert r.stdout.count("<- shell") == 4
    # one row per level (tiny: 4): the crossing offsets grow outward, the outermost may lie beyond the reach
    rows = re.findall(r"^\s+(\d)\s+[+-]\d\.\d{4}\s+(.*)$", level_part, re.M)
    assert [j for j, _ in rows] == ["0", "1", "2", "3"], r.stdout
    crossed = [float(rest.split()[0]) for _, rest in rows if not rest.startswith("not crossed")]
    assert len(crossed) >= 2 and crossed == sorted(crossed), r.stdout


def test_hair_cover_check_counts_the_covered_pixels_per_bin():
    assert _run(["-m", "train.synth", "-c", TINY]).returncode == 0
    r = _run(["scripts/hair_cover_check.py", "-c", TINY, "--max-frames", "3", "--windows", "3", "5"])
    assert r.returncode == 0, r.stderr[-2000:]
    rows = re.findall(r"^\s+(\d+)-(\d+)\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s*$",
                      r.stdout, re.M)
    assert rows and rows[0][:2] == ("0", "9"), r.stdout
    for row in rows:
        raw, k3, k5 = (float(v) for v in row[5:])
        assert 0.0 <= raw <= k3 <= k5 <= 1.0  # a wider local maximum covers at least as much
    levels = re.findall(r"^\s+\d+-\d+\s+((?:[0-9.]+ +)+[0-9.]+)\s*$", r.stdout.split("covered share per level")[1], re.M)
    assert len(levels) == len(rows) and all(len(line.split()) == 4 for line in levels)  # tiny: 4 levels
    for line in levels:
        shares = [float(v) for v in line.split()]
        assert shares == sorted(shares)  # lower thresholds (outer levels) count more pixels covered
    bad = _run(["scripts/hair_cover_check.py", "-c", TINY, "--windows", "4"])
    assert bad.returncode != 0 and "odd" in bad.stderr


def test_level_pull_check_reports_each_term_per_offset(tmp_path):
    _tiny_checkpoint(tmp_path)
    r = _run(["scripts/level_pull_check.py", "--workdir", str(tmp_path), "--batches", "1", "--offsets", "0", "0.05"])
    assert r.returncode == 0, r.stderr[-2000:]
    for group in ("local", "global"):
        block = r.stdout.split(f"{group} parameters")[1].splitlines()[1:8]
        rows = {line.split()[0]: line for line in block}
        assert {"rgb", "alpha", "level", "eikonal", "surface"} <= set(rows), r.stdout
        values = re.findall(r"[+-]\d\.\de[+-]\d\d", rows["level"])
        assert len(values) == 2 and any(float(v) != 0.0 for v in values)  # the level loss moves s


def test_region_level_check_reports_each_region_against_the_opaque_level(tmp_path):
    _tiny_checkpoint(tmp_path)
    r = _run(["scripts/region_level_check.py", "--workdir", str(tmp_path)])
    assert r.returncode == 0, r.stderr[-2000:]
    everything, front = r.stdout.split("front-facing (normal z > 0.6)")
    row = r"^(\w+)\s+(\d+)\s+[+-]\d\.\d{4} / [+-]\d\.\d{4} / [+-]\d\.\d{4}\s+([+-]\d\.\d{4})\s+(\d\.\d{4})\s+(\d\.\d{3})\s*$"
    rows_all = {m[0]: m for m in re.findall(row, everything, re.M)}
    rows_front = {m[0]: m for m in re.findall(row, front, re.M)}
    assert {"skin", "teeth", "eyes", "scalp"} <= set(rows_all), r.stdout
    assert set(rows_front) <= set(rows_all)
    assert all(int(rows_front[k][1]) <= int(rows_all[k][1]) for k in rows_front)
    # two steps after the mesh-distance init: the skin still lies on the opaque level
    assert abs(float(rows_front["skin"][2])) < 0.02, r.stdout


def test_hair_depth_sweep_poses_candidates_on_the_shells_and_reports_the_profile():
    """The sweep's candidate at a shell's offset is that shell's posed surface point (the geometry the
    photo-consistency reads), and the script prints the profile with every shell marked."""
    import importlib.util

    import numpy as np
    import torch

    spec = importlib.util.spec_from_file_location("hair_depth_sweep", ROOT / "scripts" / "hair_depth_sweep.py")
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    from train.config import load_config
    from train.model import build_flame
    from train.synth.render import SubjectRenderer

    cfg = load_config(TINY)
    sr = SubjectRenderer(build_flame(cfg, "cpu"), cfg.synth)
    f = sr.shells.faces.long()
    t = torch.arange(0, f.shape[0], max(1, f.shape[0] // 50))
    bary = torch.tensor([[1.0, 0.0, 0.0]]).expand(len(t), 3)  # the faces' first corners: shell vertices
    g = torch.Generator().manual_seed(0)
    e, p = 0.3 * torch.randn(2, cfg.data.n_exp, generator=g), 0.15 * torch.randn(2, 15, generator=g)
    out = sr.model(e, p)
    x = sweep.posed_candidates(sr, out, t, bary, sr.shells.offsets)  # (B, P, n_shells, 3)
    for k in range(sr.shells.n_shells):
        want = sr.shells.deform(out.vertices, out.transforms, sr.skin_weights, k)[:, f[t, 0]]
        np.testing.assert_allclose(x[:, :, k].numpy(), want.numpy(), atol=1e-5)
    assert _run(["-m", "train.synth", "-c", TINY]).returncode == 0
    r = _run(["scripts/hair_depth_sweep.py", "-c", TINY, "--frames", "4", "--points", "200", "--min-views", "1"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert "true shell offsets" in r.stdout and r.stdout.count("<- shell") == sr.shells.n_shells, r.stdout
    assert len(re.findall(r"^0\.\d{4}\s+\d+\.\d{3}\s+\d+", r.stdout, re.M)) >= 40
    r = _run(["scripts/hair_depth_sweep.py", "-c", TINY, "--general", "--frames", "4", "--points", "400", "--min-views", "1"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert re.search(r"^scalp: \d+ points; detected layers beyond", r.stdout, re.M), r.stdout
    assert re.search(r"^face \(skin, nose, lips, brows\): \d+ points", r.stdout, re.M), r.stdout
    assert "share of scalp points with a detected layer within one step" in r.stdout
    r = _run(["scripts/hair_depth_sweep.py", "-c", TINY, "--targets", "--set", "train.layer_depth_points=2000",
              "--set", "train.layer_depth_frames=8"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert re.search(r"^\d+ layer-depth points from 2000 surface points, 8 frames", r.stdout, re.M), r.stdout
    assert "scalp points: offset along the scalp normal within q of a shell" in r.stdout
    r = _run(["scripts/hair_depth_sweep.py", "-c", TINY, "--pin", "--set", "train.layer_depth_points=2000",
              "--set", "train.layer_depth_frames=8"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert re.search(r"^layer_pin: \d+ layers at \[.*\] \(true shells \[", r.stdout, re.M), r.stdout
    assert re.search(r"^scalp\s+\d+\s+\d\.\d{3}\s+\d\.\d{3}$", r.stdout, re.M), r.stdout


def test_shading_gap_check_reports_signed_error_and_visibility_bins(tmp_path):
    _tiny_checkpoint(tmp_path)
    r = _run(["scripts/shading_gap_check.py", "--workdir", str(tmp_path), "--frames", "1", "--visibility-frames", "2",
              "--res", "16", "--specular"])
    assert r.returncode == 0, r.stderr[-2000:]
    rows = re.findall(r"^(train|test)\s+(\w+)\s+(\d+)\s+([+-]\d\.\d{4})\s+(\d\.\d{3})\s+(\d\.\d{3})\s+([\d.-]+|inf)$", r.stdout, re.M)
    assert {("train", "skin"), ("test", "skin")} <= {(m[0], m[1]) for m in rows}, r.stdout
    for m in rows:
        assert float(m[4]) + float(m[5]) <= 1.0 + 1e-6 and int(m[2]) > 0
    bins = re.findall(r"^\s*[\d.]+-\S+\s+(\d+)\s+(\d\.\d{3})\s+(\d\.\d{3})", r.stdout, re.M)
    assert len(bins) == 5, r.stdout
    assert abs(sum(float(b[1]) for b in bins) - 1.0) < 0.01  # every hit skin pixel falls in one bin
    spec = re.findall(r"^(train|test)\s+(-inf|[\d.]+)-(\S+)\s+(\d+)\s+(\d\.\d{3})\s+([+-]\d\.\d{4}|-)\s+(\d\.\d{3})$",
                      r.stdout, re.M)
    assert len(spec) == 8, r.stdout  # four highlight bins per split
    for split in ("train", "test"):
        rows = [m for m in spec if m[0] == split]
        assert abs(sum(float(m[4]) for m in rows) - 1.0) < 0.01 and abs(sum(float(m[6]) for m in rows) - 1.0) < 0.01
    assert sum(int(m[3]) for m in spec if m[0] == "train" and m[1] != "-inf") > 0  # the subject has highlights


def test_normal_model_check_scores_each_normal_model_against_the_true_render():
    r = _run(["scripts/normal_model_check.py", "-c", TINY, "--frames", "2"])
    assert r.returncode == 0, r.stderr[-2000:]
    rows = re.findall(r"^(train|test) .*skinning ([0-9.]+) \| ([0-9.]+); linear ([0-9.]+) \| ([0-9.]+); "
                      r"original ([0-9.]+) \| ([0-9.]+)$", r.stdout, re.M)
    assert [row[0] for row in rows] == ["train", "test"], r.stdout
    for row in rows:
        skinning, linear = float(row[1]), float(row[3])
        assert all(15.0 < float(v) < 80.0 for v in row[1:]), row  # close to the truth, not identical
        assert linear > skinning + 0.5, row  # the normal blendshapes recover part of the shading


def test_correspondence_check_reports_the_canonical_offsets_per_region(tmp_path):
    _tiny_checkpoint(tmp_path)
    r = _run(["scripts/correspondence_check.py", "--workdir", str(tmp_path), "--frames", "2", "--ref-frames", "3",
              "--res", "16"])
    assert r.returncode == 0, r.stderr[-2000:]
    num = r"(-?[\d.]+)"
    rows = re.findall(r"^(train|test)\s+(\w+)\s+(\d+)\s+(\d\.\d{3})\s+(\d\.\d{3})\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)"
                      rf"\s+{num} /\s+{num} /\s+{num}$", r.stdout, re.M)
    assert {("train", "scalp"), ("test", "scalp")} <= {(m[0], m[1]) for m in rows}, r.stdout
    for m in rows:
        assert int(m[2]) > 0 and 0.0 <= float(m[3]) <= 1.0 and 0.0 <= float(m[4]) <= 1.0
        assert float(m[7]) <= float(m[8]) + 1e-6  # median <= p90
        assert float(m[9]) <= float(m[10]) + 1e-6 and float(m[10]) <= float(m[11]) + 1e-6  # along the normal: p10 <= p50 <= p90
    # the opaque level starts on the model's surface (sdf init): over the scalp, which moves rigidly, the hit
    # lands on the true canonical point within a pixel
    scalp = [m for m in rows if m[1] == "scalp"]
    assert all(float(m[5]) < 1.0 for m in scalp), r.stdout
    assert all(abs(float(m[10])) < 1.0 for m in scalp), r.stdout  # ... on the surface, not in front of or behind it
    cover = re.findall(r"^(train|test)\s+PSNR\s+([\d.]+)\s+spurious ([\d.]+)% px, ([\d.]+)% of the error; missing ([\d.]+)%$",
                       r.stdout, re.M)
    assert [c[0] for c in cover] == ["train", "test"], r.stdout
    assert all(float(c[3]) + float(c[4]) <= 100.0 + 1e-6 for c in cover)
    deep = dict(re.findall(r"^(train|test)\s+deep hits: (.*)$", r.stdout, re.M))
    assert set(deep) == {"train", "test"}
    shares = {k: float(v) for k, v in re.findall(r"(\w+) (\d\.\d{3})", deep["train"])}
    assert "scalp" in shares and all(0.0 <= v <= 1.0 for v in shares.values()), deep
    assert shares["scalp"] < 0.05  # the scalp's hits lie on the mesh (its opaque level starts there)
