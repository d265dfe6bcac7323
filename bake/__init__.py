"""Stages 2 and 3: bake the stage-1 fields into layered meshes + textures, then fine-tune them.

Modules (each small, named for what it does):

    baked_render  the reference renderer of a baked avatar (the spec every player matches):
                  render_artifact(art, expression, pose, K, w2c, width, height) -> rgba (B,H,W,4)
    lbs           joint_transforms / deform_layer / inverse_points (playback skinning maths)
    source        BakeSource protocol (train.model.AvatarModel satisfies it) + AnalyticSource
    levelset      coarse-to-fine lattice of the manifold, its blur (mc_smoothing), marching cubes per level
    meshing       components, degenerate faces, quadric decimation, outward winding
    uv            xatlas atlas packed into the texture, vertices split at seams
    attributes    per-vertex E, P, w, normals in original space
    texture       UV-space texture bake, supersampling, position-space dilation
    layers        one level -> one artifact layer (meshing in a process pool)
    stage2        `python -m bake --stage bake`: checkpoint -> <workdir>/bake/baked/
    finetune      `--stage finetune`: differentiable fine-tune -> <workdir>/bake/finetuned/
    eval          `python -m bake.eval`: test PSNR/SSIM/mask IoU of stage 1, baked, fine-tuned
    parity        `python -m bake.parity`: reference rasterizer vs nvdiffrast (CUDA)
    previews      PNG previews; toy: a procedural artifact for tests of downstream stages
"""
