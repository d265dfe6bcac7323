"""Morphable model (FLAME semantics): safe FLAME pickle loader, the procedural head, LBS.

Public API:
    load_morphable_model(source, shape_params=None, n_exp=50, ghostbone=True) -> MorphableModel
    MorphableModel.forward(expression (B, n_exp), pose (B, 15)) -> FlameOutput
    safe_load_flame_pickle(path) -> dict;  FlameModelError
    build_procedural_head() -> dict;  write_procedural_pickle(path)
    rodrigues, pose_feature, joint_transforms, blend_transforms, skin_points, lbs
"""

from train.flame.lbs import blend_transforms, joint_transforms, lbs, pose_feature, rodrigues, skin_points
from train.flame.model import FlameOutput, MorphableModel, load_morphable_model, procedural_cache_path
from train.flame.procedural import EXPRESSION_NAMES, build_procedural_head, write_procedural_pickle
from train.flame.safe_pickle import FlameModelError, safe_load_flame_pickle

__all__ = [
    "EXPRESSION_NAMES", "FlameModelError", "FlameOutput", "MorphableModel", "blend_transforms",
    "build_procedural_head", "joint_transforms", "lbs", "load_morphable_model", "pose_feature",
    "procedural_cache_path", "rodrigues", "safe_load_flame_pickle", "skin_points", "write_procedural_pickle",
]
