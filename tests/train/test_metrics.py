"""train.metrics.mask_iou on single masks and batches."""

import numpy as np
import pytest
import torch

from train.metrics import mask_iou


def _pair():
    a = torch.zeros(8, 8)
    b = torch.zeros(8, 8)
    a[:4] = 1.0
    b[2:6] = 1.0
    return a, b  # IoU 16 / 48


def test_batched_is_mean_of_per_image():
    a, b = _pair()
    # image 0: horizontal bands (IoU 1/3); image 1: identical masks (IoU 1);
    # image 2: disjoint left/right halves (IoU 0). Column 0 alone would say 1/3, 1, 1.
    pa = torch.stack([a, a, torch.zeros(8, 8)])
    pb = torch.stack([b, a, torch.zeros(8, 8)])
    pa[2, :, :4] = 1.0
    pb[2, :, 4:] = 1.0
    per_image = [mask_iou(pa[i], pb[i]) for i in range(3)]
    assert per_image == pytest.approx([1 / 3, 1.0, 0.0])
    assert mask_iou(pa, pb) == pytest.approx(np.mean(per_image))
    # numpy input and a trailing channel of 1 give the same answer
    assert mask_iou(pa.numpy(), pb.numpy()) == pytest.approx(4 / 9)
    assert mask_iou(pa[..., None], pb[..., None]) == pytest.approx(4 / 9)
    assert mask_iou(a[..., None], b[..., None]) == pytest.approx(1 / 3)


def test_threshold_and_empty():
    a, b = _pair()
    assert mask_iou(0.4 * a, b) == 0.0  # below threshold -> empty vs. non-empty
    assert mask_iou(torch.zeros(2, 4, 4), torch.zeros(2, 4, 4)) == 1.0


def test_shape_errors():
    with pytest.raises(ValueError):
        mask_iou(torch.zeros(2, 4, 4), torch.zeros(3, 4, 4))
    with pytest.raises(ValueError):
        mask_iou(torch.zeros(2, 2, 4, 4), torch.zeros(2, 2, 4, 4))
