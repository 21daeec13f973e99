"""What a search run is: its arm and settings, checked before any work starts."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ferlab.search.descriptors import MEASURES

ARMS = ("novelty", "map-elites", "target", "random")
EMBEDDINGS = ("pixels", "ae")


@dataclass(frozen=True)
class SearchConfig:
    """Settings of one run; everything that changes the result is here (budget is not:
    a longer budget continues the same run)."""

    arm: str
    seed: int = 0
    res: int = 64
    batch: int = 256        # evaluations per generation
    pop: int = 64           # parents kept by novelty and target (the μ of μ + λ)
    colour: bool = False
    embedding: str = "pixels"  # novelty space: pooled pixels or the learned autoencoder
    measures: tuple[str, str] = ("symmetry", "complexity")
    bins: int = 32          # MAP-Elites grid is bins × bins
    k: int = 15             # novelty: nearest neighbours averaged
    archive_add: int = 4    # novelty: most novel children archived per generation
    crossover: float = 0.2  # chance a child has two parents
    strength: float = 1.0   # mutation strength (as in breeding)
    tournament: int = 3     # target: tournament size
    ae_every: int = 5       # autoencoder refit period, generations
    ae_steps: int = 100     # Adam steps per refit

    def __post_init__(self):
        object.__setattr__(self, "measures", tuple(self.measures))
        check_config(self)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["measures"] = list(self.measures)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SearchConfig":
        known = set(cls.__dataclass_fields__)
        extra = set(d) - known
        if extra:
            raise ValueError(f"unknown search settings: {', '.join(sorted(extra))}")
        return cls(**d)


def check_config(c: SearchConfig) -> None:
    """Raise ValueError (one line) for settings no run can use."""
    if c.arm not in ARMS:
        raise ValueError(f"unknown arm {c.arm!r}: choose one of {', '.join(ARMS)}")
    if not isinstance(c.seed, int) or not 0 <= c.seed < 2**63:
        raise ValueError(f"seed must be an integer in [0, 2^63), got {c.seed!r}")
    if not 32 <= c.res <= 256 or c.res % 32:
        raise ValueError(f"res must be a multiple of 32 in [32, 256], got {c.res}")
    if not 2 <= c.batch <= 4096:
        raise ValueError(f"batch must be in [2, 4096], got {c.batch}")
    if not 2 <= c.pop <= 4096:
        raise ValueError(f"pop must be in [2, 4096], got {c.pop}")
    if c.embedding not in EMBEDDINGS:
        raise ValueError(f"unknown embedding {c.embedding!r}: choose pixels or ae")
    if c.embedding == "ae" and c.arm != "novelty":
        raise ValueError("the learned (ae) embedding drives novelty only: use --arm novelty")
    if len(c.measures) != 2 or len(set(c.measures)) != 2 or not set(c.measures) <= set(MEASURES):
        raise ValueError(f"measures must be two different names of {', '.join(MEASURES)}, got {list(c.measures)}")
    if not 2 <= c.bins <= 128:
        raise ValueError(f"bins must be in [2, 128], got {c.bins}")
    if not 1 <= c.k <= 1000:
        raise ValueError(f"k must be in [1, 1000], got {c.k}")
    if not 0 <= c.archive_add <= c.batch:
        raise ValueError(f"archive_add must be in [0, batch], got {c.archive_add}")
    if not 0.0 <= c.crossover <= 1.0:
        raise ValueError(f"crossover must be a probability, got {c.crossover}")
    if not 0.0 < c.strength <= 2.0:
        raise ValueError(f"strength must be in (0, 2], got {c.strength}")
    if not 1 <= c.tournament <= c.pop:
        raise ValueError(f"tournament must be in [1, pop], got {c.tournament}")
    if c.ae_every < 1 or c.ae_steps < 1:
        raise ValueError("ae_every and ae_steps must be positive")
