"""The one place the search renders a population: every arm's images come from here."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ferlab.evolve import render_batch
from ferlab.genome import Genome


def render_population(genomes: Sequence[Genome], res: int) -> np.ndarray:
    """(B, res, res, 3) float32 RGB in [0, 1] for a population of genomes.

    Siblings share most nodes, so the batched screen renderer, which evaluates a node shared
    by several genomes once, is the right tool until a population engine exists.
    """
    return render_batch(list(genomes), int(res))
