"""MAP-Elites (Mouret & Clune 2015) over two image descriptors, quality = interestingness
(:mod:`ferlab.search.descriptors`). Parents are drawn uniformly from the occupied cells;
the grid itself is the run's shared illumination archive, so ``tell`` has nothing to add."""
from __future__ import annotations

from ferlab.search.arms.common import children, first_generation
from ferlab.search.state import SearchState


def propose(st: SearchState):
    if len(st.grid.occupied) == 0:
        return first_generation(st)
    return children(st, lambda: st.grid.sample(st.rng, 1)[0], st.config.batch)
