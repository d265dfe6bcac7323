"""Tiny end to end on CPU: synthetic subject -> stage 1 (a few steps) -> bake -> fine-tune -> eval.

A few stage-1 steps give a poor avatar; this checks that the stages connect through their files
(checkpoint, artifact, resolved configs), not the quality (scripts/gpu/bake.sh measures that).
"""

import json
import math
import time

import numpy as np
import pytest

from bake.__main__ import main as bake_main
from bake.eval import main as eval_main
from export.artifact import load_artifact
from train.config import load_config


@pytest.mark.slow
def test_train_bake_finetune_eval_tiny(tmp_path, capsys):
    from train.synth.subject import build_subject
    from train.trainer import train

    over = [f"data.root={tmp_path / 'subject'}", f"workdir={tmp_path / 'run'}", "synth.n_train_frames=12",
            "synth.n_test_frames=4", "train.iterations=3", "train.checkpoint_every=3", "train.batch_images=1",
            "train.rays_per_image=256", "bake.mc_resolution=32", "bake.faces_per_layer=600", "bake.texture_size=64",
            "bake.finetune_iterations=3", "bake.finetune_batch=1"]
    cfg = load_config("configs/tiny.yaml", over)
    build_subject(cfg, progress=False)
    train(cfg)
    cfg_path = tmp_path / "cfg.yaml"
    from train.config import save_config

    save_config(cfg, cfg_path)
    t0 = time.perf_counter()
    assert bake_main(["-c", str(cfg_path), "--stage", "all", "--no-progress"]) == 0
    seconds = time.perf_counter() - t0
    out = capsys.readouterr().out
    assert "stage 2 done" in out and "stage 3 done" in out
    baked = load_artifact(tmp_path / "run" / "bake" / "baked")
    tuned = load_artifact(tmp_path / "run" / "bake" / "finetuned")
    assert len(baked.layers) == cfg.model.n_levels
    assert set(baked.sequences) == {"train", "test"} and baked.sequences["train"]["pose"].shape == (12, 15)
    assert baked.meta["camera"]["width"] == 64 and baked.meta["camera"]["K"][0][0] < 0
    for a, b in zip(baked.layers, tuned.layers):
        np.testing.assert_array_equal(a.arrays["faces"], b.arrays["faces"])  # geometry frozen
        assert len(a.arrays["faces"]) <= 620
    for sub in ("baked", "finetuned"):
        folder = tmp_path / "run" / "bake" / sub
        assert load_config(folder / "config.yaml") == cfg
        assert (folder / "previews" / "layers.png").stat().st_size > 1000
        assert (folder / "previews" / "atlas_0.png").is_file()
    assert seconds < 180, seconds
    assert eval_main(["-c", str(cfg_path), "--no-progress"]) == 0
    res = json.loads((tmp_path / "run" / "bake" / "eval.json").read_text())
    assert set(res) == {"stage1", "baked", "finetuned"}
    for r in res.values():
        assert all(math.isfinite(r[k]) for k in ("psnr", "ssim", "mask_iou")) and r["frames"] == 4
