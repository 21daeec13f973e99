"""Open-ended search without people: novelty search, MAP-Elites, the objective control and
random genomes, sharing one genome model, the breeding operators and one evaluation.

    from ferlab.search import SearchConfig, run_search
    st = run_search(SearchConfig("novelty", seed=1), budget=10_000, target=skull_64)
    st.grid.coverage, st.best_distance, st.history[-1]

Layout (pyribs' shape): ``archives/`` (grid, novelty), ``arms/`` (the emitters),
``descriptors`` and ``autoencoder`` (what an image is), ``evaluate`` (the one render
entry point), ``runner`` (generations, budget, progress), ``checkpoint``, ``measures``
(open-endedness).
"""
from ferlab.search.checkpoint import load_checkpoint, save_checkpoint
from ferlab.search.config import ARMS, SearchConfig
from ferlab.search.runner import elite_novelty, run, run_search, start, step
from ferlab.search.state import SearchState

__all__ = ["ARMS", "SearchConfig", "SearchState", "elite_novelty", "load_checkpoint", "run",
           "run_search", "save_checkpoint", "start", "step"]
