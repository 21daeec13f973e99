"""What a finished run found, as plain data: a summary and its elites (for the store, the
figures and the benchmark)."""
from __future__ import annotations

import math

import numpy as np

from ferlab.search.measures import open_endedness
from ferlab.search.runner import elite_novelty
from ferlab.search.state import SearchState


def _num(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def summary(st: SearchState, k_max: int = 100) -> dict:
    """Coverage, best scores and the open-endedness measures of the grid's elites."""
    occ = st.grid.occupied
    return {"arm": st.config.arm, "seed": st.config.seed, "evals": st.evals,
            "generations": st.generation, "coverage": st.grid.coverage, "elites": int(len(occ)),
            "archive": len(st.archive), "best_quality": _num(np.max(st.grid.quality[occ])) if len(occ) else None,
            "best_distance": _num(st.best_distance),
            "measures": open_endedness(st.grid.embedding[occ], k_max)}


def clean_history(history: list[dict]) -> list[dict]:
    return [{k: (_num(v) if isinstance(v, float) else v) for k, v in h.items()} for h in history]


def elites(st: SearchState) -> list[tuple[str, object, dict]]:
    """(kind, genome, fields): every grid elite, the novelty archive and the best-to-target."""
    out = []
    occ = st.grid.occupied
    nov = elite_novelty(st)
    for c, v in zip(occ.tolist(), nov.tolist()):
        out.append(("grid", st.grid.genomes[c], {
            "cell": c, "quality": _num(st.grid.quality[c]), "novelty": _num(v),
            "distance": _num(st.grid.distance[c]), "d0": _num(st.grid.desc[c, 0]),
            "d1": _num(st.grid.desc[c, 1])}))
    for g, v in zip(st.archive.genomes, st.archive.novelty):
        out.append(("archive", g, {"novelty": _num(v)}))
    if st.best_genome is not None:
        out.append(("best", st.best_genome, {"distance": _num(st.best_distance)}))
    return out

