"""The one place the search renders a population: every arm's images come from here."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ferlab.engine import render_population as _engine_population
from ferlab.genome import Genome


def render_population(genomes: Sequence[Genome], res: int, validate: bool = False) -> np.ndarray:
    """(B, res, res, 3) float32 RGB in [0, 1] for a population of genomes.

    The engine's population path (grouped: nodes shared by siblings are computed once).
    ``validate`` is off by default because the breeding operators and the random arm build
    valid DAGs by construction (tests check every archived genome).
    """
    return _engine_population(list(genomes), int(res), dtype=np.float32, validate=validate)
