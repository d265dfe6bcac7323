"""Stage 3: fine-tune the baked textures and the per-frame MLP against the training video.

The baked layers are rendered exactly as the player draws them (`bake.baked_render`: same
deformation, rasterisation, layer order, blending and shading maths), with nvdiffrast on CUDA
and the reference rasterizer on CPU. Textures are float parameters seen through straight-
through 8-bit fake quantisation, so what is optimised is what the uint8 artifact will show.
Geometry is frozen. Accelerate drives devices, DDP and the TensorBoard tracker.

Loss: L1 over masked pixels + `finetune_full_weight` x L1 over the whole image (background
included) + `finetune_mask_weight` x L1(alpha, mask). Adam, cosine decay to 10 %, grad clip 1.

The first/last loss and train PSNR it reports are measured on one fixed set of training frames
(evenly spaced, `eval_frames` of them) before the first step and after the last, so they compare
the same frames. (Each step's batch is a random draw: frame-to-frame spread is larger than what
a short fine-tune gains. On the `make demo` CPU settings, 2 frames per batch, per-frame PSNR
spans ~16.5-20.5 dB across the training video, so a first-batch vs last-batch comparison could
show a fall while the same 30 frames rose 18.0 -> 18.9 dB.)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import default_collate
from tqdm import tqdm

from bake.baked_render import BakedAvatar
from bake.config import BakeConfig
from bake.previews import png_bytes
from train.shading import condition_spread, noisy_frame_condition


@dataclass
class FinetuneResult:
    steps: int
    seconds: float
    first_loss: float
    last_loss: float
    first_psnr: float
    last_psnr: float
    losses: list[float]
    eval_frames: int = 0
    """first/last loss and PSNR are means over this many fixed training frames."""


def finetune_loss(rgba: Tensor, gt_rgb: Tensor, gt_mask: Tensor, cfg: BakeConfig) -> tuple[Tensor, dict[str, float]]:
    """rgba (B, H, W, 4), gt_rgb (B, H, W, 3), gt_mask (B, H, W) -> (loss, scalars)."""
    rgb, alpha = rgba[..., :3], rgba[..., 3]
    diff = (rgb - gt_rgb).abs()
    m = gt_mask[..., None]
    masked = (diff * m).sum() / (3.0 * m.sum()).clamp_min(1.0)
    full = diff.mean()
    mask = (alpha - gt_mask).abs().mean()
    loss = masked + cfg.finetune_full_weight * full + cfg.finetune_mask_weight * mask
    mse = ((rgb.detach() - gt_rgb) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    psnr = float((-10.0 * torch.log10(mse)).mean())
    return loss, {"loss": float(loss.detach()), "l1_masked": float(masked.detach()), "l1_full": float(full.detach()), "mask": float(mask.detach()), "psnr": psnr}


def evaluate_frames(avatar: BakedAvatar, items: list[dict], cfg: BakeConfig, background=(1.0, 1.0, 1.0),
                    chunk: int = 4) -> dict[str, float]:
    """`finetune_loss` scalars averaged over `items` (dataset items), rendered without gradient."""
    H, W = (int(s) for s in items[0]["rgb"].shape[:2])
    dev = avatar.joints_template.device
    sums: dict[str, float] = {}
    with torch.no_grad():
        for i in range(0, len(items), chunk):
            b = {k: v.to(dev) for k, v in default_collate(items[i : i + chunk]).items()}
            rgba = avatar(b["expression"], b["pose"], b["K"], b["w2c"], W, H, cfg.raster_backend, background)
            _, stats = finetune_loss(rgba, b["rgb"], b["mask"], cfg)
            n = len(items[i : i + chunk])
            for k, v in stats.items():
                sums[k] = sums.get(k, 0.0) + v * n
    return {k: v / len(items) for k, v in sums.items()}


def dataset_spread(dataset, n_exp: int) -> Tensor | None:
    """`condition_spread` of the dataset's frames (the scale of `bake.finetune_cond_noise`): read from
    an `ImavatarDataset`'s frame table, else collated from the items (a plain list in tests)."""
    frames = getattr(dataset, "frames", None)
    if frames is not None and hasattr(frames, "expression"):
        expression, pose = torch.as_tensor(frames.expression), torch.as_tensor(frames.pose)
    else:
        items = default_collate([dataset[i] for i in range(len(dataset))])
        expression, pose = items["expression"], items["pose"]
    return condition_spread(expression, pose, n_exp)


