"""The whole state of a search between generations: enough to resume it exactly."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ferlab.evolve import Innovations
from ferlab.genome import Genome
from ferlab.search.archives import GridArchive, NoveltyArchive
from ferlab.search.config import SearchConfig
from ferlab.search.descriptors import EMBED_SIDE


@dataclass
class SearchState:
    config: SearchConfig
    rng: np.random.Generator
    innov: Innovations
    grid: GridArchive                 # what the arm has illuminated (kept by every arm)
    archive: NoveltyArchive           # novelty search's archive (empty for other arms)
    target_key: str | None = None     # fingerprint of the target image, if any
    generation: int = 0
    evals: int = 0
    population: list = field(default_factory=list)   # novelty / target parents
    pop_embedding: np.ndarray | None = None
    pop_raw: np.ndarray | None = None                # autoencoder inputs of the population
    pop_score: np.ndarray | None = None              # target: distance of each parent
    best_distance: float = float("inf")
    best_genome: Genome | None = None
    history: list = field(default_factory=list)
    ae: tuple | None = None                          # (params, optimiser state)

def new_state(config: SearchConfig, target_key: str | None = None) -> SearchState:
    dim = EMBED_SIDE * EMBED_SIDE * 3
    ae = None
    novelty_dim = dim
    if config.embedding == "ae":
        from ferlab.search import autoencoder

        ae = autoencoder.init(config.seed)
        novelty_dim = autoencoder.LATENT
    return SearchState(config=config, rng=np.random.default_rng(config.seed),
                       innov=Innovations(branch=1), grid=GridArchive(config.bins, dim),
                       archive=NoveltyArchive(novelty_dim), target_key=target_key, ae=ae)
