"""`python -m bake` / `python -m bake.eval` error paths: clear messages, exit code 2, nothing written."""

import pytest

from bake.__main__ import main
from bake.eval import main as eval_main


def _cfg(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(f"workdir: {tmp_path / 'run'}\ndata:\n  root: {tmp_path / 'data'}\n  n_exp: 4\n")
    return p


def test_help_lists_stages(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--stage" in out and "finetune" in out and "accelerate launch" in out


def test_missing_checkpoint_names_the_file(tmp_path, capsys):
    assert main(["-c", str(_cfg(tmp_path)), "--stage", "bake", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "train/config.yaml" in err and "not found" in err
    assert not (tmp_path / "run" / "bake" / "baked").exists()


def test_corrupt_checkpoint_is_reported(tmp_path, capsys):
    cfgp = _cfg(tmp_path)
    tdir = tmp_path / "run" / "train"
    tdir.mkdir(parents=True)
    from train.config import load_config, save_config

    save_config(load_config(cfgp), tdir / "config.yaml")
    (tdir / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated")
    assert main(["-c", str(cfgp), "--stage", "bake", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt: cannot load the stage-1 checkpoint" in err


def test_finetune_without_baked_artifact(tmp_path, capsys):
    assert main(["-c", str(_cfg(tmp_path)), "--stage", "finetune", "--no-progress"]) == 2
    assert "bake/baked: artifact folder not found" in capsys.readouterr().err


def test_bad_override_is_a_config_error(tmp_path, capsys):
    assert main(["-c", str(_cfg(tmp_path)), "--set", "bake.mc_resolution=100"]) == 2
    assert "mc_resolution must be mc_coarse_resolution * 2^k" in capsys.readouterr().err


def test_eval_with_nothing_to_evaluate(tmp_path, capsys):
    assert eval_main(["-c", str(_cfg(tmp_path)), "--no-progress"]) == 2
    assert "error:" in capsys.readouterr().err


def test_bake_cli_on_analytic_source_and_interrupt_keeps_artifact(tmp_path, monkeypatch, capsys):
    """`python -m bake --stage bake` end to end with the analytic source standing in for stage 1;
    then a bake interrupted midway leaves the complete artifact in place."""
    import json

    import numpy as np

    import bake.stage2 as st
    import train.model
    from bake.source import AnalyticSource
    from export.artifact import load_artifact

    monkeypatch.setattr(train.model, "load_stage1", lambda workdir, device: (None, AnalyticSource(n_levels=2, n_exp=4)))
    seq = {"train": {"expression": np.zeros((3, 4), np.float32), "pose": np.zeros((3, 15), np.float32)}}
    cam = {"K": [[-96.0, 0, 16], [0, 96.0, 16], [0, 0, 1]], "w2c": np.diag([1.0, 1, 1, 1]).tolist(), "width": 32, "height": 32}
    cam["w2c"][2][3] = -4.0
    monkeypatch.setattr(st, "tracked_sequences", lambda cfg: (seq, cam))
    monkeypatch.setattr(st, "preview_frames", lambda cfg: None)
    p = tmp_path / "c.yaml"
    p.write_text(f"workdir: {tmp_path / 'run'}\ndata:\n  n_exp: 4\nbake:\n  mc_resolution: 32\n  faces_per_layer: 300\n"
                 "  texture_size: 32\n  uv_padding: 2\n  workers: 1\n  device: cpu\n")
    assert main(["-c", str(p), "--stage", "bake", "--no-progress"]) == 0
    assert "stage 2 done" in capsys.readouterr().out
    out = tmp_path / "run" / "bake" / "baked"
    art = load_artifact(out)
    rep = json.loads((out / "report.json").read_text())
    assert len(art.layers) == 2 and [l["faces"] for l in rep["layers"]] == [len(l.arrays["faces"]) for l in art.layers]
    assert (out / "previews" / "layers.png").is_file() and (out / "config.yaml").is_file()
    before = (out / "avatar.safetensors").read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(st, "bake_layers", interrupted)
    assert main(["-c", str(p), "--stage", "bake", "--no-progress"]) == 130
    assert (out / "avatar.safetensors").read_bytes() == before
    assert sorted(q.name for q in out.parent.iterdir()) == ["baked", "config.yaml"]
