"""The objective control: fitness = closeness to a target image (Woolley & Stanley 2011's
setting). A NEAT-style generational loop without speciation: tournament selection on
distance, crossover and mutation from :mod:`ferlab.evolve`, and (μ + λ) elitism, so the best
distance never rises."""
from __future__ import annotations

import numpy as np

from ferlab.search.arms.common import children, first_generation, keep_best
from ferlab.search.state import SearchState


def propose(st: SearchState):
    if not st.population:
        return first_generation(st)
    scores = st.pop_score

    def pick():
        idx = st.rng.integers(len(st.population), size=st.config.tournament)
        return st.population[int(idx[np.argmin(scores[idx])])]

    return children(st, pick, st.config.batch)


def tell(st: SearchState, genomes, distance: np.ndarray) -> None:
    everyone = list(st.population) + list(genomes)
    scores = np.concatenate([st.pop_score if st.population else np.zeros(0), distance])
    keep = keep_best(scores, st.config.pop)
    st.population = [everyone[i] for i in keep]
    st.pop_score = scores[keep]
