"""Seeded 3-D value noise for the solid textures of the synthetic subject.

A periodic lattice of random values (G^3, G a power of two) is interpolated trilinearly with a
smoothstep fade (one `grid_sample` call, the fastest form on CPU); octaves sum it at growing frequencies. Everything is a pure function of the
original-space position and the seed, so the appearance is known exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


class ValueNoise:
    """3-D value noise on a periodic G^3 lattice (values uniform in [0, 1])."""

    def __init__(self, seed: int, size: int = 64, device: torch.device | str = "cpu"):
        if size < 2 or size & (size - 1):
            raise ValueError(f"size must be a power of two >= 2; got {size}")
        g = torch.Generator().manual_seed(int(seed))
        self.size = size
        lattice = torch.rand(size, size, size, generator=g, dtype=torch.float32)
        # one wrapped slice per axis so linear interpolation is periodic
        lattice = torch.cat([lattice, lattice[:1]], 0)
        lattice = torch.cat([lattice, lattice[:, :1]], 1)
        lattice = torch.cat([lattice, lattice[:, :, :1]], 2)
        self.volume = lattice[None, None].to(device)  # (1, 1, G+1, G+1, G+1)

    def __call__(self, p: Tensor, freq: float | Tensor = 1.0) -> Tensor:
        """Noise in [0, 1] at points p (..., 3) scaled by freq (scalar or (3,) per axis) -> (...)."""
        q = torch.remainder(p * torch.as_tensor(freq, dtype=p.dtype, device=p.device), float(self.size))
        i0 = torch.floor(q)
        f = q - i0
        # smoothstep fade: trilinear interpolation at floor + fade(frac) is the faded value noise
        q = i0 + f * f * (3.0 - 2.0 * f)
        grid = (q * (2.0 / self.size) - 1.0).reshape(1, 1, 1, -1, 3).to(self.volume.dtype)
        out = F.grid_sample(self.volume, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return out.reshape(p.shape[:-1]).to(p.dtype)

    def fbm(self, p: Tensor, freq: float, octaves: int = 3, gain: float = 0.5) -> Tensor:
        """Fractal sum of `octaves` octaves, normalised to [0, 1] -> (...)."""
        total, norm, amp, f = None, 0.0, 1.0, freq
        for o in range(octaves):
            # shift each octave so lattice points do not line up across octaves
            n = self(p + 17.31 * o, f) * amp
            total = n if total is None else total + n
            norm += amp
            amp *= gain
            f *= 2.0
        return total / norm
