"""The reference renderer against an independent evaluation of docs/formats.md's playback maths."""

import numpy as np
import pytest
import torch

from bake import lbs
from bake.baked_render import BakedAvatar, front_facing, render_artifact, render_baked
from bake.toy import toy_artifact, uv_sphere
from export.artifact import save_artifact
from train.shading import FrameMLP, ShadingSpec, frame_condition, shade


def _rot(r):
    """Independent Rodrigues (numpy, float64)."""
    a = np.linalg.norm(r + 1e-8)
    k = r / a
    X = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(a) * X + (1 - np.cos(a)) * X @ X


def _hom(R, t):
    M = np.eye(4)
    M[:3, :3], M[:3, 3] = R, t
    return M


def test_joint_transforms_match_hand_built_chain():
    rng = np.random.default_rng(1)
    J0 = rng.normal(size=(5, 3))
    JE = rng.normal(size=(5, 3, 3)) * 0.1
    psi = rng.normal(size=3)
    theta = rng.normal(size=15) * 0.4
    A, pf = lbs.joint_transforms(
        torch.tensor(J0), torch.tensor(JE), [-1, -1, 1, 2, 2, 2], torch.tensor(psi)[None], torch.tensor(theta)[None]
    )
    J = J0 + JE @ psi
    R = [_rot(theta[3 * j : 3 * j + 3]) for j in range(5)]
    G0 = _hom(R[0], J[0])
    G1 = G0 @ _hom(R[1], J[1] - J[0])
    G2 = G1 @ _hom(R[2], J[2] - J[1])
    G3 = G1 @ _hom(R[3], J[3] - J[1])
    G4 = G1 @ _hom(R[4], J[4] - J[1])
    want = [np.eye(4)] + [G @ _hom(np.eye(3), -J[j]) for j, G in enumerate([G0, G1, G2, G3, G4])]
    np.testing.assert_allclose(A[0].numpy(), np.stack(want), atol=1e-10)
    np.testing.assert_allclose(pf[0].numpy(), np.concatenate([(r - np.eye(3)).ravel() for r in R[1:]]), atol=1e-12)
    # zero pose and expression: every transform is the identity
    A0, pf0 = lbs.joint_transforms(torch.tensor(J0), torch.tensor(JE), [-1, 0, 1, 1, 1], torch.zeros(1, 3), torch.zeros(1, 15))
    np.testing.assert_allclose(A0[0].numpy(), np.broadcast_to(np.eye(4), (5, 4, 4)), atol=1e-7)
    assert pf0.abs().max() < 1e-7


def test_deform_inverse_round_trip():
    rng = np.random.default_rng(2)
    N, E = 50, 3
    x = torch.tensor(rng.normal(size=(N, 3)))
    eb = torch.tensor(rng.normal(size=(N, E, 3)) * 0.05)
    pb = torch.tensor(rng.normal(size=(N, 36, 3)) * 0.05)
    w = torch.softmax(torch.tensor(rng.normal(size=(N, 6)) * 3), -1)
    psi = torch.tensor(rng.normal(size=(2, E)))
    A, pf = lbs.joint_transforms(torch.tensor(rng.normal(size=(5, 3))), torch.zeros(5, 3, E), [-1, -1, 1, 2, 2, 2], psi, torch.tensor(rng.normal(size=(2, 15)) * 0.3))
    xd, _ = lbs.deform_layer(x, x, eb, pb, w, A, pf, psi)
    back = lbs.inverse_points(xd, eb, pb, w, A, pf, psi)
    torch.testing.assert_close(back, x.expand(2, -1, -1), atol=1e-10, rtol=0)


