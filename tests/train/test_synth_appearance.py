"""Units of the synthetic subject: motion, noise, hair shells, and appearance effects seen in
renders (wrinkles follow the brow raise, the iris follows the eye joints, teeth appear with the
jaw, hair edges are translucent, the specular term depends on the view)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from train.config import load_config
from train.flame.lbs import rodrigues
from train.synth.config import SynthConfig
from train.synth.motion import make_motion
from train.synth.noise import ValueNoise
from train.synth.render import SubjectRenderer
from train.synth.subject import load_model
from train.synth.writer import camera, pixel_camera

RES = 96


@pytest.fixture(scope="module")
def setup():
    cfg = load_config("configs/tiny.yaml", [f"synth.resolution={RES}", "synth.supersample=1"])
    model = load_model(cfg)
    return cfg, model, SubjectRenderer(model, cfg.synth)


def _render(setup, expr=None, pose=None, cam_t=None):
    cfg, model, r = setup
    e = torch.zeros(1, model.n_exp) if expr is None else expr
    p = torch.zeros(1, 15) if pose is None else pose
    intr, wm = camera(cfg.synth.focal, cfg.synth.camera_translation if cam_t is None else cam_t)
    K, w2c = pixel_camera(intr, wm, RES)
    return r.render(e, p, K, w2c)


def test_motion_is_seeded_smooth_and_in_range():
    cfg = SynthConfig()
    names = ["jaw_open", "smile", "brow_raise", "blink_left", "blink_right"]
    a = make_motion(cfg, 300, names, "train")
    b = make_motion(cfg, 300, names, "train")
    c = make_motion(SynthConfig(seed=1), 300, names, "train")
    assert np.array_equal(a.pose, b.pose) and np.array_equal(a.expression, b.expression)
    assert not np.allclose(a.pose, c.pose)
    head = a.pose[:, 0:6]
    assert np.abs(np.diff(head, axis=0)).max() < 0.03  # rad per frame at 25 fps: smooth
    assert a.pose[:, 6].min() >= 0 and abs(a.pose[:, 6].max() - cfg.jaw_open) < 1e-6  # jaw reaches its maximum
    assert np.array_equal(a.expression[:, 3], a.expression[:, 4])  # both eyes blink together
    assert np.abs(a.pose[:, 10]).max() == pytest.approx(cfg.gaze[1], rel=1e-5)
    t = make_motion(cfg, 300, names, "test")
    assert np.abs(t.pose[:, 10]).max() == pytest.approx(cfg.gaze[1] * cfg.test_scale, rel=1e-5)
    padded = make_motion(cfg, 50, names + ["unused_5", "unused_6"], "train")
    assert np.array_equal(padded.expression[:, :5], make_motion(cfg, 50, names, "train").expression)
    assert not padded.expression[:, 5:].any()  # components without a shape stay zero
    with pytest.raises(ValueError, match="split must be one of"):
        make_motion(cfg, 10, names, "val")


def test_noise_range_continuity_and_seed():
    n = ValueNoise(3)
    p = torch.rand(5000, 3) * 10
    v = n(p, 7.0)
    assert 0.0 <= float(v.min()) and float(v.max()) <= 1.0 and 0.4 < float(v.mean()) < 0.6
    line = torch.linspace(0, 3, 30001)[:, None] * torch.tensor([[1.0, 0.4, 0.7]])
    steps = (n(line, 64.0)[1:] - n(line, 64.0)[:-1]).abs()
    assert float(steps.max()) < 0.02  # continuous, also across the lattice's wrap-around
    assert not torch.allclose(ValueNoise(4)(p, 7.0), v)


def test_hair_shells_follow_the_scalp(setup):
    cfg, model, r = setup
    sh = r.shells
    assert sh.n_shells == cfg.synth.hair_shells and sh.faces.shape[0] > 100
    assert float(sh.edge.min()) == 0.0 and float(sh.edge.max()) == 1.0
    pose = torch.zeros(1, 15)
    out = model(torch.zeros(1, model.n_exp), pose)
    for i in range(sh.n_shells):  # rest pose: exactly the offset copy of the scalp
        torch.testing.assert_close(sh.deform(out.vertices, out.transforms, model.skin_weights, i)[0], sh.original(model.v_template, i))
    pose[0, 0:3] = torch.tensor([0.2, 0.5, -0.1])  # the root turns everything rigidly
    out = model(torch.zeros(1, model.n_exp), pose)
    R = rodrigues(pose[:, 0:3])[0]
    for i in range(sh.n_shells):
        d = sh.deform(out.vertices, out.transforms, model.skin_weights, i)[0] - out.vertices[0, sh.vertex_index]
        torch.testing.assert_close(d, sh.offsets[i] * sh.normals @ R.T, atol=1e-5, rtol=0)


def test_wrinkles_follow_the_brow_raise(setup):
    cfg, model, r = setup
    brow = model.expression_names.index("brow_raise")
    e0 = torch.zeros(1, model.n_exp)
    e1 = e0.clone()
    e1[0, brow] = 1.0
    a = _render(setup, e0).image[0]
    b = _render(setup, e1).image[0]
    # the forehead darkens in lines, above the eyes
    diff = (a - b).mean(-1)  # positive where the raised-brow frame is darker
    assert float(diff.max()) > 0.1, "no wrinkles at full brow raise"
    rows = torch.nonzero(diff > 0.05)[:, 0].float()
    assert rows.numel() > 10
    centre_row = float(rows.mean())
    eye_row = float(torch.nonzero(_eye_mask(setup, e0))[:, 0].float().mean())
    assert centre_row < eye_row, "wrinkles must be above the eyes"


def _eye_mask(setup, expr, pose=None):
    """Head pixels with the iris's blue-green colour (skin, lips, brows and hair are all reddish)."""
    out = _render(setup, expr, pose)
    img = out.image[0]
    return (out.head_alpha[0] > 0.99) & (img[..., 2] > img[..., 0] + 0.05)


