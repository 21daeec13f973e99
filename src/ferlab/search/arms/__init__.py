"""The arms of the experiment (pyribs' emitters): each proposes a generation and learns from
its evaluation. All share one genome model, the breeding operators of :mod:`ferlab.evolve`
and one evaluation (:mod:`ferlab.search.evaluate` and :mod:`ferlab.search.descriptors`)."""
from ferlab.search.arms import map_elites, novelty, random, target

ARM_MODULES = {"novelty": novelty, "map-elites": map_elites, "target": target, "random": random}

__all__ = ["ARM_MODULES"]