def _bilinear_clamp(tex, u, v):
    """tex (H, W, C) -> value at (u, v); texel centres at (j + .5)/W, (i + .5)/H; clamp to edge."""
    H, W, _ = tex.shape
    x = np.clip(u * W - 0.5, 0, W - 1)
    y = np.clip(v * H - 0.5, 0, H - 1)
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    x1, y1 = min(x0 + 1, W - 1), min(y0 + 1, H - 1)
    fx, fy = x - x0, y - y0
    top = tex[y0, x0] * (1 - fx) + tex[y0, x1] * fx
    bot = tex[y1, x0] * (1 - fx) + tex[y1, x1] * fx
    return top * (1 - fy) + bot * fy


def _ray_cast_reference(art, psi, theta, size):
    """Independent per-pixel evaluation: ray/triangle intersection in numpy, formats.md shading."""
    cam = art.meta["camera"]
    K, w2c = np.array(cam["K"]), np.array(cam["w2c"])
    c = -w2c[:3, :3].T @ w2c[:3, 3]
    A, pf = lbs.joint_transforms(
        torch.tensor(art.joints_template, dtype=torch.float64), torch.tensor(art.joints_expr_basis, dtype=torch.float64),
        art.meta["parents"], torch.tensor(psi)[None], torch.tensor(theta)[None],
    )
    spec = ShadingSpec.from_json(art.meta["shading"])
    mlp = FrameMLP(spec).double()
    mlp.load_state_dict({k: torch.tensor(v) for k, v in art.frame_mlp.items()})
    with torch.no_grad():
        ts = mlp(frame_condition(torch.tensor(psi)[None], torch.tensor(theta)[None], spec.n_exp))
    rows, cols = np.mgrid[0:size, 0:size] + 0.5
    dirs = np.stack([-(cols - K[0, 2]) / K[0, 0], -(rows - K[1, 2]) / K[1, 1], -np.ones_like(rows)], -1) @ w2c[:3, :3]
    dirs = dirs.reshape(-1, 3)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    colour = np.ones((size * size, 3))
    covered = np.zeros(size * size, bool)
    for li, layer in enumerate(art.layers):
        t = lambda k: torch.tensor(layer.arrays[k], dtype=torch.float64)  # noqa: E731
        xd, nd = lbs.deform_layer(t("vertices"), t("normals"), t("expr_basis"), t("pose_basis"), t("skin_weights"), A, pf, torch.tensor(psi)[None])
        xd, nd = xd[0].numpy(), nd[0].numpy()
        f = layer.arrays["faces"]
        p0, p1, p2 = xd[f[:, 0]], xd[f[:, 1]], xd[f[:, 2]]
        front = (np.cross(p1 - p0, p2 - p0) * (c - p0)).sum(1) > 0
        f, p0, p1, p2 = f[front], p0[front], p1[front], p2[front]
        # Moeller-Trumbore for all (pixel, triangle) pairs
        e1, e2 = p1 - p0, p2 - p0
        h = np.cross(dirs[:, None], e2[None])
        det = (e1[None] * h).sum(-1)
        s = c - p0
        inv = 1.0 / np.where(np.abs(det) < 1e-12, np.nan, det)
        b1 = (s[None] * h).sum(-1) * inv
        q = np.cross(s, e1)
        b2 = (dirs[:, None] * q[None]).sum(-1) * inv
        tt = (e2[None] * q[None]).sum(-1) * inv
        hit = (b1 >= 0) & (b2 >= 0) & (b1 + b2 <= 1) & (tt > 0)
        tt = np.where(hit, tt, np.inf)
        best = tt.argmin(1)
        any_hit = np.isfinite(tt.min(1))
        tex = np.concatenate([layer.arrays["pos_texture"] / 255.0, layer.arrays["radiance"].transpose(1, 2, 0, 3).reshape(*layer.arrays["pos_texture"].shape[:2], -1) / 255.0], -1)
        for pix in np.nonzero(any_hit)[0]:
            k = best[pix]
            w1, w2 = b1[pix, k], b2[pix, k]
            bary = np.array([1 - w1 - w2, w1, w2])
            tri = f[k]
            uv = bary @ layer.arrays["uvs"][tri]
            n = bary @ nd[tri]
            n /= np.linalg.norm(n)
            p = bary @ xd[tri]
            v = (p - c) / np.linalg.norm(p - c)
            smp = _bilinear_clamp(tex, uv[0], uv[1])
            D = spec.dim_pos_feature
            rgba = shade(
                torch.tensor(smp[:D])[None, None], torch.tensor(n)[None, None], torch.tensor(v)[None, None],
                torch.tensor(smp[D:]).reshape(1, 1, -1, 4), ts, spec,
            )[0, 0].numpy()
            a = 1.0 if li == 0 else rgba[3]
            colour[pix] = a * rgba[:3] + (1 - a) * colour[pix]
            covered[pix] = True
    return colour.reshape(size, size, 3), covered.reshape(size, size)


