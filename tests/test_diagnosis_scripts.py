"""scripts/aliasing_ceiling.py and scripts/hair_layer_check.py on the tiny synthetic subject."""

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


def test_aliasing_ceiling_scores_a_finer_render_against_the_ground_truth():
    r = _run(["scripts/aliasing_ceiling.py", "-c", TINY, "--split", "train", "--frames", "2", "--supersample", "1,4"])
    assert r.returncode == 0, r.stderr[-2000:]
    # tiny renders its ground truth at supersample 2: both others are compared against it
    scores = [float(m) for m in re.findall(r"against the ground truth \(supersample 2\): ([0-9.]+) dB", r.stdout)]
    assert len(scores) == 2, r.stdout
    assert all(15.0 < s < 80.0 for s in scores)  # close to the ground truth, yet not identical
    assert "outside, px off" in r.stdout and r.stdout.count("0-9 ") == 2


def test_hair_layer_check_reports_every_shell_and_the_normal_profile(tmp_path):
    assert _run(["-m", "train.synth", "-c", TINY]).returncode == 0
    r = _run(["-m", "train", "-c", TINY, "--set", f"workdir={tmp_path}", "--set", "train.iterations=2",
              "--set", "train.preview_every=1000"])
    assert r.returncode == 0, r.stderr[-2000:]
    r = _run(["scripts/hair_layer_check.py", "--workdir", str(tmp_path), "--points", "500"])
    assert r.returncode == 0, r.stderr[-2000:]
    shells = re.findall(r"^\s+(\d)\s+[+-]\d", r.stdout, re.M)
    assert shells == ["0", "1", "2", "3"], r.stdout
    profile = [float(v) for v in re.findall(r"^\s+[+-]\d\.\d{3}: ([+-]\d\.\d{4})", r.stdout, re.M)]
    assert len(profile) >= 17 and profile[-1] > profile[0]  # s grows away from the scalp (initial SDF)
    assert r.stdout.count("<- shell") == 4
