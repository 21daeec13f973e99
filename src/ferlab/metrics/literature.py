"""Measures from the literature and from peers, kept to compare ``fer_score`` against.

None of these is part of ``fer_score``; ``benchmarks/fer_separation.py`` prints each on the
visible evolved/SGD pairs with its pooled AUC. They look at *every* neuron, cache neurons
included, so unlike :mod:`ferlab.metrics.terms` they change under reparametrisations that
leave the function alone (rescaling or rotating identity neurons, padding).
"""
from __future__ import annotations

import numpy as np

from ferlab.dense import DenseCPPN


def hidden_maps(net: DenseCPPN, res: int = 32) -> list[np.ndarray]:
    """Each hidden layer's maps as (width, H·W) float64."""
    layers = net.render(res, features=True).layers
    return [l.reshape(l.shape[0], -1).astype(np.float64) for l in layers[1:-1]]


def mean_finite_difference(net: DenseCPPN, res: int = 32) -> float:
    """The peer anchor: mean |finite difference| over every hidden neuron's map, both axes."""
    layers = net.render(res, features=True).layers[1:-1]
    m = np.concatenate(layers).astype(np.float64)
    return float(0.5 * (np.abs(np.diff(m, axis=1)).mean() + np.abs(np.diff(m, axis=2)).mean()))


def effective_rank(m: np.ndarray) -> float:
    """Roy & Vetterli's effective rank of a (samples × units) matrix after centring each unit:
    exp(entropy of σ / Σσ); 0 if every unit is constant."""
    m = np.asarray(m, np.float64)
    s = np.linalg.svd(m - m.mean(axis=0), compute_uv=False)
    total = s.sum()
    if total <= 1e-12:
        return 0.0
    p = s[s > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def layer_effective_rank(net: DenseCPPN, res: int = 32) -> float:
    """Mean over hidden layers of the effective rank of the layer's maps / width."""
    out = [effective_rank(f.T) / net.arch.width for f in hidden_maps(net, res)]
    return float(np.mean(out)) if out else 0.0


def linear_cka(a: np.ndarray, b: np.ndarray) -> float:
    """Linear CKA of two sets of maps over the same pixels (rows: neurons), Kornblith et al."""
    x = a.T - a.T.mean(axis=0)
    y = b.T - b.T.mean(axis=0)
    num = np.linalg.norm(x.T @ y) ** 2
    den = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(num / den) if den > 0 else 0.0


def layer_cka(a: DenseCPPN, b: DenseCPPN, res: int = 32) -> list[float]:
    """Linear CKA between layer l of ``a`` and layer l of ``b`` (same depth needed)."""
    return [linear_cka(x, y) for x, y in zip(hidden_maps(a, res), hidden_maps(b, res))]


def spectral_clusterability(net: DenseCPPN, k: int = 4) -> float:
    """Filan et al.'s clusterability proxy: sum of the k smallest eigenvalues of the normalised
    Laplacian of the |weight| graph over all neurons (lower = splits into modules more easily).
    """
    shapes = net.arch.kernel_shapes()
    sizes = [shapes[0][0]] + [s[1] for s in shapes]
    off = np.concatenate([[0], np.cumsum(sizes)])
    n = int(off[-1])
    adj = np.zeros((n, n))
    for i, kern in enumerate(net.kernels):
        adj[off[i]:off[i + 1], off[i + 1]:off[i + 2]] = np.abs(kern)
    adj = adj + adj.T
    deg = adj.sum(axis=1)
    live = deg > 0
    adj, deg = adj[np.ix_(live, live)], deg[live]
    d = 1.0 / np.sqrt(deg)
    lap = np.eye(len(deg)) - d[:, None] * adj * d[None, :]
    ev = np.sort(np.linalg.eigvalsh(lap))
    return float(ev[:k].sum())