@pytest.mark.parametrize("frame", [0, 3])
def test_render_matches_independent_ray_cast(frame):
    size = 40
    art = toy_artifact(n_layers=2, n_exp=3, texture_size=16, n_lat=8, n_lon=10, image_size=size)
    seq = art.sequences["train"]
    psi, theta = seq["expression"][frame].astype(np.float64), seq["pose"][frame].astype(np.float64)
    cam = art.meta["camera"]
    img = render_artifact(art, psi, theta, cam["K"], cam["w2c"], size, size, backend="torch")[0].numpy()
    want, covered = _ray_cast_reference(art, psi, theta, size)
    cov = img[..., 3] > 0
    # coverage may differ only on silhouette pixels whose centre lies (numerically) on an edge
    assert covered.sum() > 300
    assert (cov != covered).sum() <= 0.02 * covered.sum()
    both = cov & covered
    err = np.abs(img[..., :3] - want)[both]
    # interior pixels: float32 vs float64 evaluation of the same maths, measured max ~1e-5
    assert np.quantile(err, 0.99) < 1e-3, np.quantile(err, 0.99)
    assert np.all(img[~cov][..., :3] == 1.0)


def test_constant_textures_give_exact_colours_and_over_blending():
    art = toy_artifact(n_layers=2, n_exp=2, texture_size=8, num_texture_basis=2, image_size=48)
    inner, outer = np.array([0.2, 0.4, 0.6]), np.array([1.0, 0.0, 0.0])
    for layer, col, alpha in ((art.layers[0], inner, 0.0), (art.layers[1], outer, 128 / 255)):
        rad = layer.arrays["radiance"]
        rad[..., :3] = np.rint(col * 255).astype(np.uint8)
        rad[..., 3] = np.uint8(round(alpha * 255))
    cam = art.meta["camera"]
    full = render_artifact(art, np.zeros(2), np.zeros(15), cam["K"], cam["w2c"], 48, 48, backend="torch")[0].numpy()
    av = BakedAvatar(art)
    only_inner = render_baked(av, torch.zeros(1, 2), torch.zeros(1, 15), torch.tensor(cam["K"]), torch.tensor(cam["w2c"]), 48, 48, "torch", n_layers=1)[0].detach().numpy()
    cin = only_inner[..., 3] > 0
    # layer 0 alpha is forced to 1 even though its texture alpha is 0
    np.testing.assert_allclose(only_inner[cin][:, :3], np.broadcast_to(inner, (cin.sum(), 3)), atol=1e-6)
    a = 128 / 255
    np.testing.assert_allclose(full[cin][:, :3], np.broadcast_to(a * outer + (1 - a) * inner, (cin.sum(), 3)), atol=1e-5)
    assert np.abs(full[cin][:, 3] - 1.0).max() < 1e-6
    ring = (full[..., 3] > 0) & ~cin  # only the outer shell covers these pixels
    assert ring.sum() > 10
    np.testing.assert_allclose(full[ring][:, :3], np.broadcast_to(a * outer + (1 - a), (ring.sum(), 3)), atol=1e-5)
    assert np.abs(full[ring][:, 3] - a).max() < 1e-6


