"""flame_params.json -> animation sequences: values, camera, and messages naming file and field."""

from __future__ import annotations

import json

import numpy as np
import pytest

from export.artifact import ArtifactError
from export.sequences import load_flame_params


def _write(path, frames, **top):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"frames": frames, **top}))
    return path


def test_reads_expression_pose_and_camera(tmp_path):
    frames = [{"expression": [0.1 * i] * 50, "pose": [0.01 * i] * 15, "world_mat": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, -4]]}
              for i in range(3)]
    p = _write(tmp_path / "subj" / "test" / "flame_params.json", frames, intrinsics=[-2.0, 2.0, 0.5, 0.5])
    name, seq, cam = load_flame_params(p, n_exp=16)
    assert name == "subj_test"
    assert seq["expression"].shape == (3, 16) and seq["pose"].shape == (3, 15)
    np.testing.assert_allclose(seq["expression"][2], 0.2, rtol=1e-6)
    assert cam["K"][0][0] == -1024.0 and cam["w2c"][2][3] == -4


@pytest.mark.parametrize(
    "frames, message",
    [
        ([], r"field 'frames' must be a non-empty list"),
        ([{"expression": [0.0] * 50}], r"frames\[0\]\.pose must be a list of 15 numbers"),
        ([{"expression": [0.0] * 50, "pose": [0.0] * 15}, {"expression": [0.0] * 3, "pose": [0.0] * 15}],
         r"frames\[1\]\.expression must be a list of >= 16 numbers"),
        ([{"expression": [0.0] * 50, "pose": [float("nan")] * 15}], r"contain NaN"),
    ],
)
def test_bad_files_name_the_field(tmp_path, frames, message):
    p = _write(tmp_path / "v" / "flame_params.json", frames)
    with pytest.raises(ArtifactError, match=message) as exc:
        load_flame_params(p, n_exp=16)
    assert str(p) in str(exc.value)


def test_missing_and_invalid_json(tmp_path):
    with pytest.raises(ArtifactError, match="sequence file not found"):
        load_flame_params(tmp_path / "nope.json", 16)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_flame_params(bad, 16)
