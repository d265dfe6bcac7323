"""Stage-1 training loop on Accelerate (CPU, one GPU, or DDP with `accelerate launch --multi_gpu`).

Determinism and exact resume: every random draw of a step (frames, pixels, ray jitter, eikonal
points, prior subsampling) comes from a generator seeded by (seed, process index, step), so a
resumed run replays exactly the draws an uninterrupted run makes; the checkpoint holds model,
optimiser, scheduler and torch RNG states and the step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from train.checkpoint import load_checkpoint, load_for_resume, rng_state, save_checkpoint, set_rng_state
from train.config import HeadbakeConfig, save_config
from train.configlib import to_dict
from train.conventions import pixel_rays
from train.losses import compute_losses
from train.model import CHECKPOINT_NAME, CONFIG_NAME, AvatarModel, build_flame, render_frames
from train.render.rays import pixel_centres
from train.render.frames import Frames, load_frames
from train.render.preview import save_preview
from train.shading import condition_spread, noisy_frame_condition


class TrainingStopped(RuntimeError):
    """Training stopped early (non-finite loss); the last good checkpoint is kept."""


@dataclass
class TrainResult:
    steps: int
    seconds: float
    it_per_s: float
    first_loss: float
    last_loss: float
    first_psnr: float
    last_psnr: float
    checkpoint: Path
    history: list[tuple[float, float]]  # (loss, train-ray PSNR) per step of this run


def step_generator(seed: int, rank: int, step: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed((seed * 1_000_003 + rank * 7_919 + step * 104_729) % (2**63 - 1))
    return g


def gaussian_noise(std: float, shape: tuple[int, ...], g: torch.Generator, device) -> Tensor | None:
    """`std` x standard normal noise of `shape` from the step generator (on `device`); None for std 0."""
    return std * torch.randn(shape, generator=g).to(device) if std > 0 else None


def lr_factor(step: int, tcfg) -> float:
    """Linear warm-up, then exponential decay to `lr_final_ratio` at the last step."""
    warm = min(1.0, (step + 1) / max(1, tcfg.warmup_steps))
    frac = min(1.0, step / max(1, tcfg.iterations))
    return warm * (tcfg.lr_final_ratio ** frac)


def param_groups(model: AvatarModel, tc) -> list[dict]:
    """Adam groups: manifold (lr_geometry; its dense base grid lr_geometry * lr_manifold_base_scale),
    deformation residual (lr_deform), the rest (lr), and with `train.optimize_inputs` a fifth for the
    per-frame input corrections (lr_inputs)."""
    base, geo, deform, rest, inputs = [], [], [], [], []
    for name, p in model.named_parameters():
        if name.startswith("flame.") or not p.requires_grad:
            continue
        if name == "manifold_field.base":
            base.append(p)
        elif name.startswith("frame_inputs."):
            inputs.append(p)
        else:
            (geo if name.startswith("manifold_field.") else deform if name.startswith("deform_field.") else rest).append(p)
    groups = [{"params": geo, "lr": tc.lr_geometry}, {"params": deform, "lr": tc.lr_deform},
              {"params": rest, "lr": tc.lr}, {"params": base, "lr": tc.lr_geometry * tc.lr_manifold_base_scale}]
    return groups + ([{"params": inputs, "lr": tc.lr_inputs}] if inputs else [])


def sample_batch(frames: Frames, ids: torch.Tensor, cfg: HeadbakeConfig, g: torch.Generator, device) -> dict:
    """Pick `batch_images` frames of this process's shard and `rays_per_image` pixels of each."""
    tc = cfg.train
    pick = ids[torch.randint(0, ids.numel(), (tc.batch_images,), generator=g)]
    h, w = frames.height, frames.width
    n = tc.rays_per_image
    n_u, n_b = n - n // 2, n // 2
    idx_u = torch.randint(0, h * w, (tc.batch_images, n_u), generator=g)
    box = frames.mask_bbox[pick]  # (B, 4) x0, y0, x1, y1 (exclusive)
    ry = box[:, 1:2] + (torch.rand(tc.batch_images, n_b, generator=g) * (box[:, 3:4] - box[:, 1:2])).long()
    rx = box[:, 0:1] + (torch.rand(tc.batch_images, n_b, generator=g) * (box[:, 2:3] - box[:, 0:1])).long()
    idx = torch.cat([idx_u, ry * w + rx], dim=1).to(device)
    pick_d = pick.to(device)
    rgb = frames.rgb_at(pick_d, idx)
    mask = frames.mask_at(pick_d, idx)
    uv = pixel_centres(idx, w)
    o, d = pixel_rays(frames.K[pick_d], frames.c2w[pick_d], uv)
    jitter = torch.rand(tc.batch_images, n, cfg.model.ray_samples, generator=g).to(device)
    return {"o": o, "d": d, "rgb": rgb, "mask": mask, "expression": frames.expression[pick_d],
            "pose": frames.pose[pick_d], "jitter": jitter, "frames": pick}


