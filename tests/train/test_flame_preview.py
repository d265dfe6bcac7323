"""The preview splatter: coverage, depth order, back-face culling (the sheet is for people)."""

from __future__ import annotations

import numpy as np

from train.flame.preview import splat


def test_splat_depth_order_and_culling():
    # two squares facing +z: red near (z = 0.5) over the left half, blue far (z = 0) everywhere
    quad = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)
    far = np.c_[quad, np.zeros(4)]
    near = np.c_[quad * [0.5, 1.0] + [-0.5, 0.0], np.full(4, 0.5)]
    v = np.concatenate([far, near])
    f = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    col = np.array([[0, 0, 255.0]] * 4 + [[255.0, 0, 0]] * 4)
    img = splat(v, f, col, size=32, extent=1.0, centre=np.zeros(3)).astype(int)
    assert img[16, 4, 0] > 100 and img[16, 4, 2] == 0  # left: red in front
    assert img[16, 28, 2] > 100 and img[16, 28, 0] == 0  # right: blue
    # flipped winding faces away: culled, background stays white
    img2 = splat(v, f[:, ::-1], col, size=32, extent=1.0, centre=np.zeros(3))
    assert (img2 == 255).all()