def test_front_facing_and_winding_of_toy_sphere():
    v, f, _, _ = uv_sphere(8, 12)
    cam = torch.tensor([0.0, 0.0, 4.0])
    ff = front_facing(torch.tensor(v), torch.tensor(f).long(), cam)
    centroids = v[f].mean(1)
    # exactly the triangles on the camera side of the silhouette face the camera
    assert ff.numpy()[centroids[:, 2] > 0.15].all()
    assert not ff.numpy()[centroids[:, 2] < -0.15].any()
    assert not front_facing(torch.tensor(v), torch.tensor(f[:, ::-1].copy()).long(), cam).numpy()[centroids[:, 2] > 0.15].any()


def test_batch_folder_and_tensors_dict_agree(tmp_path):
    art = toy_artifact(n_layers=2, n_exp=3, texture_size=8, n_lat=6, n_lon=8, image_size=24)
    seq = art.sequences["train"]
    cam = art.meta["camera"]
    args = (cam["K"], cam["w2c"], 24, 24)
    batch = render_artifact(art, seq["expression"][:2], seq["pose"][:2], *args, backend="torch")
    single = render_artifact(art, seq["expression"][1], seq["pose"][1], *args, backend="torch")
    torch.testing.assert_close(batch[1:], single)
    folder = save_artifact(art, tmp_path / "baked")
    torch.testing.assert_close(render_artifact(folder, seq["expression"][:2], seq["pose"][:2], *args, backend="torch"), batch)
    from safetensors.numpy import load_file
    import json

    d = dict(load_file(str(folder / "avatar.safetensors")))
    d["meta"] = json.loads((folder / "avatar.json").read_text())
    torch.testing.assert_close(render_artifact(d, seq["expression"][:2], seq["pose"][:2], *args, backend="torch"), batch)


def test_gradients_reach_textures_and_frame_mlp():
    art = toy_artifact(n_layers=2, n_exp=2, texture_size=8, n_lat=6, n_lon=8, image_size=24)
    av = BakedAvatar(art)
    cam = art.meta["camera"]
    out = render_baked(av, torch.zeros(1, 2), torch.zeros(1, 15), torch.tensor(cam["K"]), torch.tensor(cam["w2c"]), 24, 24, "torch")
    out[..., :3].sum().backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in av.textures)
    assert av.frame_mlp.out.weight.grad.abs().sum() > 0


def test_bad_expression_shape_is_reported():
    art = toy_artifact(n_exp=3, image_size=16, n_lat=4, n_lon=6, texture_size=4)
    cam = art.meta["camera"]
    with pytest.raises(ValueError, match="expression must have shape"):
        render_artifact(art, np.zeros((1, 2)), np.zeros((1, 15)), cam["K"], cam["w2c"], 16, 16, backend="torch")


def test_toy_artifact_is_valid_and_round_trips(tmp_path):
    from export.artifact import load_artifact, validate

    art = toy_artifact(n_layers=3, n_exp=5, texture_size=8)
    validate(art)
    back = load_artifact(save_artifact(art, tmp_path / "toy"))
    assert [l.name for l in back.layers] == ["layer0", "layer1", "layer2"]
    assert back.meta["parents"] == [-1, -1, 1, 2, 2, 2] and back.n_joints == 6
    np.testing.assert_array_equal(back.layers[2].arrays["radiance"], art.layers[2].arrays["radiance"])


def test_camera_inside_every_shell_sees_nothing():
    """All faces point away from a camera at the centre (back-face culling): background only."""
    art = toy_artifact(n_layers=2, n_exp=2, texture_size=4, n_lat=4, n_lon=6, image_size=16)
    K = art.meta["camera"]["K"]
    img = render_artifact(art, np.zeros(2), np.zeros(15), K, np.eye(4), 16, 16, backend="torch")[0].numpy()
    assert np.all(img[..., :3] == 1.0) and np.all(img[..., 3] == 0.0)


