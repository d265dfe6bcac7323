"""train.warp_error: the deformation field against the morphable model's own posed vertices."""

from __future__ import annotations

import json

import numpy as np
import pytest

from train.config import load_config
from train.synth.motion import make_motion
from train.synth.subject import load_model
from train.synth.writer import camera, flame_params, frame_record
from train.warp_error import inverse_error, main, prior_model, split_params, warp_error


@pytest.fixture(scope="module")
def subject(tmp_path_factory):
    """flame_params.json of a tiny train and test video in IMavatar's format (no images needed)."""
    root = tmp_path_factory.mktemp("warp") / "subject"
    cfg = load_config("configs/tiny.yaml", [f"data.root={root}", f"workdir={root.parent / 'run'}"])
    names = list(load_model(cfg).expression_names)
    for split, video, n in (("train", cfg.data.train_videos[0], 8), ("test", cfg.data.test_videos[0], 6)):
        mo = make_motion(cfg.synth, n, names, split)
        intr, wm = camera(cfg.synth.focal, cfg.synth.camera_translation)
        recs = [frame_record(k + 1, mo.expression[k], mo.pose[k], wm, np.zeros((68, 2)), cfg.synth.resolution)
                for k in range(n)]
        (root / video).mkdir(parents=True)
        (root / video / "flame_params.json").write_text(json.dumps(flame_params(intr, recs)))
    return cfg


def test_canonical_frame_has_no_error_and_posed_frames_some(subject):
    """At the canonical expression and pose the warp is the identity on the canonical vertices, so
    the error is zero; the test frames move the head and the lattice's interpolation shows."""
    model = prior_model(subject, "cpu")
    frames = split_params(subject, "test")
    canon = dict(frames[0], expression=model.canonical_expression.numpy(), pose=model.canonical_pose.numpy())
    assert warp_error(model, [canon], progress=False)["all"]["max"] < 1e-3
    res = warp_error(model, frames, progress=False)
    assert res["frames"] == 6 and res["vertices"] == model.canonical_vertices.shape[0]
    assert 0.0 < res["all"]["mean"] < res["all"]["p95"] <= res["all"]["max"] < 64
    assert {"lips", "eyes", "scalp"} <= set(res["regions"])
    # rigid regions follow their bones exactly; the mouth, where surfaces of different motion meet, does not
    assert res["regions"]["scalp"]["p95"] < res["regions"]["lips"]["p95"]


def test_a_finer_prior_lattice_lowers_the_error(subject, tmp_path):
    coarse = warp_error(prior_model(subject, "cpu"), split_params(subject, "test"), progress=False)
    fine_cfg = load_config("configs/tiny.yaml", [f"data.root={subject.data.root}", "model.deform_prior_res=48"])
    fine = warp_error(prior_model(fine_cfg, "cpu"), split_params(fine_cfg, "test"), progress=False)
    assert subject.model.deform_prior_res < 48
    assert fine["all"]["mean"] < 0.8 * coarse["all"]["mean"]


def test_inverse_recovers_the_canonical_frame_and_flags_roots_where_surfaces_meet(subject):
    """At the canonical frame every visible pixel inverts to its own canonical point; on posed test
    frames the rigid scalp still does while the lips, where the lattice blends two motions, do not."""
    model = prior_model(subject, "cpu")
    size = tuple(subject.data.img_res)
    frames = [dict(f, size=size) for f in split_params(subject, "test")]
    canon = dict(frames[0], expression=model.canonical_expression.numpy(), pose=model.canonical_pose.numpy())
    res = inverse_error(model, [canon], progress=False)
    assert res["all"]["pixels"] > 500 and res["all"]["wrong_root"] < 0.005 and res["all"]["median"] < 1e-4
    res = inverse_error(model, frames, progress=False)
    regions = res["regions"]
    assert regions["scalp"]["wrong_root"] < 0.01 and regions["scalp"]["unconverged"] == 0.0
    assert regions["lips"]["wrong_root"] > 5 * max(regions["scalp"]["wrong_root"], 0.001)
    assert 0.0 < res["all"]["wrong_root"] < 0.5


def test_cli_writes_the_report_and_rejects_bad_input(subject, capsys):
    args = ["-c", "configs/tiny.yaml", "--set", f"data.root={subject.data.root}", "--set", f"workdir={subject.workdir}",
            "--quiet", "--every", "2"]
    assert main(args + ["--inverse"]) == 0
    out = json.loads((subject.workpath / "eval" / "warp_error_test.json").read_text())
    assert out["field"] == "prior" and out["frames"] == 3 and out["split"] == "test"
    assert out["inverse"]["frames"] == 3 and "eyes" in out["inverse"]["regions"]
    printed = capsys.readouterr().out
    assert "warp error, prior field" in printed and "inverse warp of the visible surface" in printed
    assert main(["-c", "configs/tiny.yaml", "--set", "data.root=/nonexistent/subject", "--quiet"]) == 2
    assert "flame_params.json" in capsys.readouterr().err
    assert main(["-c", "configs/tiny.yaml", "--set", "model.no_such_key=1"]) == 2
    with pytest.raises(SystemExit):
        main(["--help"])
