"""Stage-1 training end to end on the tiny synthetic subject (CPU).

The subject is generated once with `python -m train.synth -c configs/tiny.yaml` (which skips a
complete, identical subject). Runs use one intra-op thread: on a busy 2-core machine two
spinning OpenMP threads per process were measured ~8x slower than one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "configs" / "tiny.yaml"
PY = sys.executable
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def run(args: list[str], timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tiny_subject() -> Path:
    from train.config import load_config

    cfg = load_config(TINY)
    res = run([PY, "-m", "train.synth", "-c", str(TINY)], timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    root = ROOT / cfg.data.root
    assert (root / "train" / "flame_params.json").is_file()
    return root


def train_cli(workdir: Path, *extra: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return run([PY, "-m", "train", "-c", str(TINY), "--set", f"workdir={workdir}", *extra], timeout=timeout)


def state_of(workdir: Path) -> dict:
    return torch.load(workdir / "train" / "checkpoint.pt", map_location="cpu", weights_only=True)


@torch.no_grad()
def train_image_psnr(cfg, model, n: int = 4) -> float:
    from train.metrics import psnr
    from train.model import render_frames
    from train.render.frames import load_frames

    fr = load_frames(cfg, cfg.data.train_videos, cfg.data.train_subsample, "cpu")
    idx = torch.linspace(0, fr.n - 1, n).long()
    out = render_frames(model, fr.K[idx], fr.c2w[idx], fr.expression[idx], fr.pose[idx], fr.width, fr.height)
    gt = torch.stack([fr.target(int(i))[0] for i in idx])
    return psnr(out["rgb"].clamp(0, 1), gt)


def test_tiny_config_trains_and_improves(tiny_subject, tmp_path):
    from train.config import load_config
    from train.model import AvatarModel, build_flame, load_stage1
    from train.render.frames import load_frames

    torch.set_num_threads(1)
    res = train_cli(tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "stage 1 done: 200 steps" in res.stdout
    tdir = tmp_path / "train"
    assert (tdir / "config.yaml").is_file() and (tdir / "checkpoint.pt").is_file()
    assert sorted(p.name for p in (tdir / "previews").glob("*.png")) == ["step_000100.png", "step_000200.png"]
    assert list((tdir / "stage1").glob("events.out.tfevents.*")), "no TensorBoard log"

    cfg, trained = load_stage1(tmp_path, "cpu")
    # the untrained model exactly as training started it (same seed, same data)
    fr = load_frames(cfg, cfg.data.train_videos, cfg.data.train_subsample, "cpu")
    torch.manual_seed(cfg.seed)
    init = AvatarModel(cfg, build_flame(cfg, "cpu", fr.shape_params), fr.expression.mean(0)).eval()
    p0, p1 = train_image_psnr(cfg, init), train_image_psnr(cfg, trained)
    assert p1 > p0 + 3.0, f"training-image PSNR {p0:.2f} -> {p1:.2f} dB"

    # loss: the log's first and last 20-step means (TensorBoard scalars)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tdir / "stage1"))
    acc.Reload()
    tag = next(t for t in acc.Tags()["scalars"] if t.endswith("loss/total"))
    vals = [e.value for e in acc.Scalars(tag)]
    assert len(vals) >= 5
    assert vals[-1] < 0.7 * vals[0], f"loss {vals[0]:.4f} -> {vals[-1]:.4f}"


def test_two_process_cpu_run(tiny_subject, tmp_path):
    accel = Path(PY).with_name("accelerate")
    res = run([str(accel), "launch", "--num_processes", "2", "--num_machines", "1", "--cpu",
               "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "train", "-c", str(TINY),
               "--set", f"workdir={tmp_path}", "--set", "train.iterations=4", "--set", "train.preview_every=1000",
               # the sweep's pin, broadcast from rank 0 (8 frames: the tiny subject's scalp shows a fringe)
               "--set", "model.manifold_pin=sweep", "--set", "model.manifold_pin_res=16",
               "--set", "train.layer_depth_points=2000", "--set", "train.layer_depth_frames=8"],
              timeout=900)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert res.stdout.count("stage 1 done") == 1  # main process only
    assert re.search(r"stage 1: manifold pin: \d+ layers at", res.stdout), res.stdout[-2000:]
    ckpt = state_of(tmp_path)
    assert ckpt["step"] == 4
    assert float(ckpt["model"]["manifold_field.pin"][0, 1].max()) > 0.5


def test_resume_continues_exactly(tiny_subject, tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    common = ["--set", "train.iterations=6", "--set", "train.preview_every=1000", "--set", "train.checkpoint_every=1000"]
    r = train_cli(full, *common)
    assert r.returncode == 0, r.stderr[-3000:]
    r = train_cli(part, *common, "--max-steps", "3")
    assert r.returncode == 0, r.stderr[-3000:]
    assert state_of(part)["step"] == 3
    r = train_cli(part, *common, "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = state_of(full), state_of(part)
    assert a["step"] == b["step"] == 6
    assert a["model"].keys() == b["model"].keys()
    diffs = [k for k in a["model"] if not torch.equal(a["model"][k], b["model"][k])]
    assert not diffs, f"parameters differ after resume: {diffs[:5]}"
    # and the run really moved the parameters (the comparison is not vacuous)
    r3 = state_of(part)
    assert a["optimizer"]["state"], "optimizer state missing"
    assert r3["scheduler"]["last_epoch"] == 6


def test_learnt_input_corrections_and_layer_depth_train_resume_exactly_and_load(tiny_subject, tmp_path):
    """`train.optimize_inputs`: the per-frame corrections are trained (frames sampled move, in their
    own Adam group), saved, restored bit for bit by --resume, and load with the stage-1 model.
    `train.w_layer_depth` in the same runs: the plane sweep's points are made once, kept in the
    checkpoint and read back by --resume (the resumed run matches the uninterrupted one)."""
    from train.model import load_stage1

    full, part = tmp_path / "full", tmp_path / "part"
    common = ["--set", "train.iterations=6", "--set", "train.preview_every=1000", "--set", "train.checkpoint_every=1000",
              "--set", "train.optimize_inputs=[expression,pose,camera]",
              "--set", "train.w_layer_depth=1.0", "--set", "train.layer_depth_points=2000", "--set", "train.layer_depth_frames=8"]
    r = train_cli(full, *common)
    assert r.returncode == 0, r.stderr[-3000:]
    assert re.search(r"stage 1: \d+ layer-depth points from the training images' plane sweep", r.stdout), r.stdout[-2000:]
    r = train_cli(part, *common, "--max-steps", "3")
    assert r.returncode == 0, r.stderr[-3000:]
    r = train_cli(part, *common, "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = state_of(full), state_of(part)
    assert a["layer_targets"].shape[0] > 0 and torch.equal(a["layer_targets"], b["layer_targets"])
    keys = [k for k in a["model"] if k.startswith("frame_inputs.")]
    assert sorted(keys) == ["frame_inputs.camera", "frame_inputs.expression", "frame_inputs.pose"]
    assert not [k for k in a["model"] if not torch.equal(a["model"][k], b["model"][k])]
    assert len(a["optimizer"]["param_groups"]) == 5
    moved = (a["model"]["frame_inputs.pose"].abs().sum(1) > 0).sum()
    assert 0 < moved <= 6 * 2  # the frames sampled (2 images a step in tiny), not the others
    _, model = load_stage1(full)
    torch.testing.assert_close(model.frame_inputs.camera, a["model"]["frame_inputs.camera"])


def test_manifold_pin_resumes_exactly_and_loads(tiny_subject, tmp_path):
    """`model.manifold_pin`: the pinned field is a checkpointed buffer (not recomputed by --resume,
    loaded by the bake's `load_stage1`); `sweep` on the 64 px subject reports what it found."""
    from train.model import load_stage1

    full, part = tmp_path / "full", tmp_path / "part"
    common = ["--set", "train.iterations=4", "--set", "train.preview_every=1000", "--set", "train.checkpoint_every=1000",
              "--set", "model.n_levels=5", "--set", "model.manifold_pin=synthetic_hair", "--set", "model.manifold_pin_res=32"]
    r = train_cli(full, *common)
    assert r.returncode == 0, r.stderr[-3000:]
    r = train_cli(part, *common, "--max-steps", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    r = train_cli(part, *common, "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = state_of(full), state_of(part)
    assert not [k for k in a["model"] if not torch.equal(a["model"][k], b["model"][k])]
    pin = a["model"]["manifold_field.pin"]
    assert pin.shape == (1, 2, 32, 32, 32) and float(pin[0, 1].max()) == 1.0 and float(pin[0, 1].min()) == 0.0
    _, model = load_stage1(full)
    assert torch.equal(model.manifold_field.pin, pin)
    r = train_cli(tmp_path / "sweep", "--set", "train.iterations=1", "--set", "model.manifold_pin=sweep",
                  "--set", "model.manifold_pin_res=16", "--set", "train.layer_depth_points=2000", "--set", "train.layer_depth_frames=8")
    assert r.returncode == 0, r.stderr[-3000:]
    assert re.search(r"stage 1: manifold pin: ", r.stdout), r.stdout[-2000:]


def test_resume_refuses_a_checkpoint_of_another_model_and_keeps_it(tiny_subject, tmp_path):
    """--resume with a config whose model does not fit the checkpoint (or an unreadable checkpoint)
    exits 2 naming the file and the differing setting, and leaves the run folder untouched."""
    common = ["--set", "train.iterations=4", "--set", "train.preview_every=1000"]
    r = train_cli(tmp_path, *common, "--max-steps", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    tdir = tmp_path / "train"
    before = {p.name: p.read_bytes() for p in (tdir / "checkpoint.pt", tdir / "config.yaml")}
    r = train_cli(tmp_path, *common, "--set", "model.n_levels=6", "--resume")
    assert r.returncode == 2, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    assert "checkpoint.pt: does not fit the configured model" in r.stderr
    assert "model.n_levels: 6 here, 4 in the run" in r.stderr
    assert {p.name: p.read_bytes() for p in (tdir / "checkpoint.pt", tdir / "config.yaml")} == before
    (tdir / "checkpoint.pt").write_bytes(before["checkpoint.pt"][:1000])  # a truncated copy
    r = train_cli(tmp_path, *common, "--resume")
    assert r.returncode == 2 and "not a readable stage-1 checkpoint" in r.stderr and "Traceback" not in r.stderr


def test_malformed_config_fails_before_training(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text().replace("  ray_samples: 24", "  ray_sample: 24"))
    r = run([PY, "-m", "train", "-c", str(bad), "--set", f"workdir={tmp_path / 'w'}"])
    assert r.returncode == 2
    assert "bad.yaml" in r.stderr and "config.model: unknown key(s) ['ray_sample']" in r.stderr
    r = run([PY, "-m", "train", "-c", str(TINY), "--set", "train.rays_per_image=lots", "--set", f"workdir={tmp_path / 'w'}"])
    assert r.returncode == 2 and "config.train.rays_per_image must be an integer" in r.stderr
    r = run([PY, "-m", "train", "-c", str(TINY), "--set", "train.mixed_precision=fp8", "--set", f"workdir={tmp_path / 'w'}"])
    assert r.returncode == 2 and "train.mixed_precision must be no, fp16 or bf16" in r.stderr
    assert not (tmp_path / "w").exists()


def test_malformed_dataset_fails_before_training(tiny_subject, tmp_path):
    root = tmp_path / "subject"
    shutil.copytree(tiny_subject, root)
    fp = root / "train" / "flame_params.json"
    data = json.loads(fp.read_text())
    data["frames"][3]["expression"] = data["frames"][3]["expression"][:10]
    fp.write_text(json.dumps(data))
    r = train_cli(tmp_path / "w", "--set", f"data.root={root}")
    assert r.returncode == 2, r.stderr[-2000:]
    assert "flame_params.json" in r.stderr and "expression" in r.stderr
    assert not (tmp_path / "w" / "train" / "checkpoint.pt").exists()


def test_nan_loss_stops_and_keeps_last_checkpoint(tiny_subject, tmp_path, monkeypatch):
    import train.trainer as trainer
    from train.config import load_config

    torch.set_num_threads(1)
    real = trainer.compute_losses
    calls = {"n": 0}

    def poisoned(*a, **k):
        out = real(*a, **k)
        calls["n"] += 1
        if calls["n"] > 3:  # steps 0..2 fine, step 3 is NaN
            out["total"] = out["total"] * float("nan")
        return out

    monkeypatch.setattr(trainer, "compute_losses", poisoned)
    cfg = load_config(TINY, [f"workdir={tmp_path}", "train.checkpoint_every=2", "train.preview_every=1000"])
    with pytest.raises(trainer.TrainingStopped, match="non-finite loss at step 3"):
        trainer.train(cfg)
    ckpt = state_of(tmp_path)
    assert ckpt["step"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())


def test_run_folder_without_residual_channels_key_loads_its_all_channel_residual(tmp_path):
    """A run folder from before `model.deform_residual_channels` (its config lacks the key, and the
    default was then `all`) still loads: the checkpoint's residual tells which mode it was."""
    import shutil

    from train.config import load_config
    from train.model import CHECKPOINT_NAME, CONFIG_NAME, AvatarModel, build_flame, load_stage1

    cfg = load_config("configs/tiny.yaml", ["model.deform_residual_channels=all"])
    torch.manual_seed(0)
    model = AvatarModel(cfg, build_flame(cfg, "cpu"), torch.zeros(cfg.data.n_exp))
    tdir = tmp_path / "train"
    tdir.mkdir()
    torch.save({"model": model.state_dict()}, tdir / CHECKPOINT_NAME)
    shutil.copy("configs/tiny.yaml", tdir / CONFIG_NAME)
    assert "deform_residual_channels" not in (tdir / CONFIG_NAME).read_text()
    cfg2, loaded = load_stage1(tmp_path, "cpu")
    assert cfg2.model.deform_residual_channels == "all"
    torch.testing.assert_close(loaded.deform_field.residual, model.deform_field.residual)
    assert loaded.deform_field.residual.shape[1] > 108
