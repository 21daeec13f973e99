"""Random directions in weight space: plain unit vectors and filter-normalised ones."""
from __future__ import annotations

import numpy as np

from ferlab.network import as_network
from ferlab.sweep.dense import DenseSweeper
from ferlab.sweep.frames import SweepSheet, deltas
from ferlab.sweep.genome import genome_frames


def n_weights(obj) -> int:
    return as_network(obj).n_weights


def flat_weights(obj) -> np.ndarray:
    """Genome link weights, or a dense net's kernels concatenated in kernel order."""
    return as_network(obj).weights()


def random_direction(obj, seed: int = 0, nonzero: bool = False) -> np.ndarray:
    """A seeded unit vector over all weights (or only the non-zero ones), kernel order."""
    w = flat_weights(obj)
    rng = np.random.default_rng(int(seed))
    v = rng.standard_normal(w.shape)
    if nonzero:
        v = np.where(w != 0, v, 0.0)
    norm = np.linalg.norm(v)
    if norm == 0:
        raise ValueError("no non-zero weights to perturb")
    return v / norm


def sweep_direction(obj, direction: np.ndarray, offsets=None, res=64, window=None,
                    sweeper: DenseSweeper | None = None) -> np.ndarray:
    """Frames (n_offsets, H, W, 3) for weights + δ·direction, one vectorised call."""
    offsets = deltas() if offsets is None else np.asarray(offsets, np.float64)
    direction = np.asarray(direction, np.float64)
    net = as_network(obj)
    if direction.shape != (net.n_weights,):
        raise ValueError(f"direction has shape {direction.shape}, network has {net.n_weights} weights")
    if net.kind == "genome":
        base = net.weights()
        return genome_frames(net.genome, base[None] + offsets[:, None] * direction[None], res, window)
    sw = sweeper or DenseSweeper(net.dense, res, window)
    return sw.direction_frames_many([direction], offsets)[0]


def filter_normalised(obj, rng=0) -> np.ndarray:
    """A random direction scaled filter by filter to the network's own weights (Li et al. 2018).

    Each filter (the incoming weights of one neuron: a kernel column, or a genome node's
    incoming links) gets a Gaussian direction rescaled to that filter's norm, so a step of δ
    moves every neuron's input by about δ times its own size; filters that are all zero (absent
    neurons) stay zero. Unlike a unit direction this step does not shrink as networks grow,
    and it is unchanged when a neuron's incoming weights are rescaled. ``rng``: a seed or a
    numpy Generator. Flat, in kernel (or link) order, like :func:`random_direction`.
    """
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(int(rng))
    net = as_network(obj)
    if net.kind == "genome":
        w = net.weights()
        v = gen.standard_normal(w.shape)
        filters: dict = {}
        for i, link in enumerate(net.genome.links):
            filters.setdefault(link.target, []).append(i)
        out = np.zeros_like(w)
        for idx in filters.values():
            out[idx] = v[idx] * (np.linalg.norm(w[idx]) / max(np.linalg.norm(v[idx]), 1e-300))
        return out
    parts = []
    for kern in net.dense.kernels:
        w = np.asarray(kern, np.float64)
        v = gen.standard_normal(w.shape)
        scale = np.linalg.norm(w, axis=0) / np.maximum(np.linalg.norm(v, axis=0), 1e-300)
        parts.append((v * scale[None, :]).ravel())
    return np.concatenate(parts)


#: How sweep_random draws directions: "filter" (filter-normalised, the paper's figures and
#: Li et al.'s loss landscapes) or "unit" (one unit vector over all weights).
DIRECTION_KINDS = ("filter", "unit")


def sweep_random(obj, n: int = 3, seed: int = 0, nonzero: bool = False, offsets=None, res=64,
                 window=None, kind: str = "filter") -> SweepSheet:
    """``n`` random-direction sweeps, directions seeded by seed, seed+1, ... (see DIRECTION_KINDS).

    A filter-normalised direction only moves weights that exist (zero filters stay zero), so
    ``nonzero`` matters only for unit directions.
    """
    if kind not in DIRECTION_KINDS:
        raise ValueError(f"direction kind must be one of {', '.join(DIRECTION_KINDS)}, got {kind!r}")
    offsets = deltas() if offsets is None else np.asarray(offsets, np.float64)
    net = as_network(obj)
    sw = None if net.kind == "genome" else DenseSweeper(net.dense, res, window)
    frames, labels, rows = [], [], []
    for i in range(int(n)):
        if kind == "filter":
            d = filter_normalised(obj, seed + i)
            what = "filter-normalised"
        else:
            d = random_direction(obj, seed + i, nonzero)
            what = "unit" + (", non-zero weights" if nonzero else "")
        frames.append(sweep_direction(obj, d, offsets, res, window, sweeper=sw))
        labels.append(f"random direction seed {seed + i} ({what})")
        rows.append({"seed": seed + i, "nonzero": nonzero, "kind": kind})
    return SweepSheet(np.stack(frames), offsets, tuple(labels), tuple(rows),
                      {"name": net.name, "kind": "random"})

