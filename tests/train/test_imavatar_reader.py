"""IMavatar-layout reader: folders built in exactly that layout, parsed values, bad inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from train.conventions import project
from train.data import DatasetError, ImavatarDataset, read_subject

SIZE = 16
INTR = [-1.6, 1.5, 0.52, 0.47]  # normalised, negative fx (IMavatar)
MASK_LEVELS = np.array([0, 100, 127, 128, 200, 252, 253, 255], dtype=np.uint8)


def _image(k: int, size=SIZE) -> np.ndarray:
    r = np.arange(size)[:, None] * 7 + k * 13
    c = np.arange(size)[None, :] * 11
    chans = [(r + c) % 256, (r * 3 + c) % 256, (k * 40 + c * 2 + 0 * r) % 256]
    return np.stack(chans, -1).astype(np.uint8)


def _mask(k: int, size=SIZE) -> np.ndarray:
    return np.resize(np.roll(MASK_LEVELS, k), (size, size)).astype(np.uint8)


def _frame(k: int, n_expr=50, world_mat=None) -> dict:
    return {
        "file_path": f"./image/{k}",
        "world_mat": world_mat if world_mat is not None else [[1, 0, 0, 0.1 * k], [0, 1, 0, -0.2], [0, 0, 1, -4.0]],
        "expression": [0.01 * k + 0.001 * j for j in range(n_expr)],
        "pose": [0.1 * k + 0.01 * j for j in range(15)],
        "bbox": [-0.5, -0.25, 0.5, 0.75],
        "flame_keypoints": [[-0.5, -0.25], [0.5, 0.75]],
    }


def make_video(root: Path, name: str, ks=(1, 2, 3), ext=".png", intrinsics=INTR, size=SIZE, frames=None) -> Path:
    vdir = root / name
    (vdir / "image").mkdir(parents=True)
    (vdir / "mask").mkdir()
    for k in ks:
        Image.fromarray(_image(k, size)).save(vdir / "image" / f"{k}{ext}", **({"quality": 95} if ext == ".jpg" else {}))
        Image.fromarray(_mask(k, size), "L").save(vdir / "mask" / f"{k}.png")
    params = {"intrinsics": list(intrinsics), "shape_params": [0.5] * 100, "frames": frames or [_frame(k) for k in ks]}
    (vdir / "flame_params.json").write_text(json.dumps(params))
    return vdir


def _edit_params(vdir: Path, fn) -> Path:
    path = vdir / "flame_params.json"
    obj = json.loads(path.read_text())
    fn(obj)
    path.write_text(json.dumps(obj))
    return path


def test_two_videos_png_and_jpg_parsed_values(tmp_path):
    make_video(tmp_path, "MVI_a", ks=(1, 2, 3), ext=".png")
    make_video(tmp_path, "MVI_b", ks=(1, 2), ext=".jpg")
    s = read_subject(tmp_path, ["MVI_a", "MVI_b"], 1, (SIZE, SIZE), (1, 1, 1), n_exp=10, progress=False)
    assert len(s) == 5 and s.video == ["MVI_a"] * 3 + ["MVI_b"] * 2
    assert s.frame.tolist() == [1, 2, 3, 1, 2]
    assert s.images.dtype == np.uint8 and s.images.shape == (5, SIZE, SIZE, 3)
    np.testing.assert_array_equal(s.images[1], _image(2))  # PNG: exact
    jpg = np.asarray(Image.open(tmp_path / "MVI_b" / "image" / "2.jpg").convert("RGB"))
    np.testing.assert_array_equal(s.images[4], jpg)  # the .jpg fallback, decoded as-is
    # soft masks with BakedAvatar's thresholds: < 0.5 -> 0, > 0.99 -> 1, soft in between
    m = _mask(3).astype(np.float64) / 255
    want = np.where(m < 0.5, 0, np.where(m > 0.99, 1, m))
    np.testing.assert_allclose(s.masks[2].astype(np.float64), want, atol=1e-3)
    assert {0.0, 1.0} <= set(np.unique(s.masks[2]).tolist()) and ((s.masks[2] > 0) & (s.masks[2] < 1)).any()
    K = s.K[0]
    assert K[0, 0] == pytest.approx(-1.6 * SIZE) and K[1, 1] == pytest.approx(1.5 * SIZE)
    assert K[0, 2] == pytest.approx(0.52 * SIZE) and K[1, 2] == pytest.approx(0.47 * SIZE) and K[2, 2] == 1
    np.testing.assert_allclose(s.w2c[1][:3, 3], [0.2, -0.2, -4.0])
    np.testing.assert_allclose(s.c2w[1] @ s.w2c[1], np.eye(4), atol=1e-12)
    np.testing.assert_allclose(s.c2w[1][:3, 3], [-0.2, 0.2, 4.0])  # camera centre = -t
    assert s.expression.shape == (5, 10)
    np.testing.assert_allclose(s.expression[2], [0.03 + 0.001 * j for j in range(10)], rtol=1e-6)
    assert s.pose.shape == (5, 15) and s.pose[3, 0] == pytest.approx(0.1)
    # bbox: normalised (-0.5,-0.25,0.5,0.75) -> pixels (n + 1) * size / 2
    np.testing.assert_allclose(s.bbox[0], [0.25 * SIZE, 0.375 * SIZE, 0.75 * SIZE, 0.875 * SIZE])
    assert s.keypoints.shape == (5, 2, 2)
    np.testing.assert_allclose(s.keypoints[0, 1], [0.75 * SIZE, 0.875 * SIZE])
    assert s.shape_params.shape == (100,) and s.img_res == (SIZE, SIZE)


def test_resize_scales_images_and_intrinsics(tmp_path):
    make_video(tmp_path, "v", ks=(1,))
    s = read_subject(tmp_path, ["v"], 1, (8, 12), n_exp=5, progress=False)
    assert s.images.shape == (1, 8, 12, 3) and s.masks.shape == (1, 8, 12)
    np.testing.assert_allclose(s.K[0], [[-1.6 * 12, 0, 0.52 * 12], [0, 1.5 * 8, 0.47 * 8], [0, 0, 1]])
    np.testing.assert_allclose(s.bbox[0], [0.25 * 12, 0.375 * 8, 0.75 * 12, 0.875 * 8])


def test_legacy_pixel_intrinsics_and_4x4_world_mat(tmp_path):
    legacy = [v * 512 for v in INTR]  # pixels at 512^2 (cy > 1)
    m34 = [[1, 0, 0, 0.3], [0, 1, 0, 0], [0, 0, 1, -4]]
    make_video(tmp_path, "old", ks=(1,), intrinsics=legacy, frames=[_frame(1, world_mat=m34 + [[0, 0, 0, 1]])])
    make_video(tmp_path, "new", ks=(1,), frames=[_frame(1, world_mat=m34)])
    s = read_subject(tmp_path, ["old", "new"], 1, (SIZE, SIZE), n_exp=50, progress=False)
    np.testing.assert_allclose(s.K[0], s.K[1])
    np.testing.assert_allclose(s.w2c[0], s.w2c[1])
    assert s.K[0][0, 0] < 0


@pytest.mark.parametrize(
    "subsample,expected",
    [(1, [1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4]), (3, [1, 4, 7, 1, 4]), ([0, 5, 3], [1, 4, 6, 1, 4])],
)
def test_subsample_is_per_video_on_0_based_in_video_index(tmp_path, subsample, expected):
    make_video(tmp_path, "a", ks=range(1, 8))
    make_video(tmp_path, "b", ks=range(1, 5))
    s = read_subject(tmp_path, ["a", "b"], subsample, (SIZE, SIZE), n_exp=3, progress=False)
    assert s.frame.tolist() == expected


def test_dataset_items_composite_over_background(tmp_path):
    make_video(tmp_path, "a", ks=(1, 2))
    make_video(tmp_path, "b", ks=(5,))
    s = read_subject(tmp_path, ["a", "b"], 1, (SIZE, SIZE), (0.2, 0.4, 0.6), n_exp=4, progress=False)
    ds = ImavatarDataset(s)
    item = ds[2]
    assert item["rgb"].shape == (SIZE, SIZE, 3) and item["rgb"].dtype == torch.float32
    img = torch.from_numpy(_image(5)).float() / 255
    m = item["mask"][..., None]
    torch.testing.assert_close(item["rgb"], img * m + torch.tensor([0.2, 0.4, 0.6]) * (1 - m))
    zero = item["mask"] == 0
    torch.testing.assert_close(item["rgb"][zero], torch.tensor([0.2, 0.4, 0.6]).expand(int(zero.sum()), 3))
    assert item["frame"].item() == 5 and item["video"].item() == 1 and ds.videos[1] == "b"
    assert item["index"].item() == 2 and item["expression"].shape == (4,) and item["pose"].shape == (15,)
    assert item["K"].shape == (3, 3) and item["w2c"].shape == (4, 4) and item["c2w"].shape == (4, 4)
    torch.testing.assert_close(item["keypoints"], torch.tensor([[0.25, 0.375], [0.75, 0.875]]) * SIZE)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=3)))
    assert batch["rgb"].shape == (3, SIZE, SIZE, 3) and batch["video"].tolist() == [0, 0, 1]
    with pytest.raises(IndexError):
        ds[3]


def test_a_known_world_point_projects_onto_the_pixel_where_it_was_drawn(tmp_path):
    """Camera conventions end to end: spec 1.4 projection drawn into the image, read back via K/w2c."""
    size, intr = 64, [-2.1, 2.1, 0.5, 0.5]
    angle = 0.3  # a rotated camera, so R is not the identity
    R = np.array([[math.cos(angle), 0, math.sin(angle)], [0, 1, 0], [-math.sin(angle), 0, math.cos(angle)]])
    t = np.array([0.15, -0.1, -4.0])
    world_mat = np.concatenate([R, t[:, None]], 1)
    points = np.array([[0.31, 0.22, 0.4], [-0.45, -0.3, 0.1]])
    vdir = tmp_path / "v"
    (vdir / "image").mkdir(parents=True)
    (vdir / "mask").mkdir()
    img = np.zeros((size, size, 3), np.uint8)
    drawn = []
    for p in points:  # spec 1.4, written out independently of train.conventions
        q = R @ p + t
        u = intr[0] * size * (q[0] / q[2]) + intr[2] * size
        v = intr[1] * size * (q[1] / q[2]) + intr[3] * size
        col, row = int(math.floor(u)), int(math.floor(v))
        img[row, col] = 255
        drawn.append((row, col))
    assert drawn[0][1] > size // 2 and drawn[0][0] < size // 2  # +x right, +y up on screen
    Image.fromarray(img).save(vdir / "image" / "1.png")
    Image.fromarray(np.full((size, size), 255, np.uint8), "L").save(vdir / "mask" / "1.png")
    frame = _frame(1, world_mat=world_mat.tolist())
    (vdir / "flame_params.json").write_text(json.dumps({"intrinsics": intr, "shape_params": [0.0] * 100, "frames": [frame]}))
    s = read_subject(tmp_path, ["v"], 1, (size, size), n_exp=50, progress=False)
    uv = project(torch.from_numpy(points), torch.from_numpy(s.K[0]), torch.from_numpy(s.w2c[0])).numpy()
    for (row, col), (u, v) in zip(drawn, uv):
        assert (int(math.floor(v)), int(math.floor(u))) == (row, col)
        assert s.images[0, row, col].tolist() == [255, 255, 255]
    # at twice the resolution the same point lands in the upsampled dot
    s2 = read_subject(tmp_path, ["v"], 1, (2 * size, 2 * size), n_exp=50, progress=False)
    uv2 = project(torch.from_numpy(points), torch.from_numpy(s2.K[0]), torch.from_numpy(s2.w2c[0])).numpy()
    np.testing.assert_allclose(uv2, 2 * uv, atol=1e-9)
    for u, v in uv2:
        assert s2.images[0, int(v), int(u)].max() > 100


# ---------------------------------------------------------------- bad input: file + field named


def _expect(match_file: Path | str, field: str, fn):
    with pytest.raises(DatasetError) as info:
        fn()
    msg = str(info.value)
    assert str(match_file) in msg, msg
    assert field in msg, msg
    return msg


def _read(root, videos=("v",), n_exp=50, subsample=1):
    return lambda: read_subject(root, list(videos), subsample, (SIZE, SIZE), n_exp=n_exp, progress=False)


def test_missing_flame_params(tmp_path):
    vdir = make_video(tmp_path, "v")
    (vdir / "flame_params.json").unlink()
    _expect(vdir / "flame_params.json", "flame_params.json", _read(tmp_path))
    _expect(tmp_path / "nope" / "flame_params.json", "flame_params.json", _read(tmp_path, ["nope"]))


def test_missing_and_extra_keys(tmp_path):
    vdir = make_video(tmp_path, "v")
    p = _edit_params(vdir, lambda o: o["frames"][1].pop("pose"))
    _expect(p, "frames[1].pose", _read(tmp_path))
    _edit_params(vdir, lambda o: o["frames"][1].update(pose=[0.0] * 15, trans=[0, 0, 0]))
    assert "unknown key" in _expect(p, "frames[1].trans", _read(tmp_path))
    _edit_params(vdir, lambda o: (o["frames"][1].pop("trans"), o.pop("intrinsics")))
    _expect(p, "intrinsics", _read(tmp_path))


def test_wrong_shapes(tmp_path):
    vdir = make_video(tmp_path, "v")
    p = _edit_params(vdir, lambda o: o["frames"][0].update(expression=[0.0] * 10))
    assert "n_exp=50" in _expect(p, "frames[0].expression", _read(tmp_path))
    _edit_params(vdir, lambda o: o["frames"][0].update(expression=[0.0] * 50, world_mat=[[1, 0, 0, 0], [0, 1, 0, 0]]))
    assert "3x4 or 4x4" in _expect(p, "frames[0].world_mat", _read(tmp_path))
    _edit_params(vdir, lambda o: o["frames"][0].update(world_mat=[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, -4]], pose=[0.0] * 6))
    _expect(p, "frames[0].pose", _read(tmp_path))
    _edit_params(vdir, lambda o: (o["frames"][0].update(pose=[0.0] * 15), o.update(intrinsics=[1.0, 2.0])))
    _expect(p, "intrinsics", _read(tmp_path))
    _edit_params(vdir, lambda o: o.update(intrinsics=[0.0, 2.0, 0.5, 0.5]))
    assert "non-zero" in _expect(p, "intrinsics", _read(tmp_path))


@pytest.mark.parametrize("field,value", [("pose", float("nan")), ("expression", float("inf")), ("bbox", float("-inf"))])
def test_non_finite_values(tmp_path, field, value):
    vdir = make_video(tmp_path, "v")

    def poison(o):
        o["frames"][2][field][1] = value

    p = _edit_params(vdir, poison)
    assert "NaN or inf" in _expect(p, f"frames[2].{field}", _read(tmp_path))


def test_missing_image_or_mask(tmp_path):
    vdir = make_video(tmp_path, "v")
    (vdir / "image" / "2.png").unlink()
    assert "frame 2" in _expect(vdir / "flame_params.json", "frames[1].file_path", _read(tmp_path))
    make_video(tmp_path, "w")
    (tmp_path / "w" / "mask" / "3.png").unlink()
    assert "frame 3" in _expect(tmp_path / "w" / "flame_params.json", "mask", _read(tmp_path, ["w"]))


def test_image_mask_size_mismatch(tmp_path):
    vdir = make_video(tmp_path, "v")
    Image.fromarray(np.zeros((SIZE, SIZE + 2), np.uint8), "L").save(vdir / "mask" / "2.png")
    assert "differs from image" in _expect(vdir / "mask" / "2.png", "mask", _read(tmp_path))


def test_corrupt_image(tmp_path):
    vdir = make_video(tmp_path, "v")
    (vdir / "image" / "3.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    assert "unreadable" in _expect(vdir / "image" / "3.png", "image", _read(tmp_path))


def test_empty_video_and_empty_selection(tmp_path):
    vdir = make_video(tmp_path, "v")
    p = _edit_params(vdir, lambda o: o.update(frames=[]))
    assert "empty video" in _expect(p, "frames", _read(tmp_path))
    make_video(tmp_path, "w", ks=(1, 2))
    _expect(tmp_path, "subsample", _read(tmp_path, ["w"], subsample=[7]))


def test_bad_file_path_and_duplicate_frames(tmp_path):
    vdir = make_video(tmp_path, "v")
    p = _edit_params(vdir, lambda o: o["frames"][0].update(file_path="./image/first"))
    _expect(p, "frames[0].file_path", _read(tmp_path))
    _edit_params(vdir, lambda o: o["frames"][0].update(file_path="../../image/1"))
    assert "relative to the video folder" in _expect(p, "frames[0].file_path", _read(tmp_path))
    _edit_params(vdir, lambda o: o["frames"][0].update(file_path="./image/2"))
    assert "appears twice" in _expect(p, "frames", _read(tmp_path))


def test_invalid_json(tmp_path):
    vdir = make_video(tmp_path, "v")
    (vdir / "flame_params.json").write_text("{not json")
    assert "not valid JSON" in _expect(vdir / "flame_params.json", "flame_params.json", _read(tmp_path))


def test_sixteen_bit_and_colour_masks(tmp_path):
    vdir = make_video(tmp_path, "v", ks=(1, 2))
    m16 = (_mask(1).astype(np.uint32) * 257).astype(np.uint16)  # same values, 16-bit
    Image.fromarray(m16).save(vdir / "mask" / "1.png")
    Image.fromarray(np.repeat(_mask(2)[..., None], 3, -1)).save(vdir / "mask" / "2.png")  # RGB grey
    s = read_subject(tmp_path, ["v"], 1, (SIZE, SIZE), n_exp=5, progress=False)
    for n, k in enumerate((1, 2)):
        m = _mask(k).astype(np.float64) / 255
        want = np.where(m < 0.5, 0, np.where(m > 0.99, 1, m))
        np.testing.assert_allclose(s.masks[n].astype(np.float64), want, atol=1e-3)


def test_max_frames_keeps_the_first_selected_frames_and_decodes_no_others(tmp_path):
    """`max_frames` truncates the selection (across videos, after subsample): the same frames and
    values as the full read's first ones; the frames past it are not even opened."""
    make_video(tmp_path, "a", ks=range(1, 4))
    make_video(tmp_path, "b", ks=range(1, 5))
    full = read_subject(tmp_path, ["a", "b"], [0, 2, 3], (SIZE, SIZE), n_exp=3, progress=False)
    part = read_subject(tmp_path, ["a", "b"], [0, 2, 3], (SIZE, SIZE), n_exp=3, progress=False, max_frames=3)
    assert full.frame.tolist() == [1, 3, 1, 3, 4] and part.frame.tolist() == [1, 3, 1]
    assert part.video == ["a", "a", "b"]
    np.testing.assert_array_equal(part.images, full.images[:3])
    np.testing.assert_array_equal(part.masks, full.masks[:3])
    np.testing.assert_array_equal(part.c2w, full.c2w[:3])
    np.testing.assert_array_equal(part.expression, full.expression[:3])
    (tmp_path / "b" / "image" / "4.png").write_bytes(b"not a png")  # past the cut: never decoded
    assert read_subject(tmp_path, ["a", "b"], [0, 2, 3], (SIZE, SIZE), n_exp=3, progress=False, max_frames=3).frame.tolist() == [1, 3, 1]
    assert len(read_subject(tmp_path, ["a"], 1, (SIZE, SIZE), n_exp=3, progress=False, max_frames=10).frame) == 3
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="max_frames"):
            read_subject(tmp_path, ["a"], 1, (SIZE, SIZE), n_exp=3, progress=False, max_frames=bad)


