"""A MAP-Elites grid over two descriptors in [0, 1], holding genomes by reference.

pyribs' GridArchive stores fixed-size solution vectors; a genome is a growing graph, so this
archive keeps the cell arrays pyribs would (quality, descriptors, embedding) and a list of
genomes beside them. Insertion is vectorised per batch; ties keep the incumbent, and within
a batch the earlier candidate, so the archive is a pure function of the insertion order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ferlab.genome import Genome


@dataclass
class GridArchive:
    bins: int
    dim: int  # embedding size
    quality: np.ndarray = field(init=False)
    desc: np.ndarray = field(init=False)
    embedding: np.ndarray = field(init=False)
    distance: np.ndarray = field(init=False)
    added_at: np.ndarray = field(init=False)
    genomes: list = field(init=False)

    def __post_init__(self):
        n = self.bins * self.bins
        self.quality = np.full(n, -np.inf)
        self.desc = np.zeros((n, 2))
        self.embedding = np.zeros((n, self.dim), np.float32)
        self.distance = np.full(n, np.nan)
        self.added_at = np.full(n, -1, np.int64)
        self.genomes: list[Genome | None] = [None] * n

    def cells(self, desc: np.ndarray) -> np.ndarray:
        ij = np.clip((np.asarray(desc) * self.bins).astype(np.int64), 0, self.bins - 1)
        return ij[:, 0] * self.bins + ij[:, 1]

    @property
    def occupied(self) -> np.ndarray:
        return np.flatnonzero(np.isfinite(self.quality))

    @property
    def coverage(self) -> float:
        return float(np.isfinite(self.quality).mean())

    def add(self, genomes, desc, quality, embedding, distance, step: int) -> int:
        """Insert a batch; returns how many cells it improved or filled."""
        cells = self.cells(desc)
        q = np.asarray(quality, np.float64)
        # Best candidate per cell: sort by (cell, -quality, position), keep each cell's first.
        order = np.lexsort((np.arange(len(q)), -q, cells))
        first = np.ones(len(order), bool)
        first[1:] = cells[order][1:] != cells[order][:-1]
        best = order[first]
        win = best[q[best] > self.quality[cells[best]]]
        c = cells[win]
        self.quality[c] = q[win]
        self.desc[c] = np.asarray(desc)[win]
        self.embedding[c] = np.asarray(embedding)[win]
        self.distance[c] = np.asarray(distance)[win]
        self.added_at[c] = step
        for cell, k in zip(c.tolist(), win.tolist()):
            self.genomes[cell] = genomes[k]
        return len(win)

    def sample(self, rng: np.random.Generator, n: int) -> list[Genome]:
        occ = self.occupied
        return [self.genomes[int(c)] for c in occ[rng.integers(len(occ), size=n)]]

    # -- checkpoints ------------------------------------------------------------------------
    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}quality": self.quality, f"{prefix}desc": self.desc,
                f"{prefix}embedding": self.embedding, f"{prefix}distance": self.distance,
                f"{prefix}added_at": self.added_at}

    def restore(self, arrays, prefix: str, genomes: dict[int, Genome]) -> None:
        for name in ("quality", "desc", "embedding", "distance", "added_at"):
            setattr(self, name, np.array(arrays[f"{prefix}{name}"]))
        self.genomes = [genomes.get(i) for i in range(self.bins * self.bins)]
