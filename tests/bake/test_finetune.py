"""Stage 3 on a toy avatar: fine-tuning recovers textures from rendered frames."""

import numpy as np
import pytest
import torch
from accelerate import Accelerator

from bake.baked_render import BakedAvatar, fake_quantize, render_baked
from bake.config import BakeConfig
from bake.finetune import finetune_avatar
from bake.toy import toy_artifact

SIZE = 24


def _frames(avatar, n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    cam = avatar.meta["camera"]
    K = torch.tensor(cam["K"]) * torch.tensor([[SIZE / cam["width"]], [SIZE / cam["height"]], [1.0]])
    w2c = torch.tensor(cam["w2c"])
    expr = 0.5 * torch.randn(n, avatar.spec.n_exp, generator=g)
    pose = torch.zeros(n, 15)
    pose[:, 3:6] = 0.2 * torch.randn(n, 3, generator=g)
    pose[:, 6] = 0.2 * torch.rand(n, generator=g)
    with torch.no_grad():
        rgba = render_baked(avatar, expr, pose, K, w2c, SIZE, SIZE, "torch")
    return [{"rgb": rgba[i, ..., :3], "mask": rgba[i, ..., 3], "expression": expr[i], "pose": pose[i], "K": K, "w2c": w2c} for i in range(n)]


def test_fake_quantize_rounds_forward_and_passes_gradients():
    x = torch.tensor([0.0, 0.5 / 255, 0.51 / 255, 0.3, 1.2, -0.1], requires_grad=True)
    y = fake_quantize(x)
    assert torch.allclose(y, torch.tensor([0.0, 0.0, 1 / 255, round(0.3 * 255) / 255, 1.0, 0.0]))
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones(6))


def test_finetune_lowers_the_loss_and_recovers_textures():
    art = toy_artifact(n_layers=2, n_exp=3, texture_size=16, n_lat=8, n_lon=10, num_texture_basis=2, image_size=SIZE)
    target = BakedAvatar(art)
    data = _frames(target)
    avatar = BakedAvatar(art)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for t in avatar.textures:  # a corrupted bake: the colours are off by a lot
            t.copy_((t + 0.25 * torch.randn(t.shape, generator=g)).clamp(0, 1))
    err0 = sum((a - b).abs().mean() for a, b in zip(avatar.textures, target.textures))
    cfg = BakeConfig(finetune_batch=2, finetune_lr_texture=3e-2, finetune_lr_mlp=1e-4, raster_backend="torch", finetune_log_every=1000)
    res = finetune_avatar(avatar, data, cfg, Accelerator(cpu=True), iterations=25, progress=False)
    assert res.steps == 25 and len(res.losses) == 25
    first, last = np.mean(res.losses[:4]), np.mean(res.losses[-4:])
    assert last < 0.5 * first, (first, last)
    assert res.last_psnr > res.first_psnr + 3.0
    err1 = sum((a - b).abs().mean() for a, b in zip(avatar.textures, target.textures))
    assert err1 < err0
    assert all(float(t.detach().min()) >= 0.0 and float(t.detach().max()) <= 1.0 for t in avatar.textures)
    # the tuned avatar converts back to a valid uint8 artifact
    tuned = avatar.to_artifact(art, {"stage": "finetune"})
    from export.artifact import validate

    validate(tuned)
    assert (tuned.layers[0].arrays["radiance"][..., 3] == 255).all()


def test_first_and_last_psnr_compare_the_same_frames():
    # with nothing learned (learning rates 0) the reported first and last loss / PSNR must agree:
    # they are measured on the same fixed frames, not on each step's random batch (frames differ
    # by more than a short fine-tune gains; a first-batch vs last-batch PSNR could even fall)
    art = toy_artifact(n_layers=2, n_exp=3, texture_size=16, n_lat=8, n_lon=10, num_texture_basis=2, image_size=SIZE)
    data = _frames(BakedAvatar(art), n=8)
    avatar = BakedAvatar(art)
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for t in avatar.textures:
            t.copy_((t + 0.3 * torch.randn(t.shape, generator=g)).clamp(0, 1))
    cfg = BakeConfig(finetune_batch=1, finetune_lr_texture=0.0, finetune_lr_mlp=0.0, raster_backend="torch", finetune_log_every=1000)
    torch.manual_seed(0)
    res = finetune_avatar(avatar, data, cfg, Accelerator(cpu=True), iterations=6, progress=False, eval_frames=4)
    assert np.ptp(res.losses) > 1e-3  # the per-step batches do differ
    assert res.eval_frames == 4
    assert abs(res.last_psnr - res.first_psnr) < 1e-4, (res.first_psnr, res.last_psnr)
    assert abs(res.last_loss - res.first_loss) < 1e-6, (res.first_loss, res.last_loss)