def test_iris_moves_with_the_eye_joints(setup):
    cfg, model, r = setup
    e = torch.zeros(1, model.n_exp)
    left, right = torch.zeros(1, 15), torch.zeros(1, 15)
    left[0, [10, 13]] = -0.35
    right[0, [10, 13]] = 0.35
    ml, mr = _eye_mask(setup, e, left), _eye_mask(setup, e, right)
    cl = torch.nonzero(ml)[:, 1].float().mean()
    cr = torch.nonzero(mr)[:, 1].float().mean()
    # rotating the eyes about +y turns the gaze towards +x (subject's left = image right, fx < 0)
    assert float(cr - cl) > 2.0, (float(cl), float(cr))


def test_jaw_reveals_the_mouth_interior(setup):
    cfg, model, r = setup
    e = torch.zeros(1, model.n_exp)
    closed = _render(setup, e).image[0]
    pose = torch.zeros(1, 15)
    pose[0, 6] = 0.35
    opened = _render(setup, e, pose).image[0]
    dark_red = lambda im: (im[..., 0] > 0.12) & (im[..., 0] > 2.0 * im[..., 1]) & (im.sum(-1) < 0.9)  # noqa: E731
    white = lambda im: (im.min(-1).values > 0.7)  # noqa: E731
    assert int(dark_red(opened).sum()) > int(dark_red(closed).sum()) + 10
    assert int(white(opened).sum()) > int(white(closed).sum())


def test_hair_edges_are_translucent(setup):
    out = _render(setup)
    a = out.alpha[0]
    top = a[: RES // 3]
    soft = (top > 0.05) & (top < 0.95)
    assert int(soft.sum()) > 20, "the hair shells must give a translucent fringe"
    assert torch.all(out.alpha[0][out.head_alpha[0] > 0.99] == 1.0)


def test_specular_is_view_dependent():
    from train.synth.appearance import shade

    n = torch.tensor([[0.0, 0.0, 1.0]]).expand(2, 3)
    light = torch.tensor([0.45, 0.55, 1.0])
    light = light / light.norm()
    mirror = light * torch.tensor([1.0, 1.0, -1.0])  # camera -> point along the reflected light: the highlight
    views = torch.stack([mirror, torch.tensor([0.6, 0.0, -0.8])])
    c = shade(torch.full((2, 3), 0.5), n, views, light, torch.full((2,), 0.35), torch.full((2,), 24.0))
    assert float(c[0].mean() - c[1].mean()) > 0.1


def test_stored_straight_colour_composites_to_the_exact_render_over_any_background():
    # the image file holds straight colour: with the exact alpha, compositing it over white must give
    # the render over a white background, which the camera-view image over the blue background cannot
    base = load_config("configs/tiny.yaml", [f"synth.resolution={RES}", "synth.supersample=1"])
    white = load_config("configs/tiny.yaml", [f"synth.resolution={RES}", "synth.supersample=1",
                                               "synth.background_top=[1.0,1.0,1.0]", "synth.background_bottom=[1.0,1.0,1.0]"])
    model = load_model(base)
    pose = torch.zeros(1, 15)
    pose[0, 4] = 0.4  # a turned head: the hair edge is translucent against the background
    outs = []
    for cfg in (base, white):
        intr, wm = camera(cfg.synth.focal, cfg.synth.camera_translation)
        K, w2c = pixel_camera(intr, wm, RES)
        outs.append(SubjectRenderer(model, cfg.synth).render(torch.zeros(1, model.n_exp), pose, K, w2c))
    blue, over_white = outs
    a = blue.alpha[0][..., None]
    translucent = (blue.alpha[0] > 0.05) & (blue.alpha[0] < 0.95)
    assert int(translucent.sum()) > 20
    assert torch.allclose(blue.straight[0] * a + (1 - a), over_white.image[0], atol=1e-5)
    assert torch.allclose(over_white.straight[0] * a + (1 - a), over_white.image[0], atol=1e-5)  # independent of the background
    leak = (blue.image[0] * a + (1 - a) - over_white.image[0]).abs()[translucent]
    assert float(leak.max()) > 0.02  # the old file contents: background bleeds into translucent pixels
    assert torch.equal(blue.straight[0][blue.alpha[0] == 0], blue.image[0][blue.alpha[0] == 0])  # background kept