def test_baked_normal_blendshapes_play_back_stage_1_normals(tmp_path):
    """Stage 1 with `model.normal_blendshapes` and its bake shade with the same normals: the baked
    vertex attributes deformed for a new frame give the renderer's normal at those points."""
    from bake.attributes import vertex_attributes
    from export.artifact import ArtifactError, load_artifact, validate
    from export.writer import export_glb
    from train.config import load_config
    from train.model import AvatarModel, build_flame
    from train.render.warp import blend, deformed_normals

    torch.manual_seed(0)
    cfg = load_config("configs/tiny.yaml", ["model.normal_blendshapes=true"])
    flame = build_flame(cfg, "cpu")
    model = AvatarModel(cfg, flame, torch.linspace(-0.3, 0.3, cfg.data.n_exp)).eval()
    x = model.canonical_vertices[::7]
    attrs = vertex_attributes(model, x)
    assert attrs["normal_expr"].shape == (len(x), cfg.data.n_exp, 3) and attrs["normal_pose"].shape == (len(x), 36, 3)
    np.testing.assert_allclose(np.linalg.norm(attrs["normals"], axis=1), 1.0, atol=1e-5)

    g = torch.Generator().manual_seed(2)
    e = (torch.rand(1, cfg.data.n_exp, generator=g) - 0.5) * 3
    p = torch.zeros(1, 15)
    p[0, 3:7] = torch.tensor([0.1, -0.2, 0.05, 0.3])
    with torch.no_grad():
        fs, _, _ = model.frame_state(e, p)
        xb = x[None]
        _, w = model.deform_field.frame_warp(xb, fs.volumes, fs.detail_volumes)
        r_c, _ = blend(w, fs.canonical_transforms[None])
        r_d, _ = blend(w, fs.transforms)
        n_c = model.manifold_field.gradient(x, cfg.model.fd_eps)[None]
        delta = model.normal_field.delta(model.deform_field, xb, fs.normal_volumes, fs.normal_detail_volumes)
        stage1 = deformed_normals(n_c, r_c, r_d, delta)[0]
        plain = deformed_normals(n_c, r_c, r_d)[0]
        t = {k: torch.from_numpy(v) for k, v in attrs.items()}
        pf = model.flame(e, p).pose_feature
        _, baked = lbs.deform_layer(t["vertices"], t["normals"], t["expr_basis"], t["pose_basis"], t["skin_weights"],
                                fs.transforms, pf, e, t["normal_expr"], t["normal_pose"])
    angle = lambda a, b: torch.rad2deg(torch.acos((a * b).sum(-1).clamp(-1, 1)))  # noqa: E731
    assert angle(baked[0], stage1).max() < 0.05  # degrees: the bake plays stage 1's normals back
    assert angle(plain, stage1).mean() > 0.5  # and they are not the skinning-only normals

    # the artifact carries both arrays or neither, in every layer or none (one set of morph targets)
    art = toy_artifact(n_layers=2)
    V, E = art.layers[0].arrays["vertices"].shape[0], art.n_exp
    art.layers[0].arrays["normal_expr"] = np.zeros((V, E, 3), np.float32)
    with pytest.raises(ArtifactError, match="normal_expr without normal_pose"):
        validate(art)
    art.layers[0].arrays["normal_pose"] = np.zeros((V, 36, 3), np.float32)
    back = load_artifact(save_artifact(art, tmp_path / "nb"))
    assert back.layers[0].arrays["normal_pose"].shape == (V, 36, 3)
    with pytest.raises(ArtifactError, match=r"layers \[0\] carry normal blendshapes"):
        export_glb(back, tmp_path / "nb.glb", progress=False)
    assert not (tmp_path / "nb.glb").exists()