def _batches(loader):
    """Endless iteration over a DataLoader (a new shuffle every epoch)."""
    epoch = 0
    while True:
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        for batch in loader:
            yield batch
        epoch += 1


def finetune_avatar(
    avatar: BakedAvatar,
    dataset,
    cfg: BakeConfig,
    accelerator,
    iterations: int,
    background=(1.0, 1.0, 1.0),
    progress: bool = True,
    preview_dir: Path | None = None,
    eval_frames: int = 8,
) -> FinetuneResult:
    """Optimise avatar.textures and avatar.frame_mlp in place on `dataset` items
    ({rgb (H,W,3), mask (H,W), expression, pose, K (3,3), w2c (4,4)}).

    first/last loss and PSNR: `evaluate_frames` on `eval_frames` evenly spaced training frames
    (the same ones) before the first step and after the last."""
    n_eval = max(1, min(eval_frames, len(dataset)))
    eval_items = [dataset[int(i)] for i in np.linspace(0, len(dataset) - 1, n_eval).round().astype(int)]
    loader = torch.utils.data.DataLoader(dataset, batch_size=min(cfg.finetune_batch, len(dataset)), shuffle=True, drop_last=True)
    opt = torch.optim.Adam([
        {"params": list(avatar.textures.parameters()), "lr": cfg.finetune_lr_texture},
        {"params": list(avatar.frame_mlp.parameters()), "lr": cfg.finetune_lr_mlp},
    ])
    total = max(iterations, 1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(s, total) / total)))
    model, opt, loader, sched = accelerator.prepare(avatar, opt, loader, sched)
    raw = accelerator.unwrap_model(model)
    H, W = (int(s) for s in dataset[0]["rgb"].shape[:2])
    backend = cfg.raster_backend
    spread = dataset_spread(dataset, raw.spec.n_exp) if cfg.finetune_cond_noise > 0 else None
    first = evaluate_frames(raw, eval_items, cfg, background)
    accelerator.log({f"finetune/eval_{k}": v for k, v in first.items()}, step=0)
    losses, t0 = [], time.perf_counter()
    it = _batches(loader)
    bar = tqdm(range(iterations), desc="fine-tune", disable=not (progress and accelerator.is_main_process))
    stats: dict[str, float] = {}
    for step in bar:
        batch = next(it)
        cond = noisy_frame_condition(batch["expression"], batch["pose"], raw.spec.n_exp, spread, cfg.finetune_cond_noise)
        vnoise = (cfg.finetune_view_noise * torch.randn(batch["pose"].shape[0], H, W, 3, device=accelerator.device)
                  if cfg.finetune_view_noise > 0 else None)
        rgba = model(batch["expression"], batch["pose"], batch["K"], batch["w2c"], W, H, backend, background,
                     shading_cond=cond, view_noise=vnoise)
        loss, stats = finetune_loss(rgba, batch["rgb"], batch["mask"], cfg)
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        with torch.no_grad():
            for t in raw.textures:
                t.clamp_(0.0, 1.0)
        losses.append(stats["loss"])
        bar.set_postfix(loss=f"{stats['loss']:.4f}", psnr=f"{stats['psnr']:.2f}")
        if step % cfg.finetune_log_every == 0 or step == iterations - 1:
            accelerator.log({f"finetune/{k}": v for k, v in stats.items()} | {"finetune/lr_texture": sched.get_last_lr()[0]}, step=step)
        last = step == iterations - 1
        if preview_dir is not None and accelerator.is_main_process and ((cfg.finetune_preview_every and step % cfg.finetune_preview_every == 0) or last):
            row = np.concatenate([np.concatenate(list(rgba[:, ..., :3].detach().float().cpu().numpy()), 1),
                                  np.concatenate(list(batch["rgb"].float().cpu().numpy()), 1)], 0)
            preview_dir.mkdir(parents=True, exist_ok=True)
            tmp = preview_dir / f".step_{step:06d}.png.tmp"
            tmp.write_bytes(png_bytes(row))
            tmp.replace(preview_dir / f"step_{step:06d}.png")
    seconds = time.perf_counter() - t0
    final = evaluate_frames(raw, eval_items, cfg, background)
    accelerator.log({f"finetune/eval_{k}": v for k, v in final.items()}, step=max(iterations - 1, 0))
    accelerator.wait_for_everyone()
    return FinetuneResult(iterations, seconds, first["loss"], final["loss"], first["psnr"], final["psnr"], losses, n_eval)


