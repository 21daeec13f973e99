"""Novelty search (Lehman & Stanley 2011): no objective at all.

Novelty = mean distance to the k nearest neighbours among the parents, the children and the
archive, in the run's embedding (pooled pixels or the learned autoencoder). Parents are drawn
uniformly; the most novel ``pop`` of parents + children survive (μ + λ), and the
``archive_add`` most novel children of each generation enter the archive.
"""
from __future__ import annotations

import numpy as np

from ferlab.search.archives import knn_novelty
from ferlab.search.arms.common import children, first_generation, keep_best, uniform
from ferlab.search.state import SearchState


def propose(st: SearchState):
    if not st.population:
        return first_generation(st)
    return children(st, uniform(st, st.population), st.config.batch)


def tell(st: SearchState, genomes, emb: np.ndarray, raw) -> np.ndarray:
    """Select survivors and archive the most novel; returns the children's novelty."""
    c = st.config
    pop_emb = st.pop_embedding if st.population else np.zeros((0, emb.shape[1]), np.float32)
    every = np.concatenate([pop_emb, emb])
    nov = knn_novelty(every, np.concatenate([every, st.archive.embedding]), c.k, True)
    kid_nov = nov[len(pop_emb):]
    if c.archive_add:
        top = keep_best(-kid_nov, c.archive_add)
        st.archive.add([genomes[i] for i in top], emb[top], kid_nov[top],
                       None if raw is None else raw[top])
    everyone = list(st.population) + list(genomes)
    keep = keep_best(-nov, c.pop)
    st.population = [everyone[i] for i in keep]
    st.pop_embedding = every[keep]
    if raw is not None:
        all_raw = raw if st.pop_raw is None or not len(pop_emb) else np.concatenate([st.pop_raw, raw])
        st.pop_raw = all_raw[keep]
    return kid_nov
