"""Operators every arm shares: the starting generation and one child from chosen parents."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ferlab.evolve import child, first_screen
from ferlab.genome import Genome
from ferlab.search.state import SearchState


def first_generation(st: SearchState) -> list[Genome]:
    """NEAT's start: one minimal structure (shared gene ids, so crossover aligns genes) with
    ``batch`` independent draws of its weights and output activations."""
    seed = int(st.rng.integers(2**63))
    genomes, st.innov = first_screen(st.config.batch, seed, st.innov, st.config.colour)
    return genomes


def children(st: SearchState, pick: Callable[[], Genome], n: int) -> list[Genome]:
    """``n`` children: each one mutation of a picked parent, after crossover with a second
    picked parent with probability ``config.crossover``."""
    c = st.config
    out = []
    for _ in range(n):
        parents = [pick(), pick()] if st.rng.random() < c.crossover else [pick()]
        g, st.innov = child(parents, st.rng, st.innov, c.strength)
        out.append(g)
    return out


def uniform(st: SearchState, genomes: list[Genome]) -> Callable[[], Genome]:
    return lambda: genomes[int(st.rng.integers(len(genomes)))]


def keep_best(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` lowest scores, ties broken by position (stable)."""
    return np.argsort(scores, kind="stable")[:n]