def regulariser_inputs(model, batch: dict, tc, g: torch.Generator) -> dict:
    """The `extras` a training step passes the model (`AvatarModel.regularisers`): the batch's
    mask, eikonal points drawn uniformly in the fields' box from `g`, the prior settings."""
    lo, hi = model.bbox_lo, model.bbox_hi
    eik = lo + torch.rand(tc.eikonal_points, 3, generator=g).to(lo.device) * (hi - lo)
    return dict(gt_mask=batch["mask"], eikonal_points=eik, prior_max=4096, prior_dist2=tc.prior_dist2, prior_gen=g)


@torch.no_grad()
def pin_layers(model: AvatarModel, frames: Frames, cfg: HeadbakeConfig, say) -> None:
    """`model.manifold_pin: sweep`: find the translucent layers in the training images and pin the
    manifold's levels to them (`train.depth_sweep.layer_pin`, `train.fields.pin`)."""
    from train.depth_sweep import layer_pin
    from train.fields.pin import pin_volume

    bar = (lambda it: tqdm(it, desc="layer sweep", leave=False, dynamic_ncols=True))
    found = layer_pin(model, frames, cfg.train, progress=bar)
    if found.offsets.numel() == 0:
        say("stage 1: manifold pin: the training images show no translucent layers; the levels are all learnt")
        return
    lo, hi = model.bbox()
    model.manifold_field.pin.copy_(pin_volume(model.canonical_vertices, model.flame.faces, lo, hi, cfg.model.manifold_pin_res,
                                              found.offsets, model.levels, found.anchors, found.weight)[None])
    share = float((found.weight > 0.5).float().mean())  # the anchors are area-uniform surface samples
    say(f"stage 1: manifold pin: {found.offsets.numel()} layers at {[round(float(o), 4) for o in found.offsets]} off the "
        f"surface over {100 * share:.0f}% of it (training images' sweep)")


