"""Novelty search's archive (Lehman & Stanley 2011) and its k-nearest-neighbour novelty."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ferlab.genome import Genome


def sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) squared Euclidean distances, clipped at 0 against rounding."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def knn_novelty(points: np.ndarray, reference: np.ndarray, k: int, self_in_reference: bool) -> np.ndarray:
    """Mean distance of each point to its k nearest neighbours in ``reference``.

    With ``self_in_reference`` the i-th reference row is the i-th point itself and is skipped.
    """
    if len(reference) == 0:
        return np.zeros(len(points))
    d = sq_distances(points, reference)
    if self_in_reference:
        d[np.arange(len(points)), np.arange(len(points))] = np.inf
    kk = min(int(k), d.shape[1] - (1 if self_in_reference else 0))
    if kk < 1:
        return np.zeros(len(points))
    part = np.partition(d, kk - 1, axis=1)[:, :kk]
    return np.sqrt(part).mean(axis=1)


@dataclass
class NoveltyArchive:
    """Embeddings (and what they were computed from) of individuals judged novel when seen."""

    dim: int
    embedding: np.ndarray = field(init=False)
    raw: np.ndarray | None = field(default=None, init=False)  # autoencoder inputs, if learned
    novelty: list = field(default_factory=list, init=False)
    genomes: list = field(default_factory=list, init=False)

    def __post_init__(self):
        self.embedding = np.zeros((0, self.dim), np.float32)

    def __len__(self) -> int:
        return len(self.genomes)

    def add(self, genomes: list[Genome], embedding: np.ndarray, novelty, raw=None) -> None:
        self.genomes.extend(genomes)
        self.novelty.extend(float(v) for v in novelty)
        self.embedding = np.concatenate([self.embedding, np.asarray(embedding, np.float32)])
        if raw is not None:
            raw = np.asarray(raw, np.float32)
            self.raw = raw if self.raw is None else np.concatenate([self.raw, raw])
