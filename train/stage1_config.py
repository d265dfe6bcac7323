"""Config sections `model` and `train`: stage 1 (owned by the stage-1 trainer)."""

from __future__ import annotations

from dataclasses import dataclass, field


def _positive(name: str, value) -> None:
    if value <= 0:
        raise ValueError(f"{name} must be positive; got {value}")


DETAIL_PARTS = ("eyes", "jaw")  # model.deform_detail_parts: FLAME bones (last two / third from last)
INPUT_PARTS = ("expression", "pose", "camera")  # train.optimize_inputs
PIN_SOURCES = ("none", "sweep", "synthetic_hair")  # model.manifold_pin


@dataclass
class ModelConfig:
    """Stage-1 neural fields."""

    n_levels: int = 8
    """Number of level sets (= baked layers)."""
    level_range: tuple[float, float] = (-0.2, 0.0)
    """Innermost and outermost level value of the manifold field."""
    dim_pos_feature: int = 8
    """Position-feature channels per point (baked into textures)."""
    num_texture_basis: int = 16
    """K radiance bases mixed by the per-pixel MLP."""
    basis_rank: int = 0
    """0: the K bases are independent per point. R > 0: they share R per-point RGB factors,
    basis_k = sigmoid(sum_r M_kr F_r(x) + b_k) with a learned (K, R) mix M and (K, 3) bias b, so a
    basis that no training view selects at a point still follows that point's colours."""
    basis_ladder: bool = False
    """The K bases are brightness steps of a per-point albedo, half of them plus a per-point
    highlight colour (`train.fields.radiance.RadianceField`): the per-pixel MLP learns the shading
    as a choice among them. Needs basis_rank 0; train.w_basis_spread should be 0 with it."""
    temperature: float = 10.0
    """Softmax temperature of the per-pixel MLP coefficients."""
    frame_mlp_hidden: list[int] = field(default_factory=lambda: [64, 64])
    """Hidden widths of the per-frame MLP (pose + expression -> per-pixel MLP weights)."""
    pixel_mlp_hidden: list[int] = field(default_factory=lambda: [16])
    """Hidden widths of the per-pixel MLP (pos features, normal, view dir -> K coefficients)."""
    canonical_jaw: float = 0.4
    """Jaw opening (rad about x) of the canonical pose; canonical expression = train mean."""
    bbox_margin: float = 0.25
    """Margin (world units) added around the canonical morphable-model bbox for the fields."""
    sdf_init: str = "vertices"
    """Initial manifold: `vertices` (distance to the nearest model vertex, signed by its normal:
    cheap, but its zero set is shingled between vertices and the outer levels are unions of
    spheres, so the layers start with normals ~12 deg off the model's, median) or `mesh` (signed
    distance to the model's triangles: smooth levels with the model's normals, ~2 deg)."""
    sdf_init_offset: float = 0.0
    """Manifold init: s = signed distance to the morphable model + innermost level - this offset,
    i.e. the innermost layer starts this far outside the model's surface, outer layers further out."""
    manifold_base_res: int = 48
    """Resolution of the learnable dense base grid of the manifold (initialised SDF-like)."""
    manifold_pin: str = "none"
    """Where the hair's translucent layers are, pin the manifold's levels to their depth instead of
    learning it (`train.fields.pin`; learnt levels stop 0.02-0.045 off the synthetic hair's shells,
    where a strand is 0.0025 wide, and no loss tried holds them there). `none`; `sweep`: region and
    depths from the training images (`train.depth_sweep.layer_pin`: the masks' translucent fringe
    and a plane sweep of photo-consistency, run once when training starts, kept in the
    checkpoint); `synthetic_hair`: an oracle for the synthetic subject only, its exact shells over
    the scalp (`train.synth.hair_pin`)."""
    manifold_pin_res: int = 128
    """Resolution of the pinned field's grid (`manifold_pin`): its levels kink at the innermost
    layer, which trilinear lookup rounds by ~1/4 voxel (128 over the synthetic subject's cube: 0.0013
    units, half a strand's width; configs/synthetic.yaml: 256)."""
    manifold_grid_res: list[int] = field(default_factory=lambda: [16, 32, 64])
    """Resolutions of the manifold's multi-resolution feature grids (residual on the base)."""
    radiance_grid_res: list[int] = field(default_factory=lambda: [32, 64, 128])
    """Resolutions of the radiance field's multi-resolution feature grids."""
    radiance_plane_res: list[int] = field(default_factory=list)
    """Resolutions of axis-aligned feature planes (xy, xz, yz) added to the radiance encoding
    (`train.fields.grid.FeaturePlanes`); empty = none. A 2048^2 plane holds detail a 384^3 grid
    cannot (CPU fit of the synthetic hair's alpha on its shells, 600 steps: grids to 256^3 26.3 dB,
    grids to 128^3 + 1024^2 planes 29.6 dB)."""
    deform_prior_res: int = 32
    """Resolution of the deformation volume (nearest-vertex morphable-model attributes + residual)."""
    deform_residual_res: int = 16
    """Resolution of the deformation field's learnable residual grid (coarse: smooth corrections)."""
    deform_detail_res: int = 0
    """0: off. R > 0: a second prior volume over a box around `deform_detail_parts` (the canonical
    vertices whose strongest bone is one of those parts, grown by `deform_detail_margin`) at the
    spacing of an R^3 lattice over the fields' cube, blended into the coarse prior
    (`train.fields.deformer`). Eyeball, lids and brows -- and lips and teeth -- share the coarse
    lattice's cells, so the blended field folds there and inverse deformation picks wrong roots
    (36% of the visible eye pixels at 64^3); a whole 256^3 lattice lifted the eyes by ~3 dB at 1.5x
    the step time (H100), a box costs a fraction of that."""
    deform_detail_parts: list[str] = field(default_factory=lambda: ["eyes", "jaw"])
    """Which bones' vertices the detail box covers: `eyes` (FLAME's two eye bones) and/or `jaw`.
    Both (one box from the chin to the brows) also hold the upper teeth and lips, which the jaw's
    vertices alone miss (512 px, untrained field, wrong inverse roots: eyes 36 -> 8.5%, teeth
    24 -> 7.8%; eyes alone: 9.5% / 23.6%; docs/results/cpu_deform_detail_2026-12-06.txt)."""
    deform_detail_margin: float = 0.06
    """Margin (world units) around those vertices' bounding box, also the band over which the box's
    prior blends into the coarse one (0.02 / 0.04 / 0.06 / 0.1 with both parts: teeth 20.4 / 13.9 /
    7.8 / 6.3% wrong roots, eyes 9.9 / 9.5 / 8.5 / 11.1%)."""
    deform_residual_channels: str = "skinning"
    """What the deformation residual may change: `skinning` (the default: skinning logits only;
    expression/pose coefficients stay the morphable model's) or `all` (also the 156 expression and
    pose-corrective coefficients per voxel, which fit per-frame warps). H100, 1500 steps, 150 test
    frames: skinning 23.03 dB / SSIM 0.863 / IoU 0.971 vs all 22.17 / 0.852 / 0.966."""
    grid_channels: int = 4
    """Feature channels per grid level."""
    mlp_hidden: int = 64
    """Width of the tiny MLPs decoding grid features."""
    alpha_init: float = 0.01
    """Initial alpha of every layer's radiance. Seven outer layers at 0.12 each (the old init)
    already cover 59% of the face, and training then paints the face with the outer layers
    (misregistered at novel poses); start them nearly transparent instead."""
    ray_samples: int = 32
    """Samples per ray (within the frame's bounding sphere of the deformed morphable model)."""
    refine_samples: int = 8
    """Extra samples per ray spread between the neighbours of the sample with the smallest s: a
    ray grazing the head dips below a level between two coarse samples (chords of ~1 px depth at
    the silhouette are shorter than the sample spacing), which left the silhouettes ragged and
    made the mask loss inflate the layers. 0 = off. H100 (synthetic): test 20.44 -> 20.81 dB
    (30 frames), training frames' silhouette band 12.3 -> 13.1 dB; ~5% fewer it/s."""
    radiance_thickness: float = 0.0
    """Training reads each hit's radiance at a random offset of up to this (world units) along the
    canonical normal: the colour is learnt through a slab around each layer instead of only on
    the sheet the training views hit, which novel poses miss by a voxel or two (blotches).
    H100 A/B (with refine_samples 8): 0.007 -> test 20.83 dB (30 frames) vs 20.81 without, but
    19.68 vs 20.19 on the hardest first 10 frames and the blotches stay: off by default."""
    bound_margin: float = 0.2
    """Margin (world units) around the deformed morphable model for ray near/far."""
    inverse_init: str = "vertex"
    """Inverse-deformation start: `vertex` (nearest deformed model vertex) or `bones` (3 rigid guesses)."""
    init_vertices: int = 2048
    """Model vertices (evenly subsampled) searched for the `vertex` init."""
    newton_steps: int = 4
    """Newton steps of the inverse deformation per candidate initialisation."""
    secant_steps: int = 2
    """Regula-falsi refinements of each level crossing."""
    converge_tol: float = 1e-3
    """Inverse-deformation residual (world units) under which a point counts as valid."""
    fd_eps: float = 0.005
    """Finite-difference step (world units) for manifold normals and the eikonal term."""
    normal_blendshapes: bool = False
    """Turn the shading normal by the morphable model's expression and pose-corrective blendshapes
    too, to first order (`train.fields.normal_blend`: the derivatives of each vertex's normal, a
    nearest-vertex volume like the deformation prior): n_o' = normalize(R_c^-1 n_c) + N_E.dpsi +
    N_P^T.dpf, then skinned by R_d. Off, normals turn by the skinning rotation only and a smile
    never tilts the cheek's normal: the synthetic subject re-rendered with such normals scores
    34.85 / 34.49 dB (train / test frames), with first-order normal blendshapes 36.24 / 38.36
    (`scripts/normal_model_check.py`, 16 frames). Linear in the coefficients, as a glTF morph
    target's NORMAL deltas play back. Stages 2 and 3 bake and fine-tune them (per-vertex `normal_expr`,
    `normal_pose`); the .glb carries them as the morph targets' NORMAL deltas (docs/bundle.md).
    H100, configs/synthetic.yaml (which turns it on): first 100 test frames 27.39 -> 27.69 dB, better
    on 86 of 100 (docs/results/gpu_stage1_2026-12-07.txt)."""

    def validate(self) -> None:
        _positive("model.n_levels", self.n_levels)
        lo, hi = self.level_range
        if not lo < hi and self.n_levels > 1:
            raise ValueError(f"model.level_range must be increasing (inner, outer); got {self.level_range}")
        for name in ("dim_pos_feature", "num_texture_basis", "ray_samples", "grid_channels", "mlp_hidden",
                     "manifold_base_res", "deform_prior_res", "deform_residual_res", "newton_steps"):
            _positive(f"model.{name}", getattr(self, name))
        if self.manifold_pin not in PIN_SOURCES:
            raise ValueError(f"model.manifold_pin must be one of {PIN_SOURCES}; got {self.manifold_pin!r}")
        _positive("model.manifold_pin_res", self.manifold_pin_res)
        if self.basis_rank < 0:
            raise ValueError(f"model.basis_rank must be >= 0 (0 = independent bases); got {self.basis_rank}")
        if self.basis_ladder and (self.basis_rank > 0 or self.num_texture_basis < 2):
            raise ValueError("model.basis_ladder needs model.basis_rank 0 and model.num_texture_basis >= 2")
        if not 0.0 < self.alpha_init < 1.0:
            raise ValueError(f"model.alpha_init must be in (0, 1); got {self.alpha_init}")
        if self.sdf_init not in ("vertices", "mesh"):
            raise ValueError(f"model.sdf_init must be vertices or mesh; got {self.sdf_init!r}")
        if self.deform_residual_channels not in ("all", "skinning"):
            raise ValueError(f"model.deform_residual_channels must be all or skinning; got {self.deform_residual_channels!r}")
        if self.inverse_init not in ("vertex", "bones"):
            raise ValueError(f"model.inverse_init must be vertex or bones; got {self.inverse_init!r}")
        if self.radiance_thickness < 0:
            raise ValueError(f"model.radiance_thickness must be >= 0; got {self.radiance_thickness}")
        if self.refine_samples < 0:
            raise ValueError(f"model.refine_samples must be >= 0; got {self.refine_samples}")
        if self.ray_samples < 2:
            raise ValueError(f"model.ray_samples must be >= 2; got {self.ray_samples}")
        if self.deform_detail_res < 0 or self.deform_detail_res == 1 or self.deform_detail_margin <= 0:
            raise ValueError(f"model.deform_detail_res must be 0 (off) or >= 2 and model.deform_detail_margin > 0; "
                             f"got {self.deform_detail_res}, {self.deform_detail_margin}")
        bad = [p for p in self.deform_detail_parts if p not in DETAIL_PARTS]
        if bad or not self.deform_detail_parts:
            raise ValueError(f"model.deform_detail_parts must be a non-empty list of {list(DETAIL_PARTS)}; "
                             f"got {self.deform_detail_parts}")
        if any(r < 2 for r in self.radiance_plane_res):
            raise ValueError(f"model.radiance_plane_res must be resolutions >= 2; got {self.radiance_plane_res}")
        for name in ("manifold_grid_res", "radiance_grid_res"):
            res = getattr(self, name)
            if not res or any(r < 2 for r in res):
                raise ValueError(f"model.{name} must be a non-empty list of resolutions >= 2; got {res}")


