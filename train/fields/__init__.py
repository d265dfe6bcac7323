"""Stage-1 neural fields over canonical space: manifold (layers), deformation, radiance."""

from train.fields.deformer import DeformField
from train.fields.grid import (FeaturePlanes, MultiResGrid, box_dims, box_lattice, canonical_cube, lattice_points, sample_volume,
                               to_grid_coords)
from train.fields.manifold import ManifoldField
from train.fields.prior import area_samples, attribute_volume, nearest_vertex, signed_distance, vertex_attributes, vertex_normals
from train.fields.radiance import RadianceField

__all__ = [
    "DeformField", "FeaturePlanes", "ManifoldField", "MultiResGrid", "RadianceField", "area_samples",
    "attribute_volume", "box_dims", "box_lattice", "canonical_cube", "lattice_points",
    "nearest_vertex", "sample_volume", "signed_distance", "to_grid_coords", "vertex_attributes", "vertex_normals",
]