def run_finetune(cfg, progress: bool = True, max_steps: int | None = None) -> tuple[Path, FinetuneResult]:
    """Stage 3 end to end: <workdir>/bake/baked -> <workdir>/bake/finetuned (atomic)."""
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from accelerate.utils import is_tensorboard_available

    from bake.stage2 import BAKED_DIR, FINETUNED_DIR, artifact_extras, bake_dir, preview_frames
    from export.artifact import load_artifact, save_artifact
    from train.configlib import to_dict
    from train.data import ImavatarDataset
    from train.frame_inputs import CorrectedFrames, stage1_corrections
    from train.model import CHECKPOINT_NAME

    bdir = bake_dir(cfg)
    art = load_artifact(bdir / BAKED_DIR)  # ArtifactError names the file and field
    # a layer that covers no pixel of a batch leaves its texture without gradient: tell DDP
    ddp = DistributedDataParallelKwargs(find_unused_parameters=True)
    accelerator = Accelerator(cpu=cfg.bake.device == "cpu", log_with="tensorboard" if is_tensorboard_available() else None,
                              project_dir=str(bdir), kwargs_handlers=[ddp])
    accelerator.init_trackers("finetune")
    dataset = ImavatarDataset.from_config(cfg.data, "train", progress=progress and accelerator.is_main_process)
    ckpt = cfg.workpath / "train" / CHECKPOINT_NAME
    corrections = stage1_corrections(ckpt) if ckpt.is_file() else {}
    if corrections:  # stage 1 learnt per-frame corrections of the tracking: fine-tune on the corrected frames
        dataset = CorrectedFrames(dataset, corrections)
        accelerator.print(f"stage 3: the training frames with stage 1's learnt {', '.join(sorted(corrections))} corrections ({ckpt})")
    torch.manual_seed(cfg.seed)
    avatar = BakedAvatar(art)
    steps = cfg.bake.finetune_iterations if max_steps is None else min(max_steps, cfg.bake.finetune_iterations)
    res = finetune_avatar(avatar, dataset, cfg.bake, accelerator, steps, tuple(cfg.data.background), progress,
                          bdir / "finetune_previews")
    accelerator.end_training()
    out = bdir / FINETUNED_DIR
    if accelerator.is_main_process:
        avatar = accelerator.unwrap_model(avatar) if hasattr(accelerator, "unwrap_model") else avatar
        source = dict(art.meta.get("source", {}), stage="finetune", finetune_steps=res.steps)
        tuned = avatar.cpu().to_artifact(art, source)
        report = {"steps": res.steps, "seconds": res.seconds, "first_loss": res.first_loss, "last_loss": res.last_loss,
                  "first_train_psnr": res.first_psnr, "last_train_psnr": res.last_psnr,
                  "train_psnr_frames": res.eval_frames, "device": str(accelerator.device)}
        extras = artifact_extras(tuned, to_dict(cfg), report, preview_frames(cfg), cfg.bake.raster_backend, accelerator.device)
        save_artifact(tuned, out, extras)
    accelerator.wait_for_everyone()
    return out, res

