"""Many genomes at once: the population backend that search and the breeding screen call.

Two strategies, chosen by a parameter:

- ``"grouped"`` (numpy, the default): all genomes' nodes laid out together by (depth,
  activation), so each group is one product and one activation call over every genome; nodes
  that several genomes share (siblings on a breeding screen) are computed once.
- ``"padded"`` (JAX): every genome padded to one fixed shape and evaluated under ``jit`` +
  ``vmap``, as GPU NEAT libraries do; compiled once per padded shape.

``benchmarks/population.py`` measures both against a plain per-genome loop.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ferlab.engine.population.grouped import render_grouped
from ferlab.genome import Genome

STRATEGIES = ("grouped", "padded")


def render_population(genomes: Sequence[Genome], res=64, window=None, *, dtype=np.uint8,
                      strategy: str = "grouped", validate: bool = True,
                      threads: int | None = None) -> np.ndarray:
    """Render genomes together: (n, H, W, 3) uint8 (truncated like ``to_bytes``) or float32.

    ``validate=False`` skips the per-genome checks for genomes valid by construction (fresh
    from the operators); an invalid genome then fails with an unspecified error.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.uint8, np.float32):
        raise ValueError(f"dtype must be uint8 or float32, got {dtype}")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}: one of {', '.join(STRATEGIES)}")
    if validate:
        for g in genomes:
            g.validate()
    if strategy == "padded":
        from ferlab.engine.population.padded import render_padded

        return render_padded(genomes, res, window, dtype)
    return render_grouped(genomes, res, window, threads, dtype)


def render_weight_variants(genome: Genome, weights, res=64, window=None, dtype=np.float32) -> np.ndarray:
    """Images of one genome under many weight vectors, (B, n_links) -> (B, H, W, 3).

    The grouped strategy: nodes upstream of every changed link are computed once for all
    variants and nothing is compiled, so a genome's link-sweep sheet (285 frames for the
    skull) costs ~5x less CPU than ``jit(vmap)`` with its compile (benchmarks/render_speed.py).
    """
    weights = np.asarray(weights, np.float64)
    if weights.ndim != 2 or weights.shape[1] != len(genome.links):
        raise ValueError(f"weights must be (B, {len(genome.links)}), got {weights.shape}")
    if not np.all(np.isfinite(weights)):
        raise ValueError("weights must be finite")
    genome.validate()
    return render_population([genome.with_weights(w) for w in weights], res, window,
                             dtype=dtype, validate=False)


def render_batch(genomes: Sequence[Genome], res=128, window=None, threads: int | None = None) -> np.ndarray:
    """(B, H, W, 3) float32 RGB in [0, 1]; the same formulas as the numpy backend, in float32."""
    return render_population(genomes, res, window, dtype=np.float32, threads=threads)


def thumbnails(genomes: Sequence[Genome], res=128, window=None, threads: int | None = None,
               validate: bool = True) -> np.ndarray:
    """(B, H, W, 3) uint8 images, truncated like :func:`ferlab.colour.to_bytes`."""
    return render_population(genomes, res, window, dtype=np.uint8, threads=threads, validate=validate)