@dataclass
class TrainConfig:
    """Stage-1 optimisation."""

    iterations: int = 3000
    """Optimisation steps."""
    batch_images: int = 4
    """Images per step (per process)."""
    rays_per_image: int = 2048
    """Rays sampled per image (half uniform, half inside the mask's bounding box)."""
    lr: float = 1e-2
    """Learning rate of the radiance field and the per-frame MLP (Adam)."""
    lr_geometry: float = 1.5e-3
    """Learning rate of the manifold field (dense grids: Adam moves every touched voxel by ~lr)."""
    lr_manifold_base_scale: float = 1.0
    """Learning rate of the manifold's dense base grid relative to `lr_geometry`. The base holds
    the initial SDF at `model.manifold_base_res`; its voxels can carve bumps of a few pixels that
    the colour loss uses to memorise views. 0 keeps the initial base: geometry then changes only
    through the multi-resolution residual (`model.manifold_grid_res`). H100 A/B (synthetic, mesh
    init, residual [16,32,64], ~1360 of 1500 steps): test 21.23 dB / SSIM 0.848 vs defaults 21.43 /
    0.837: smoother skin, no PSNR gain, so 1 stays the default."""
    lr_deform: float = 2e-4
    """Learning rate of the deformation field's residual grid."""
    optimize_inputs: list[str] = field(default_factory=list)
    """Learn per-training-frame corrections of these tracked inputs with the fields: any of
    `expression`, `pose` (all 15 FLAME pose values) and `camera` (the camera centre), for real
    videos whose tracking is noisy (`train.frame_inputs`). Empty (the default): the inputs are
    taken as exact, as they are for the synthetic subject. Dev CPU, `make demo` budget, training
    poses and cameras perturbed (rotation std 0.03 rad, jaw 0.02, camera 0.01): [pose, camera] cut
    the head's placement error by 26% and won back 0.57 of the 1.42 dB the noise cost on the
    (exactly tracked) test video (docs/results/cpu_optimize_inputs_2026-12-06.txt)."""
    lr_inputs: float = 1e-3
    """Learning rate of those corrections, on the same schedule as the others. A frame's table row
    gets a gradient only when the frame is drawn; Adam's momentum carries each push ~10 steps."""
    lr_final_ratio: float = 0.1
    """Learning rate at the last step relative to `lr` (exponential decay)."""
    warmup_steps: int = 50
    """Linear learning-rate warm-up steps."""
    grad_clip: float = 1.0
    """Gradient-norm clip (0 disables)."""
    checkpoint_every: int = 1000
    """Write an atomic checkpoint every N steps."""
    log_every: int = 50
    """Log scalars every N steps."""
    preview_every: int = 500
    """Write a preview PNG (and TensorBoard image) every N steps."""
    preview_res: int = 128
    """Resolution (pixels, square) of preview renders."""
    max_minutes: float = 0.0
    """Stop (with a checkpoint) after this much training wall time; 0 = no limit."""
    mixed_precision: str = "no"
    """Accelerate mixed precision: no, fp16 or bf16."""
    rgb_loss: str = "l1"
    """Colour loss: l1 or l2."""
    w_rgb: float = 1.0
    """Weight of the colour loss."""
    w_alpha: float = 1.0
    """Weight of the composited-alpha vs soft-mask loss."""
    w_level: float = 1.0
    """Weight of the per-level occupancy (mask/level) loss on the ray's minimum s."""
    level_sharpness: float = 50.0
    """Logit scale of the level loss: sigmoid(-sharpness * (s_min - level))."""
    level_loss: str = "bce"
    """`bce`: binary cross-entropy on sigmoid(-sharpness (s_min - level)) against each level's
    coverage. Its tails reach ~1/sharpness (0.02) past each level, wider than the level spacing, so
    along a ray of the hair fringe every inner level that calls it uncovered keeps pushing s up
    although the ray is already outside it (`scripts/level_pull_check.py`: the level loss pulls the
    levels in at every hair offset, on a dev-CPU checkpoint). `hinge`: for the translucent levels,
    sharpness/2 x how far s_min lies on the wrong side of each (the same force at the level as `bce`,
    none once satisfied); the opaque level keeps `bce` (a hinge on it too broke the neck on the dev
    CPU: -4 dB there). Not yet measured at 512 px (docs/results/gpu_stage1_2026-11-25e.txt)."""
    w_prior: float = 1.0
    """Weight of the morphable-model prior (nearest canonical vertex E, P, w). H100 side by side
    (ladder defaults, 1500 steps, 60 test frames): 1 -> 24.25, 3 -> 24.74 dB; 1000 steps, 30 frames:
    3 -> 24.01, 10 -> 23.81 dB; configs/synthetic.yaml uses 3."""
    prior_dist2: float = 0.002
    """Squared distance (world units^2) to the nearest vertex under which the prior applies."""
    w_eikonal: float = 0.01
    """Weight of the eikonal term keeping the manifold SDF-like."""
    w_surface: float = 1.0
    """Weight of the one-sided surface term: mean max(0, s(p) - innermost level) over points p of
    the canonical model's surface, keeping the opaque layer on or outside the model."""
    w_surface_inside: float = 0.0
    """Weight of the surface term's other side: mean max(0, innermost level - s(p)) over the same
    points, pulling the opaque layer in onto the model's surface where it lies outside it (the
    model's teeth and mouth interior ~0.03-0.06 inside a sheet across the open mouth, eyes ~0.01).
    0 keeps the one-sided term: the opaque layer may stand outside the model (real hair's bulk).
    H100, synthetic subject: 1.0 puts the opaque level on the model's front-facing teeth (median
    0.040 -> 0.002 inside it) and scored 24.06 vs 23.90 dB at 1000 steps (20 test frames), 25.85 vs
    25.76 over all 150 test frames at 2340 vs 2500 steps; 10: 23.97 (configs/synthetic.yaml: 1.0)."""
    w_layer_depth: float = 0.0
    """Weight of the pull of the nearest translucent level onto the layer depths the training images
    themselves show (`train.depth_sweep`: a plane sweep of multi-view photo-consistency along the
    canonical model's normal, run once when training starts and kept in the checkpoint): mean over
    `layer_depth_batch` of those points of min over translucent levels (s - l)^2 / spacing^2. 0: off.
    On the synthetic subject the sweep's detections pile on the hair's shells (dev CPU,
    docs/results/cpu_hair_depth_sweep_2026-12-06.txt), where learnt levels stop 0.02-0.045 off. H100,
    1000 steps, 20 test frames: 0 24.12, 1 23.87, 3 23.34, 1 + hinge level loss 23.81 dB (the skin and
    brows lose more than the hair gains); 0.3 at 2460 steps: 24.83 vs 24.95 dB on 40 test frames
    (docs/results/gpu_stage1_2026-12-06c.txt)."""
    layer_depth_frames: int = 40
    """Training frames (spread evenly) the sweep reads."""
    layer_depth_points: int = 20000
    """Canonical surface points the sweep starts from."""
    layer_depth_radius: float = 0.03
    """Pooling radius (world units) of the sweep's cost profiles."""
    layer_depth_min_rise: float = 0.2
    """Smallest rise of a pooled, mean-normalised cost profile that marks a layer."""
    layer_depth_offsets: tuple[float, float] = (0.015, 0.12)
    """Sweep range along the normal (world units): layers nearer than the first are ignored (an opaque
    surface's own profile climbs there), the second is the farthest candidate."""
    layer_depth_hull: float = 0.8
    """A layer counts only where the training masks cover its point (soft coverage > 0.05) in at least
    this share of the frames that have it in the image (the visual hull; 0: no test). Synthetic
    subject: 0.8 raises the points over the scalp from 62% to 79% and keeps 94% of those within
    0.0025 of a shell (docs/results/cpu_hair_depth_sweep_2026-12-06.txt)."""
    layer_pin_fringe: float = 0.02
    """`model.manifold_pin: sweep`: the share of frames showing a point's offsets on the masks'
    translucent fringe at which the pin's weight reaches 1 (0 at half of it)."""
    layer_pin_erode: int = 2
    """`model.manifold_pin: sweep`: a mask pixel counts as translucent fringe only with a translucent
    neighbourhood of this radius (px; `train.depth_sweep.fringe_image`), so the 1-2 px anti-aliased
    edge of an opaque silhouette does not: without it the 64 px subject pinned 79% of the skin."""
    layer_pin_min_rise: float = 0.01
    """`model.manifold_pin: sweep`: smallest rise of the hair region's mean cost profile that marks a
    layer (averaged over hundreds of points it is smooth: the synthetic shells rise 0.011-0.13)."""
    layer_depth_batch: int = 4096
    """Layer-depth points drawn per step."""
    surface_samples: int = 8192
    """Points per step of the surface term, drawn area-uniformly on the canonical model's triangles
    (fresh each step). 0: the evenly subsampled vertices of `model.init_vertices` (the former term;
    the opaque level could sink into pockets between them, ~0.03-0.1 deep, seen as sharp-edged
    colour cells at novel views)."""
    eikonal_mode: str = "two_sided"
    """`two_sided`: |grad s| = 1 (level spacing fixed everywhere); `lower`: only |grad s| >= 1, so
    the layers may pack together where the data wants (hard silhouettes) but never flatten."""
    eikonal_points: int = 2048
    """Random canonical points per step for the eikonal term."""
    w_residual: float = 0.0
    """L2 weight on the deformer's residual over the morphable-model volume (everywhere)."""
    w_outer_alpha: float = 0.01
    """L1 weight on the alpha of the outer (translucent) layers' hits: what the opaque layer can
    explain is drawn by it, and the outer layers stay for what needs translucency (hair, soft
    edges). Without it they learn to paint the face in a view-specific way."""
    w_basis_spread: float = 0.0
    """Weight of the spread of the K radiance bases about their mean at the layer hits (mean
    squared RGB distance): bases the training views never select otherwise keep arbitrary
    colours, which novel views and normals then pick (coloured blotches on test frames).
    CPU A/B (128 px, 300 steps): 0 -> 18.64, 0.1 -> 18.75, 0.3 -> 18.55, 1.0 -> 18.37 dB test;
    H100 (512 px, ~3000-3500 steps, test 30 frames): 0 -> 19.77, 0.1 -> 20.44-20.57, and with
    model.refine_samples 8: 0.1 -> 20.81, 0.5 -> 21.00 dB. With model.basis_ladder the bases differ
    by construction and it is 0 (configs/synthetic.yaml)."""
    w_normal_smooth: float = 0.0
    """Weight of the normal-smoothness term at the canonical hits inside the mask: 1 - cos between
    the manifold normal there and at a neighbour `normal_smooth_radius` away. The per-pixel shading
    reads these normals; without it the colour loss carves per-voxel bumps into the level sets.
    H100 A/B (synthetic, ~3000-3400 steps): 1.0 lifts test SSIM 0.825 -> 0.865 and removes the
    coloured blotches but costs ~0.45 dB test PSNR and ~10% it/s with free bases, so it is off by
    default; with model.basis_ladder, whose shading reads the normals, 0.3 (radius 0.005) gains
    1.2 dB (configs/synthetic.yaml)."""
    normal_smooth_radius: float = 0.01
    """Standard deviation (world units) of the neighbour offset of the normal-smoothness term."""
    frame_cond_noise: float = 0.0
    """Training only: Gaussian noise added to the per-frame shading MLP's input (jaw/eye pose and
    expression), this many standard deviations of each input over the training frames. The MLP
    then maps nearby conditions to nearby shading, which test frames beyond the training range
    need (H100, 150 test frames: the training mean as every frame's condition beat the frame's
    own by 0.5 dB with no noise; with 1.0, configs/synthetic.yaml, the two are equal)."""
    view_dir_noise: float = 0.0
    """Training only: Gaussian noise (this standard deviation per component, then renormalised) on
    the view direction the per-pixel shading reads. With a fixed camera the view direction is
    nearly a function of the pixel, so without it the shading can key brightness to the screen
    position that a test frame's larger head rotation moves a point away from. H100, synthetic, 150
    test frames: 0.1 with frame_cond_noise 1.0 26.07 dB vs 25.73 for frame_cond_noise 0.5 alone
    (configs/synthetic.yaml)."""
    normal_noise: float = 0.0
    """Training only: Gaussian noise (this standard deviation per component, then renormalised) on
    the deformed normal the per-pixel shading reads at each layer hit. A canonical point's world
    normal only spans the training head rotations; the noise asks the shading to vary smoothly
    with the normal so that a test frame's larger rotation (the light stays fixed in the world)
    reads a sensible brightness."""
    opaque_depth_grad: float = 1.0
    """Scale of the gradient the colour loss sends into the opaque level's depth along each ray
    (the hit sliding on its level set); 0 = the opaque geometry learns from the masks, the priors
    and the shading normals only, and cannot carve view-memorising bumps. `make demo` budget
    (seed 0, 30 test frames): 0 -> 23.45 dB / SSIM 0.874 vs 23.07 / 0.867 (the seed spread
    22.67-23.29), training frames 26.90 vs 27.24 (less fit, better generalisation: test neck
    18.6 -> 21.6, hair fringe +0.5, skin +0.4); with normal blendshapes 23.63 vs 23.34 (seed 0),
    23.52 vs 22.90 (seed 1) (docs/results/cpu_silhouette_2026-12-07.txt). H100, 512 px, 2420 steps: first
    100 test frames 27.91 vs 27.69 dB (better on 79), all 150: 28.48; 0 in configs/synthetic.yaml
    (docs/results/gpu_stage1_2026-12-07b.txt)."""
    shading_normal_grad: float = 1.0
    """Scale of the gradient that reaches the manifold (and the warp) through the normals the
    per-pixel shading reads. At 1 the colour loss can tilt the level sets voxel by voxel to fetch
    better shading (the trained opaque layer's normals end ~16 deg off the model's, median); 0 lets
    only the mask, surface, eikonal and hit-position terms shape the geometry."""
    def validate(self) -> None:
        for name in ("iterations", "batch_images", "rays_per_image", "checkpoint_every", "log_every",
                     "preview_every", "preview_res"):
            _positive(f"train.{name}", getattr(self, name))
        _positive("train.lr", self.lr)
        if self.lr_manifold_base_scale < 0:
            raise ValueError(f"train.lr_manifold_base_scale must be >= 0; got {self.lr_manifold_base_scale}")
        _positive("train.normal_smooth_radius", self.normal_smooth_radius)
        if not 0.0 <= self.opaque_depth_grad <= 1.0:
            raise ValueError(f"train.opaque_depth_grad must be in [0, 1]; got {self.opaque_depth_grad}")
        if not 0.0 <= self.shading_normal_grad <= 1.0:
            raise ValueError(f"train.shading_normal_grad must be in [0, 1]; got {self.shading_normal_grad}")
        if self.level_loss not in ("bce", "hinge"):
            raise ValueError(f"train.level_loss must be bce or hinge; got {self.level_loss!r}")
        for name in ("w_normal_smooth", "w_surface_inside"):
            if getattr(self, name) < 0:
                raise ValueError(f"train.{name} must be >= 0; got {getattr(self, name)}")
        for name in ("frame_cond_noise", "view_dir_noise", "normal_noise"):
            if getattr(self, name) < 0:
                raise ValueError(f"train.{name} must be >= 0; got {getattr(self, name)}")
        if self.w_layer_depth < 0:
            raise ValueError(f"train.w_layer_depth must be >= 0; got {self.w_layer_depth}")
        for name in ("layer_depth_frames", "layer_depth_points", "layer_depth_batch"):
            _positive(f"train.{name}", getattr(self, name))
        _positive("train.layer_depth_radius", self.layer_depth_radius)
        _positive("train.layer_pin_fringe", self.layer_pin_fringe)
        if self.layer_pin_erode < 0:
            raise ValueError(f"train.layer_pin_erode must be >= 0 (pixels); got {self.layer_pin_erode}")
        if not 0.0 <= self.layer_depth_hull <= 1.0:
            raise ValueError(f"train.layer_depth_hull must be in [0, 1]; got {self.layer_depth_hull}")
        lo, hi = self.layer_depth_offsets
        if not 0.0 <= lo < hi:
            raise ValueError(f"train.layer_depth_offsets must be (near, far) with 0 <= near < far; got {self.layer_depth_offsets}")
        if self.surface_samples < 0:
            raise ValueError(f"train.surface_samples must be >= 0; got {self.surface_samples}")
        bad = [p for p in self.optimize_inputs if p not in INPUT_PARTS]
        if bad or len(set(self.optimize_inputs)) != len(self.optimize_inputs):
            raise ValueError(f"train.optimize_inputs must list distinct parts among {list(INPUT_PARTS)}; got {self.optimize_inputs}")
        _positive("train.lr_inputs", self.lr_inputs)
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise ValueError(f"train.mixed_precision must be no, fp16 or bf16; got {self.mixed_precision!r}")
        if self.eikonal_mode not in ("two_sided", "lower"):
            raise ValueError(f"train.eikonal_mode must be two_sided or lower; got {self.eikonal_mode!r}")
        if self.rgb_loss not in ("l1", "l2"):
            raise ValueError(f"train.rgb_loss must be l1 or l2; got {self.rgb_loss!r}")
