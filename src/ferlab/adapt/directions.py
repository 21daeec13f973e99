"""Filter-normalised random directions in weight space (Li et al. 2018, "Visualizing the Loss
Landscape of Neural Nets").

A raw Gaussian step means different things for networks of different weight scale; scaling the
direction so that every neuron's incoming weights (a kernel column, the dense analogue of a
conv filter) move by the same fraction of their own norm makes a radius r comparable across
networks: r = 0.1 moves every neuron's input weights by 10 % of their norm.
"""
from __future__ import annotations

import numpy as np


def filter_normalised_direction(kernels, seed: int = 0, support: str = "all") -> list[np.ndarray]:
    """One seeded direction, shaped like ``kernels``, with ‖d[:, j]‖ = ‖w[:, j]‖ per column.

    ``support``: 'all' draws every entry (zero weights of a neuron may become non-zero: a
    step in the dense network's full weight space); 'nonzero' only the weights that are
    non-zero (for a layerized genome: its own links). Columns whose weights are all zero get
    no step, as in Li et al.
    """
    if support not in ("all", "nonzero"):
        raise ValueError(f"support must be 'all' or 'nonzero', got {support!r}")
    rng = np.random.default_rng(int(seed))
    out = []
    for w in kernels:
        w = np.asarray(w, np.float64)
        d = rng.standard_normal(w.shape)
        if support == "nonzero":
            d = np.where(w != 0, d, 0.0)
        dn = np.linalg.norm(d, axis=0, keepdims=True)
        wn = np.linalg.norm(w, axis=0, keepdims=True)
        out.append(np.where(dn > 0, d * wn / np.where(dn > 0, dn, 1.0), 0.0))
    return out