def _mlp_tuned(art, data, **noise) -> BakedAvatar:
    """The toy avatar after 4 fine-tune steps that move only the per-frame MLP (textures' lr 0)."""
    avatar = BakedAvatar(art)
    cfg = BakeConfig(finetune_batch=2, finetune_lr_texture=0.0, finetune_lr_mlp=1e-2, raster_backend="torch",
                     finetune_log_every=1000, **noise)
    torch.manual_seed(0)
    finetune_avatar(avatar, data, cfg, Accelerator(cpu=True), iterations=4, progress=False, eval_frames=2)
    return avatar


def test_condition_noise_perturbs_only_the_per_frame_mlp_input():
    from bake.finetune import dataset_spread
    from train.shading import frame_condition

    art = toy_artifact(n_layers=2, n_exp=3, texture_size=16, n_lat=8, n_lon=10, num_texture_basis=2, image_size=SIZE)
    data = _frames(BakedAvatar(art), n=6)
    spread = dataset_spread(data, 3)
    stacked = frame_condition(torch.stack([d["expression"] for d in data]), torch.stack([d["pose"] for d in data]), 3)
    assert torch.allclose(spread, stacked.std(0))
    # the frames' own condition passed explicitly renders exactly what the default path renders
    av = BakedAvatar(art)
    d = data[0]
    with torch.no_grad():
        own = av(d["expression"][None], d["pose"][None], d["K"], d["w2c"], SIZE, SIZE, "torch")
        same = av(d["expression"][None], d["pose"][None], d["K"], d["w2c"], SIZE, SIZE, "torch",
                  shading_cond=stacked[:1])
    assert torch.equal(own, same)

    a, b, c = (_mlp_tuned(art, data, finetune_cond_noise=x) for x in (0.0, 0.0, 1.0))
    params = lambda m: torch.cat([p.detach().flatten() for p in m.frame_mlp.parameters()])
    assert torch.equal(params(a), params(b))  # deterministic without noise
    assert not torch.allclose(params(a), params(c))  # the noise reaches the MLP's updates
    assert all(torch.equal(x, y) for x, y in zip(a.textures, c.textures))  # textures frozen (lr 0) either way
    with pytest.raises(ValueError, match="finetune_cond_noise"):
        BakeConfig(finetune_cond_noise=-1.0).validate()


def test_view_noise_changes_only_the_shading_of_covered_pixels_and_reaches_the_updates():
    art = toy_artifact(n_layers=2, n_exp=3, texture_size=16, n_lat=8, n_lon=10, num_texture_basis=2, image_size=SIZE)
    data = _frames(BakedAvatar(art), n=6)
    av, d = BakedAvatar(art), data[0]
    args = (d["expression"][None], d["pose"][None], d["K"], d["w2c"], SIZE, SIZE, "torch")
    with torch.no_grad():
        own = av(*args)
        zero = av(*args, view_noise=torch.zeros(1, SIZE, SIZE, 3))
        g = torch.Generator().manual_seed(0)
        noisy = av(*args, view_noise=2.0 * torch.randn(1, SIZE, SIZE, 3, generator=g))
    assert torch.allclose(own, zero, atol=1e-6)
    covered = own[..., 3] > 0
    assert bool(covered.any()) and bool((~covered).any())
    assert torch.equal(noisy[~covered], own[~covered])  # background untouched
    assert torch.equal(noisy[..., 3] > 0, covered)  # the opaque layer's coverage does not read the view direction
    assert float((noisy[..., :3] - own[..., :3]).abs()[covered].max()) > 1e-3  # the shading does

    params = lambda m: torch.cat([p.detach().flatten() for p in m.frame_mlp.parameters()])  # noqa: E731
    assert not torch.allclose(params(_mlp_tuned(art, data)), params(_mlp_tuned(art, data, finetune_view_noise=0.5)))
    with pytest.raises(ValueError, match="finetune_view_noise"):
        BakeConfig(finetune_view_noise=-0.1).validate()
