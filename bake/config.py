"""Config section `bake`: stages 2 and 3 (owned by bake/)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BakeConfig:
    """Mesh extraction, texture baking and the differentiable-raster fine-tune."""

    mc_resolution: int = 256
    """Final marching-cubes grid resolution per axis (reached coarse-to-fine)."""
    faces_per_layer: int = 10000
    """Triangle budget per layer after decimation."""
    texture_size: int = 512
    """Texture side in texels."""
    supersample: int = 2
    """Samples per texel side when baking textures."""
    finetune_iterations: int = 1000
    """Stage-3 steps."""
    mc_coarse_resolution: int = 16
    """Lattice resolution of the first, dense evaluation; mc_resolution must be this times 2^k."""
    mc_lipschitz: float = 1.5
    """Assumed bound on |grad s|: cells within this times their diagonal of a level are refined."""
    mc_smoothing: float = 0.0
    """Gaussian blur (sigma in lattice cells of mc_resolution) of the sampled manifold before
    marching cubes: removes voxel-scale tunnels and bridges of a noisy field, whose handles
    otherwise cut the UV atlas into many charts (each chart border duplicates vertices); 0 = off.
    It also moves the level sets of a crumpled field and erodes thin shells, which the baked
    avatar then lacks: dev, `make demo` CPU budget (mc 128), skinning-residual model, 30 test
    frames: stage 1 19.74 dB, baked at 1.5 18.76 (IoU 0.926) vs at 0 19.72 (0.947); mc 256 at 1.5
    19.74. H100, 1500-step model, mc 256 at 1.5: stage 1 22.85, baked 20.53 dB. Hence off by
    default. H100, c157459 model, mc 256: 0 -> 1.5 took the layers from 11.6-13.0k to 9.0-10.2k
    vertices (charts 1435-1930 -> 632-923) and the bake from 129 to 73 s."""
    min_component_fraction: float = 0.05
    """Keep connected components with at least this fraction of the largest one's area (1: largest only)."""
    reach_frames: int = 16
    """Training frames (evenly spaced over data.train_videos) on which stage-1 reachability is
    tested (`bake.reach`); 0 disables the pruning. A canonical point is reached in a frame when
    stage 1's inverse deformation maps its deformed image back to it (within one lattice cell)
    inside the frame's bounding sphere; where the canonical -> deformed map folds, level sets
    that no training ray ever reaches survive stage 1 untrained and would be baked and drawn in
    every frame. Dev, `make demo` CPU budget with 300 stage-1 steps: a sheet 0.3-0.6 out of the
    mouth (reached in < 0.3 of the frames) covered ~5 % of every frame outside the subject; the
    pruning dropped ~9.4k of ~75k marching-cubes faces per layer, the baked avatar's spill went
    from 5.2 to 0.85 % of the pixels (30 training frames), 4.8 to 1.95 % (30 test frames), test
    PSNR 17.79 -> 20.38 dB (IoU 0.879 -> 0.945), fine-tuned 17.38 -> 20.78. The real budget (600
    steps) has a smaller sheet: spill 2.2 -> 0.32 % (train), 2.1 -> 0.88 % (test), baked test
    PSNR 19.20 -> 21.51 dB (IoU 0.934 -> 0.961). Cost: 16 frames x ~34k lattice points, +45 s
    of the 2-core CPU bake (46 -> 91 s)."""
    reach_min_fraction: float = 0.5
    """Faces whose three vertices are reached in fewer than this fraction of the reach_frames
    (and lie farther than reach_band off the model) are dropped. Dev (that run, opaque layer,
    vertices > reach_band off the model): the sheet's 445 reached in [0, 0.5) of the frames, 6 in
    [0.5, 1]; elsewhere 22 in [0, 0.5), all on a surface inside the head, 76 in [0.5, 1].
    At 0.25 thin strands of the sheet (reached in 0.1-0.4) stayed: 241 of its 825 faces."""
    reach_band: float = 0.12
    """Faces within this distance of the morphable model's canonical surface are never dropped
    (eyelids, lip corners can be shadowed by folds too; hair reaches ~0.09 off the scalp). Dev,
    opaque layer: 0.15 left 77 of the sheet's 890 faces (its root, visible in profile), 0.12 48,
    0.1 43; other faces dropped: 7, 14, 20 (all inside the head)."""
    back_density: float = 0.5
    """Relative triangle density on the back of the head (faces turned to -z); 1 disables."""
    uv_padding: int = 4
    """Texels between UV charts (xatlas padding); leaves room for the dilation."""
    dilation: int = 8
    """Rings of texels filled outward from chart borders (bilinear taps never read background)."""
    workers: int = 0
    """Processes for the per-level meshing (marching cubes, decimation, UVs); 0: auto, 1: serial."""
    chunk: int = 65536
    """Points per field query."""
    raster_backend: str = "auto"
    """Rasterizer: auto (nvdiffrast on CUDA, else the torch reference), torch, or cuda."""
    device: str = "auto"
    """Device for baking and fine-tuning: auto (CUDA when available), cpu or cuda."""
    finetune_batch: int = 2
    """Training frames per fine-tune step (per process)."""
    finetune_lr_texture: float = 3e-3
    """Adam learning rate of the textures (values in [0, 1])."""
    finetune_lr_mlp: float = 3e-4
    """Adam learning rate of the per-frame MLP."""
    finetune_mask_weight: float = 0.5
    """Weight of the L1 loss between the rendered alpha and the ground-truth mask."""
    finetune_full_weight: float = 0.25
    """Weight of the L1 loss on the whole image (background included) next to the masked L1."""
    finetune_cond_noise: float = 0.0
    """Gaussian noise on the per-frame MLP's input while fine-tuning, in units of the training frames'
    per-dimension spread (as `train.frame_cond_noise` in stage 1): keeps the MLP from memorising
    the training frames' expressions. 0: none."""
    finetune_view_noise: float = 0.0
    """Std of Gaussian noise added to the unit view direction the per-pixel shading reads while
    fine-tuning (as `train.view_dir_noise` in stage 1), one draw per pixel and step. 0: none."""
    finetune_log_every: int = 25
    """Log scalars to TensorBoard every N steps."""
    finetune_preview_every: int = 250
    """Write a preview image every N steps (0: only at the end)."""

    def validate(self) -> None:
        r, r0 = self.mc_resolution, self.mc_coarse_resolution
        if r0 <= 0 or r < r0 or r % r0 or (r // r0) & (r // r0 - 1):
            raise ValueError(f"mc_resolution must be mc_coarse_resolution * 2^k; got {r} and {r0}")
        for name in ("faces_per_layer", "texture_size", "supersample", "chunk", "finetune_batch"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive; got {getattr(self, name)}")
        if self.mc_smoothing < 0:
            raise ValueError(f"mc_smoothing must be >= 0; got {self.mc_smoothing}")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0; got {self.workers}")
        if self.finetune_iterations < 0:
            raise ValueError(f"finetune_iterations must be >= 0; got {self.finetune_iterations}")
        if not self.finetune_cond_noise >= 0:
            raise ValueError(f"finetune_cond_noise must be >= 0; got {self.finetune_cond_noise}")
        if not self.finetune_view_noise >= 0:
            raise ValueError(f"finetune_view_noise must be >= 0; got {self.finetune_view_noise}")
        if self.reach_frames < 0:
            raise ValueError(f"reach_frames must be >= 0; got {self.reach_frames}")
        if not 0.0 <= self.reach_min_fraction <= 1.0:
            raise ValueError(f"reach_min_fraction must be in [0, 1]; got {self.reach_min_fraction}")
        if self.reach_band < 0:
            raise ValueError(f"reach_band must be >= 0; got {self.reach_band}")
        if not 0.0 < self.back_density <= 1.0:
            raise ValueError(f"back_density must be in (0, 1]; got {self.back_density}")
        if self.raster_backend not in ("auto", "torch", "cuda"):
            raise ValueError(f"raster_backend must be auto, torch or cuda; got {self.raster_backend!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda; got {self.device!r}")
