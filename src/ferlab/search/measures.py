"""Open-endedness measures over a set of image embeddings, as the literature uses them.

- ``mean_pairwise``: mean Euclidean distance over all pairs (visual diversity);
- ``covering_radii``: greedy k-centre (Gonzalez) covering radius for k = 1..K: the largest
  distance from any point to its nearest of k greedily chosen centres; a set that spreads
  wider needs more centres for the same radius;
- ``mean_nn``: mean nearest-neighbour distance (ASAL's "illumination": how well the set
  fills its space without repeats);
- ``growth``: archive size against evaluations, read from a run's history.

The greedy k-centre starts from the point nearest the centroid, so it is deterministic.
"""
from __future__ import annotations

import numpy as np

from ferlab.search.archives.novelty import sq_distances


def mean_pairwise(emb: np.ndarray) -> float:
    n = len(emb)
    if n < 2:
        return 0.0
    d = np.sqrt(sq_distances(emb, emb))
    return float(d.sum() / (n * (n - 1)))


def mean_nn(emb: np.ndarray) -> float:
    if len(emb) < 2:
        return 0.0
    d = sq_distances(emb, emb)
    np.fill_diagonal(d, np.inf)
    return float(np.sqrt(d.min(axis=1)).mean())


def covering_radii(emb: np.ndarray, k_max: int = 100) -> np.ndarray:
    """Radius after choosing 1..min(k_max, n) centres greedily; (k,) non-increasing."""
    emb = np.asarray(emb, np.float64)
    n = len(emb)
    if n == 0:
        return np.zeros(0)
    first = int(np.argmin(((emb - emb.mean(0)) ** 2).sum(1)))
    near = np.sqrt(sq_distances(emb, emb[first:first + 1])[:, 0])
    radii = [near.max()]
    for _ in range(1, min(int(k_max), n)):
        c = int(np.argmax(near))
        near = np.minimum(near, np.sqrt(sq_distances(emb, emb[c:c + 1])[:, 0]))
        radii.append(near.max())
    return np.array(radii)


def open_endedness(emb: np.ndarray, k_max: int = 100) -> dict:
    """All set measures of one embedding set, JSON-ready."""
    radii = covering_radii(emb, k_max)
    return {"n": int(len(emb)), "mean_pairwise": mean_pairwise(emb), "mean_nn": mean_nn(emb),
            "covering_radii": [float(r) for r in radii],
            "radius_at_10": float(radii[min(9, len(radii) - 1)]) if len(radii) else 0.0}


def growth(history: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(evaluations, archive size) per generation."""
    return (np.array([h["evals"] for h in history]), np.array([h["archive"] for h in history]))
