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
