import pytest
import yaml

from train.config import load_config, save_config
from train.configlib import ConfigError


def _write(tmp_path, data):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


@pytest.mark.parametrize("preset", ["configs/tiny.yaml", "configs/synthetic.yaml", "configs/imavatar_subject.yaml"])
def test_presets_load_and_round_trip(preset, tmp_path):
    cfg = load_config(preset)
    out = save_config(cfg, tmp_path / "resolved.yaml")
    assert load_config(out) == cfg


def test_unknown_key_names_file_and_key(tmp_path):
    p = _write(tmp_path, {"data": {"img_resolution": [64, 64]}})
    with pytest.raises(ConfigError, match=r"c\.yaml: config\.data: unknown key\(s\) \['img_resolution'\]"):
        load_config(p)


def test_wrong_type_names_key(tmp_path):
    p = _write(tmp_path, {"train": {"iterations": "many"}})
    with pytest.raises(ConfigError, match=r"config\.train\.iterations must be an integer; got 'many'"):
        load_config(p)


def test_tuple_length_and_validation(tmp_path):
    with pytest.raises(ConfigError, match=r"config\.data\.img_res must have 2 items"):
        load_config(_write(tmp_path, {"data": {"img_res": [64]}}))
    with pytest.raises(ConfigError, match=r"img_res must be positive"):
        load_config(_write(tmp_path, {"data": {"img_res": [0, 64]}}))
    with pytest.raises(ConfigError, match=r"data\.mask_thresholds must be \(low, high\)"):
        load_config(_write(tmp_path, {"data": {"mask_thresholds": [0.8, 0.2]}}))


def test_overrides(tmp_path):
    cfg = load_config("configs/tiny.yaml", ["train.iterations=7", "data.background=[0,0,0]"])
    assert cfg.train.iterations == 7 and cfg.data.background == (0.0, 0.0, 0.0)


def test_missing_file():
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("configs/does_not_exist.yaml")


def test_exponent_without_dot_is_a_number(tmp_path):
    """PyYAML reads 5e-4 as a string (YAML 1.1 wants a dot); float fields still take it, other
    strings still fail."""
    cfg = load_config("configs/tiny.yaml", ["export.morph_tolerance=5e-4", "train.lr=1E-3"])
    assert cfg.export.morph_tolerance == 5e-4 and cfg.train.lr == 1e-3
    with pytest.raises(ConfigError, match=r"config\.train\.lr must be a number; got '5e-4x'"):
        load_config("configs/tiny.yaml", ["train.lr=5e-4x"])


def test_yaml11_words_stay_strings(tmp_path):
    """Accelerate's `mixed_precision: no` is a string: only true/false are booleans in our configs."""
    cfg = load_config("configs/tiny.yaml", ["train.mixed_precision=no"])
    assert cfg.train.mixed_precision == "no"
    path = tmp_path / "c.yaml"
    path.write_text(open("configs/tiny.yaml").read() + "\n")
    data = yaml.safe_load(path.read_text())
    data.setdefault("train", {})["mixed_precision"] = "MP"
    path.write_text(yaml.safe_dump(data).replace("mixed_precision: MP", "mixed_precision: no"))
    assert load_config(path).train.mixed_precision == "no"
    assert load_config("configs/tiny.yaml", ["model.basis_ladder=True"]).model.basis_ladder is True
    with pytest.raises(ConfigError, match=r"must be true or false; got 'yes'"):
        load_config("configs/tiny.yaml", ["model.basis_ladder=yes"])
