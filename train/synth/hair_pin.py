"""An oracle for the manifold over the hair: levels pinned to the synthetic subject's exact shells.

`model.manifold_pin: synthetic_hair` (a diagnosis, synthetic subject only) replaces the manifold
over the scalp patch by a fixed field whose levels lie on the hair shells (`train.synth.hair`,
`train.fields.pin`: with 8 levels, the four shells on levels 1, 3, 5 and 7). Elsewhere the learnt
field is untouched, so the face keeps its own layers (the whole-head frozen oracle smeared the face
at novel jaw openings). It measures what layers at the hair's true depth are worth; `sweep` finds
them from the training images instead (`train.depth_sweep.layer_pin`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from train.fields.pin import pin_volume
from train.synth.hair import build_hair_shells, smooth_vertex_field


@torch.no_grad()
def synthetic_hair_pin(flame, synth_cfg, canonical_vertices: Tensor, levels: Tensor, lo: Tensor, hi: Tensor,
                       res: int, rings: int = 3) -> Tensor:
    """(2, R, R, R): the pinned s and its weight (1 over the scalp patch, fading to 0 over `rings`
    vertex rings around it), over the fields' cube at res^3."""
    names = getattr(flame, "region_names", None)
    if names is None or getattr(flame, "vertex_regions", None) is None:
        raise ValueError("model.manifold_pin synthetic_hair needs the procedural head (data.flame_model: procedural)")
    faces = flame.faces.long().cpu()
    shells = build_hair_shells(flame.v_template.float().cpu(), faces, flame.vertex_regions.long().cpu(), list(names),
                               synth_cfg.hair_shells, synth_cfg.hair_thickness)
    inside = torch.zeros(canonical_vertices.shape[0], 1)
    inside[shells.vertex_index] = 1.0
    weight = torch.maximum(smooth_vertex_field(inside, faces, rings)[:, 0], inside[:, 0])
    return pin_volume(canonical_vertices, faces, lo, hi, res, shells.offsets, levels, canonical_vertices, weight)