def test_imavatar_nested_root_gets_a_hint(tmp_path):
    make_video(tmp_path / "subj" / "subj", "MVI_1")
    msg = _expect(tmp_path / "subj" / "MVI_1" / "flame_params.json", "flame_params.json", _read(tmp_path / "subj", ["MVI_1"]))
    assert str(tmp_path / "subj" / "subj") in msg


def test_many_frames_load_in_order_with_threads(tmp_path):
    make_video(tmp_path, "v", ks=range(1, 41))
    s = read_subject(tmp_path, ["v"], 1, (SIZE, SIZE), n_exp=5, progress=False)
    assert s.frame.tolist() == list(range(1, 41))
    for n in (0, 17, 39):
        np.testing.assert_array_equal(s.images[n], _image(n + 1))


@pytest.mark.parametrize("thresholds", [(0.0, 1.0), (0.3, 0.9)])
def test_mask_thresholds_are_configurable(tmp_path, thresholds):
    """(0, 1) keeps an exact matte's soft values; other bounds clamp below/above them."""
    make_video(tmp_path, "v", ks=(1,))
    s = read_subject(tmp_path, ["v"], 1, (SIZE, SIZE), n_exp=5, progress=False, mask_thresholds=thresholds)
    m = _mask(1).astype(np.float64) / 255
    lo, hi = thresholds
    want = np.where(m < lo, 0, np.where(m > hi, 1, m))
    np.testing.assert_allclose(s.masks[0].astype(np.float64), want, atol=1e-3)
    if thresholds == (0.0, 1.0):
        assert np.any((s.masks[0] > 0.1) & (s.masks[0] < 0.5))  # the default would zero these
    with pytest.raises(ValueError, match="mask_thresholds"):
        read_subject(tmp_path, ["v"], 1, (SIZE, SIZE), n_exp=5, progress=False, mask_thresholds=(0.9, 0.2))
