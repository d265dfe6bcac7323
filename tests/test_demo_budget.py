"""scripts/demo_budget.py: the CPU settings `make demo` uses without a GPU."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from train.config import load_config

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "demo_budget.py"
_spec = importlib.util.spec_from_file_location("demo_budget", SCRIPT)
demo_budget = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo_budget)


def test_synthetic_is_lowered_into_its_own_folders():
    out, notes = demo_budget.budget(str(ROOT / "configs/synthetic.yaml"), [])
    cfg = load_config(ROOT / "configs/synthetic.yaml", out)
    assert tuple(cfg.data.img_res) == (128, 128) and cfg.synth.resolution == 128
    assert cfg.train.iterations == 600 and 0 < cfg.train.max_minutes <= 12
    # the step's rays capped at 2048 and spread over frames of 256 rays (more motion per step)
    assert (cfg.train.batch_images, cfg.train.rays_per_image) == (8, 256)
    assert max(cfg.model.radiance_grid_res) <= 128 and cfg.model.radiance_grid_res == [32, 64, 128]
    assert cfg.bake.finetune_iterations <= 200 and cfg.bake.texture_size <= 256
    assert cfg.data.root == "data/synthetic_cpu" and cfg.workdir == "runs/synthetic_cpu"
    assert cfg.name == "synthetic"  # the exported bundle keeps its name
    assert len(notes) == len(out) - 1  # one line per lowered value, one for both folders


def test_small_config_and_user_overrides_are_never_raised():
    out, _ = demo_budget.budget(str(ROOT / "configs/tiny.yaml"), [])
    assert not any(o.startswith(("data.", "model.", "synth.", "workdir")) for o in out)
    tiny = load_config(ROOT / "configs/tiny.yaml")
    cfg = load_config(ROOT / "configs/tiny.yaml", out)
    assert cfg.train == type(tiny.train)(**{**vars(tiny.train), "max_minutes": 12.0})
    # a user override above a cap is capped; one below is kept
    out, _ = demo_budget.budget(str(ROOT / "configs/synthetic.yaml"), ["train.iterations=300", "data.img_res=[512,256]"])
    cfg = load_config(ROOT / "configs/synthetic.yaml", ["train.iterations=300", "data.img_res=[512,256]", *out])
    assert cfg.train.iterations == 300 and tuple(cfg.data.img_res) == (128, 64)


@pytest.mark.parametrize("config", ["configs/synthetic.yaml", "configs/tiny.yaml"])
def test_cli_prints_overrides_and_a_summary(config):
    r = subprocess.run([sys.executable, str(SCRIPT), config], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "CPU budget" in r.stderr
    load_config(ROOT / config, r.stdout.split())  # every line is a valid override
