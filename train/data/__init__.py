"""Datasets: the IMavatar-layout reader (`imavatar`) and its torch Dataset (`dataset`)."""

from train.data.dataset import ImavatarDataset
from train.data.imavatar import DatasetError, SubjectFrames, read_flame_params, read_subject

__all__ = ["DatasetError", "ImavatarDataset", "SubjectFrames", "read_flame_params", "read_subject"]
