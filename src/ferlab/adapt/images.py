"""When is a neighbour still a picture? Coherence and a descriptor space, on plain arrays.

A neighbour (the image of a perturbed network) counts as *coherent* when all three hold:

1. smooth: its roughness — the share of its variance above a 3×3 box blur, i.e. the
   pixel-scale detail that noise is made of — is at most
   ``max(rough_ratio · r₀, r₀ + rough_margin)`` where r₀ is the original's;
2. structured like the original: the cosine between its descriptor and the original's is at
   least ``min_similarity``;
3. not washed out: its standard deviation is at least ``min_contrast`` × the original's.

The descriptor is the image area-pooled to ``grid``×``grid`` RGB cells, centred and scaled to
unit length, so it ignores brightness offset and contrast and keeps layout; distances between
descriptors lie in [0, 2]. Diversity of a set of neighbours is their mean pairwise distance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferlab.search.measures import mean_pairwise


@dataclass(frozen=True)
class CoherenceRule:
    rough_ratio: float = 2.0
    rough_margin: float = 0.05
    min_similarity: float = 0.5
    min_contrast: float = 0.25
    grid: int = 8


def _batch(images) -> np.ndarray:
    a = np.asarray(images, np.float64)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != 3:
        raise ValueError(f"expected (H, W, 3) or (N, H, W, 3) images, got shape {a.shape}")
    return a


def descriptor(images, grid: int = 8) -> np.ndarray:
    """(N, H, W, 3) or (H, W, 3) -> (N, grid·grid·3) unit vectors (zeros for flat images)."""
    a = _batch(images)
    n, h, w, _ = a.shape
    if h < grid or w < grid:
        raise ValueError(f"images of {w}x{h} are smaller than the {grid}x{grid} descriptor grid")
    rows = np.linspace(0, h, grid + 1).astype(int)[:-1]
    cols = np.linspace(0, w, grid + 1).astype(int)[:-1]
    sums = np.add.reduceat(np.add.reduceat(a, rows, axis=1), cols, axis=2)
    counts = np.outer(np.diff(np.append(rows, h)), np.diff(np.append(cols, w)))[None, :, :, None]
    f = (sums / counts).reshape(n, -1)
    f = f - f.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(f, axis=1, keepdims=True)
    return np.where(norm > 1e-9, f / np.where(norm > 1e-9, norm, 1.0), 0.0)


def _box3(a: np.ndarray) -> np.ndarray:
    p = np.pad(a, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = a.shape[1:3]
    return sum(p[:, i:i + h, j:j + w] for i in range(3) for j in range(3)) / 9.0


def roughness(images) -> np.ndarray:
    """(N,) share of each image's variance above a 3×3 box blur (0 = smooth, ~0.9 = white noise)."""
    a = _batch(images)
    hi = ((a - _box3(a)) ** 2).sum(axis=(1, 2, 3))
    var = ((a - a.mean(axis=(1, 2), keepdims=True)) ** 2).sum(axis=(1, 2, 3))
    return np.where(var > 1e-12, hi / np.where(var > 1e-12, var, 1.0), 0.0)


def coherence(original, images, rule: CoherenceRule = CoherenceRule()) -> dict:
    """Per image: 'coherent' (bool), 'similarity', 'roughness', 'contrast' (std ratio)."""
    orig = _batch(original)
    imgs = _batch(images)
    r0 = float(roughness(orig)[0])
    d0 = descriptor(orig, rule.grid)[0]
    s0 = float(orig.std())
    sim = descriptor(imgs, rule.grid) @ d0
    rough = roughness(imgs)
    contrast = imgs.std(axis=(1, 2, 3)) / s0 if s0 > 0 else np.ones(len(imgs))
    ok = ((rough <= max(rule.rough_ratio * r0, r0 + rule.rough_margin))
          & (sim >= rule.min_similarity) & (contrast >= rule.min_contrast))
    return {"coherent": ok, "similarity": sim, "roughness": rough, "contrast": contrast}


def diversity(desc: np.ndarray) -> float:
    """Mean pairwise Euclidean distance between descriptors (NaN for fewer than two)."""
    return mean_pairwise(desc) if len(desc) >= 2 else float("nan")


def mse(a, b) -> float:
    return float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