def train(cfg: HeadbakeConfig, resume: bool = False, accelerator=None, max_steps: int | None = None) -> TrainResult:
    """Run stage 1 for `cfg` (up to `cfg.train.iterations`, or stop after `max_steps` more steps)."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    tc = cfg.train
    tdir = cfg.workpath / "train"
    ckpt_path = tdir / CHECKPOINT_NAME
    if accelerator is None:
        from accelerate.utils import is_tensorboard_available

        accelerator = Accelerator(
            mixed_precision=tc.mixed_precision, project_dir=str(tdir),
            log_with="tensorboard" if is_tensorboard_available() else None,
            kwargs_handlers=[DistributedDataParallelKwargs(broadcast_buffers=False)])
    dev = accelerator.device
    rank, world = accelerator.process_index, accelerator.num_processes
    main = accelerator.is_main_process

    # data first: a malformed dataset fails here, before any training
    frames = load_frames(cfg, cfg.data.train_videos, cfg.data.train_subsample, dev)
    ids = torch.arange(frames.n)[rank::world]
    if ids.numel() == 0:
        raise ValueError(f"{cfg.data.root}: {frames.n} training frame(s) cannot be sharded over {world} processes")

    torch.manual_seed(cfg.seed)
    ckpt = None
    if resume:
        if not ckpt_path.is_file():
            raise FileNotFoundError(f"{ckpt_path}: nothing to resume from")
        ckpt = load_checkpoint(ckpt_path)
        can_expr = ckpt["model"]["canonical_expression"]
    else:
        can_expr = frames.expression.mean(0).cpu()
    flame = build_flame(cfg, dev, shape_params=frames.shape_params)
    model = AvatarModel(cfg, flame, can_expr.to(dev), init_fields=ckpt is None, n_train_frames=frames.n)
    groups = param_groups(model, tc)
    params = [p for g_ in groups for p in g_["params"]]
    opt = torch.optim.Adam(groups, lr=tc.lr, betas=(0.9, 0.99), eps=1e-15)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, tc))
    start = 0
    if ckpt is not None:
        load_for_resume(model, ckpt, ckpt_path, to_dict(cfg), tdir / CONFIG_NAME)
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        set_rng_state(ckpt["rng"])
        start = int(ckpt["step"])
    layer_targets = None
    if tc.w_layer_depth > 0:  # computed once per run and kept in the checkpoint: --resume reads it back
        if ckpt is not None and "layer_targets" in ckpt:
            layer_targets = ckpt["layer_targets"].to(dev)
        else:
            from train.depth_sweep import layer_depth_targets

            bar_s = (lambda it: tqdm(it, desc="layer-depth sweep", leave=False, disable=not main, dynamic_ncols=True))
            layer_targets = layer_depth_targets(model, frames, tc, progress=bar_s)
        accelerator.print(f"stage 1: {layer_targets.shape[0]} layer-depth points from the training images' plane sweep")
    if cfg.model.manifold_pin == "sweep" and ckpt is None:  # once per run: --resume reads the pin back
        if main:
            pin_layers(model, frames, cfg, accelerator.print)
        if world > 1:  # rank 0 sweeps; every process gets its pin bit for bit
            from accelerate.utils import broadcast

            model.manifold_field.pin.copy_(broadcast(model.manifold_field.pin.contiguous(), from_process=0))
    model, opt = accelerator.prepare(model, opt)
    core: AvatarModel = accelerator.unwrap_model(model)

    if main:
        tdir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, tdir / CONFIG_NAME)
        accelerator.init_trackers("stage1")
    end = tc.iterations if max_steps is None else min(tc.iterations, start + max_steps)
    bar = tqdm(total=tc.iterations, initial=start, disable=not main, desc="stage 1", dynamic_ncols=True)
    first = last = None
    history: list[tuple[float, float]] = []
    t0 = time.time()
    step = start

    def write_checkpoint(at: int) -> None:
        accelerator.wait_for_everyone()
        if main:
            save_checkpoint(ckpt_path, {
                "step": at, "model": core.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "rng": rng_state(),
                "meta": {"n_exp": cfg.data.n_exp, "name": cfg.name},
                **({"layer_targets": layer_targets.cpu()} if layer_targets is not None else {}),
            })

    cond_std = condition_spread(frames.expression, frames.pose, core.shading_spec.n_exp)
    while step < end:
        g = step_generator(cfg.seed, rank, step)
        batch = sample_batch(frames, ids, cfg, g, dev)
        extras = regulariser_inputs(core, batch, tc, g)
        if layer_targets is not None and layer_targets.shape[0] > 0:
            pick = torch.randint(layer_targets.shape[0], (tc.layer_depth_batch,), generator=g).to(dev)
            extras["layer_points"] = layer_targets[pick]
        out = model(batch["o"], batch["d"], batch["expression"], batch["pose"], jitter=batch["jitter"],
                    differentiable=True, extras=extras, background=frames.background,
                    shading_cond=noisy_frame_condition(batch["expression"], batch["pose"], core.shading_spec.n_exp,
                                                       cond_std, tc.frame_cond_noise, g),
                    view_noise=gaussian_noise(tc.view_dir_noise, batch["d"].shape, g, dev),
                    normal_noise=gaussian_noise(tc.normal_noise, (*batch["d"].shape[:2], core.levels.shape[0], 3), g, dev),
                    frame_ids=batch["frames"].to(dev))
        losses = compute_losses(out, batch["rgb"], batch["mask"], core.levels, tc)
        finite = torch.isfinite(losses["total"].detach()).float().reshape(1)
        if float(accelerator.reduce(finite, reduction="sum")) < world:
            bar.close()
            msg = (f"stage 1: non-finite loss at step {step} "
                   f"({', '.join(f'{k}={float(v.detach()):.4g}' for k, v in losses.items())}); stopping. "
                   f"The last good checkpoint {ckpt_path} is kept.")
            accelerator.print(msg)
            accelerator.end_training()
            raise TrainingStopped(msg)
        accelerator.backward(losses["total"])
        if tc.grad_clip > 0:
            accelerator.clip_grad_norm_(params, tc.grad_clip)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        step += 1

        lv, ps = float(losses["total"].detach()), float(losses["psnr"])
        if first is None:
            first = (lv, ps)
        last = (lv, ps)
        history.append(last)
        bar.update(1)
        if main:
            bar.set_postfix(loss=f"{lv:.4f}", psnr=f"{ps:.2f}")
        if step % tc.log_every == 0 or step == end:
            accelerator.log({f"loss/{k}": float(v.detach()) for k, v in losses.items() if k != "psnr"}
                            | {"train/psnr": ps, "train/lr_geometry": sched.get_last_lr()[0],
                               "train/lr_deform": sched.get_last_lr()[1], "train/lr": sched.get_last_lr()[2]}, step=step)
        if tc.max_minutes > 0 and step % 10 == 0:
            late = torch.tensor([float(time.time() - t0 > 60.0 * tc.max_minutes)], device=dev)
            if float(accelerator.reduce(late, reduction="sum")) > 0:
                accelerator.print(f"stage 1: time budget of {tc.max_minutes} min reached at step {step}")
                end = step
        if step % tc.checkpoint_every == 0 and step != end:
            write_checkpoint(step)
        if main and (step % tc.preview_every == 0 or step == end):
            save_preview(core, frames, 0, tc.preview_res, tdir / "previews" / f"step_{step:06d}.png",
                         accelerator, step, background=tuple(cfg.data.background))
    bar.close()
    write_checkpoint(step)
    secs = time.time() - t0
    accelerator.end_training()
    n = step - start
    if first is None:
        first = last = (math.nan, math.nan)
    return TrainResult(steps=n, seconds=secs, it_per_s=n / max(secs, 1e-9), first_loss=first[0],
                       last_loss=last[0], first_psnr=first[1], last_psnr=last[1], checkpoint=ckpt_path,
                       history=history)
