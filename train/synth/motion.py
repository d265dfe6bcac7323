"""Seeded, smooth motion for the synthetic videos: head rotation (global + neck), jaw, gaze and
expressions over time.

Every channel is a sum of low-frequency sinusoids (or, for gaze and blinks, smoothed fixations
and pulses) normalised so that it reaches its amplitude exactly once or more per video. The test
videos use other random streams and `test_scale` times the training amplitudes, so their extreme
head poses and expressions lie outside the training set (`tests/train/test_synth.py` measures it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from train.conventions import N_POSE
from train.synth.config import SynthConfig

SPLITS = ("train", "test")


@dataclass
class Motion:
    """Per-frame parameters of one video."""

    expression: np.ndarray
    """(N, n_exp) float32 expression coefficients."""
    pose: np.ndarray
    """(N, 15) float32 axis-angle pose: global, neck, jaw, eye, eye."""

    def __len__(self) -> int:
        return int(self.pose.shape[0])


def smooth_signal(rng: np.random.Generator, n: int, fps: float, freq: tuple[float, float], terms: int = 4) -> np.ndarray:
    """(n,) smooth signal with max |value| == 1: a sum of `terms` sinusoids with random
    frequencies in `freq` (Hz), phases and weights."""
    t = np.arange(n) / fps
    f = rng.uniform(freq[0], freq[1], size=terms)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=terms)
    w = rng.uniform(0.5, 1.0, size=terms) / np.arange(1, terms + 1)
    s = (w[:, None] * np.sin(2.0 * np.pi * f[:, None] * t[None] + phase[:, None])).sum(0)
    s = s - rng.uniform(-0.2, 0.2) * np.abs(s).max()  # a random bias so sign is not symmetric
    return s / max(np.abs(s).max(), 1e-8)


def unit_signal(rng: np.random.Generator, n: int, fps: float, freq: tuple[float, float]) -> np.ndarray:
    """(n,) smooth signal spanning exactly [0, 1] (one-sided channels: jaw opening)."""
    s = smooth_signal(rng, n, fps, freq)
    return (s - s.min()) / max(s.max() - s.min(), 1e-8)


def fixations(rng: np.random.Generator, n: int, fps: float, hold: tuple[float, float] = (0.4, 1.4)) -> np.ndarray:
    """(n,) gaze-like signal: random targets held for `hold` seconds, quick smoothed saccades
    between them; max |value| == 1."""
    out = np.empty(n)
    i = 0
    while i < n:
        k = max(1, int(round(rng.uniform(*hold) * fps)))
        out[i : i + k] = rng.uniform(-1.0, 1.0)
        i += k
    out = _gauss_smooth(out, sigma=0.04 * fps)
    return out / max(np.abs(out).max(), 1e-8)


def blinks(rng: np.random.Generator, n: int, fps: float, every: tuple[float, float] = (1.5, 4.0), length: float = 0.25) -> np.ndarray:
    """(n,) blink signal in [0, 1]: short raised-cosine pulses at random intervals."""
    t = np.arange(n) / fps
    out = np.zeros(n)
    c = rng.uniform(0.2, every[0])
    while c < t[-1] + length:
        out = np.maximum(out, np.where(np.abs(t - c) < length / 2, 0.5 + 0.5 * np.cos(2 * np.pi * (t - c) / length), 0.0))
        c += rng.uniform(*every)
    return out


def _gauss_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.3:
        return x
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    return np.convolve(np.pad(x, r, mode="edge"), k, mode="valid")


def expression_kind(name: str) -> str:
    """How a named expression component moves: 'pulse' (blinks), 'positive' (jaw/mouth
    opening, one-sided by nature), 'signed' (mostly positive, mildly negative) or 'zero'
    (padding components without a shape, named unused_*)."""
    n = name.lower()
    if n.startswith("unused"):
        return "zero"
    if "blink" in n or "close" in n:
        return "pulse"
    if "jaw" in n or "open" in n:
        return "positive"
    return "signed"


def make_motion(cfg: SynthConfig, n_frames: int, expression_names: list[str], split: str, video_index: int = 0) -> Motion:
    """Deterministic motion of one video.

    Args:
        cfg: the `synth` section (amplitudes, frequencies, fps, seed).
        n_frames: N.
        expression_names: names of the model's expression components (n_exp of them).
        split: "train" or "test" (test: other random streams, `cfg.test_scale` x amplitudes).
        video_index: index of the video within its split (another random stream).
    Returns:
        Motion with expression (N, n_exp) and pose (N, 15), float32.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}")
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1; got {n_frames}")
    rng = np.random.default_rng([cfg.seed, SPLITS.index(split), video_index])
    scale = cfg.test_scale if split == "test" else 1.0
    n, fps, fr = n_frames, cfg.fps, cfg.motion_frequency
    pose = np.zeros((n, N_POSE))
    head = np.stack([a * scale * smooth_signal(rng, n, fps, fr) for a in cfg.head_rotation], axis=1)
    # the global rotation moves slower than the neck (body sway vs head turns)
    slow = (fr[0], 0.5 * (fr[0] + fr[1]))
    body = np.stack([a * scale * smooth_signal(rng, n, fps, slow) for a in cfg.head_rotation], axis=1)
    pose[:, 0:3] = (1.0 - cfg.neck_share) * body
    pose[:, 3:6] = cfg.neck_share * head
    jaw = unit_signal(rng, n, fps, fr)
    pose[:, 6] = cfg.jaw_open * scale * jaw**1.5
    pose[:, 7] = 0.04 * scale * smooth_signal(rng, n, fps, fr)
    gaze = np.stack([a * scale * fixations(rng, n, fps) for a in cfg.gaze], axis=1)
    pose[:, 9:11] = gaze  # both eyes look the same way (conjugate gaze)
    pose[:, 12:14] = gaze

    expr = np.zeros((n, len(expression_names)))
    a = cfg.expression_scale * scale
    blink = cfg.expression_scale * blinks(rng, n, fps)  # one signal: both eyes blink together
    for k, name in enumerate(expression_names):
        kind = expression_kind(name)
        if kind == "zero":
            continue
        if kind == "pulse":
            expr[:, k] = blink  # a blink is a blink in both splits
        elif kind == "positive":
            expr[:, k] = a * unit_signal(rng, n, fps, fr) ** 2
        else:
            s = smooth_signal(rng, n, fps, fr)
            expr[:, k] = a * np.where(s > 0, s, 0.35 * s)
    return Motion(expression=expr.astype(np.float32), pose=pose.astype(np.float32))


def nearest_distance(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(Q,) Euclidean distance from each row of query (Q, D) to its nearest row of reference (R, D)."""
    q = np.asarray(query, np.float64)
    r = np.asarray(reference, np.float64)
    d2 = (q * q).sum(1)[:, None] + (r * r).sum(1)[None] - 2.0 * q @ r.T
    return np.sqrt(np.maximum(d2.min(1), 0.0))
