"""`python -m export` end to end: config -> artifact resolution -> .glb + resolved config + preview."""

from __future__ import annotations

import subprocess
import sys

import yaml

from export.__main__ import main, resolve_artifact
from export.artifact import save_artifact


def test_help():
    proc = subprocess.run([sys.executable, "-m", "export", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--from-bakedavatar" in proc.stdout and "--artifact" in proc.stdout


def test_config_run_prefers_finetuned(small_artifact, tmp_path, capsys):
    work = tmp_path / "run"
    save_artifact(small_artifact, work / "bake" / "baked")
    assert resolve_artifact(work) == work / "bake" / "baked"
    save_artifact(small_artifact, work / "bake" / "finetuned")
    assert resolve_artifact(work) == work / "bake" / "finetuned"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"name": "tinyhead", "workdir": str(work), "export": {"texture_quality": 80}}))
    out = tmp_path / "dist"
    assert main(["-c", str(cfg), "-o", str(out), "export.fps=30", "--set", "export.morph_tolerance=5e-4"]) == 0
    text = capsys.readouterr().out
    assert "total" in text and "->" in text  # the size report
    assert (out / "tinyhead.glb").is_file() and (out / "tinyhead.preview.png").is_file()
    resolved = yaml.safe_load((out / "tinyhead.config.yaml").read_text())
    assert resolved["export"]["texture_quality"] == 80 and resolved["export"]["fps"] == 30
    assert resolved["export"]["morph_tolerance"] == 5e-4  # --set as in the other stages, 5e-4 read as a number
    assert resolved["bake"]  # the whole resolved config, every section filled in


def test_unknown_export_key_is_refused(small_artifact, tmp_path, capsys):
    save_artifact(small_artifact, tmp_path / "a")
    assert main(["--artifact", str(tmp_path / "a"), "-o", str(tmp_path / "d"), "export.texture_size=3"]) == 2
    assert "unknown key" in capsys.readouterr().err
    assert main(["--artifact", str(tmp_path / "a"), "-o", str(tmp_path / "d"), "--set", "export.texture_size=3"]) == 2
    assert "unknown key" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()
