"""One evaluation core for every network: compile a plan, run it on a backend.

- :mod:`~ferlab.engine.plan`: genome -> :class:`Plan` (depth levels, activation groups).
- :mod:`~ferlab.engine.numpy_backend`: one genome, every node's map (``render_genome``).
- :mod:`~ferlab.engine.jax_backend`: ``jit``/``vmap`` over weight vectors (sweeps, training).
- :mod:`~ferlab.engine.population`: many unrelated or related genomes at once
  (``render_population``: search and the breeding screen; ``render_weight_variants``: one
  genome under many weight vectors, for link sweeps without a compile).
- :mod:`~ferlab.engine.dense_batch`: many dense networks of one architecture at once
  (``render_dense_batch``: random-direction sweeps, adaptability neighbourhoods).
- :mod:`~ferlab.engine.threads`: the thread pool, the helper process (started by long-running
  apps: half the pixels of big population renders) and BLAS thread limits.

Dense networks evaluate through :mod:`ferlab.dense`'s one forward pass; :func:`render` takes
either kind. Every backend gives the same image to 1e-5 (``tests/test_engine.py``).
"""
from __future__ import annotations

import numpy as np

from ferlab.canvas import as_canvas
from ferlab.dense import DenseCPPN
from ferlab.engine.dense_batch import render_dense_batch
from ferlab.engine.jax_backend import batch_weights_fn, weights_fn
from ferlab.engine.numpy_backend import Render, render_genome
from ferlab.engine.plan import Level, Plan, compile_genome
from ferlab.engine.population import (STRATEGIES, render_batch, render_population,
                                      render_weight_variants, thumbnails)
from ferlab.engine.threads import limit_blas_threads
from ferlab.genome import Genome


def render(net: Genome | DenseCPPN, res=256, window=None, dtype=None) -> np.ndarray:
    """A genome or dense network's image: (H, W, 3) RGB in [0, 1].

    ``dtype`` None renders genomes in float64 and dense networks in float32 (their weights').
    """
    if isinstance(net, DenseCPPN):
        return net.render(as_canvas(res, window), dtype=dtype or np.float32).image
    return render_genome(net, res, window, dtype=dtype or np.float64).image


__all__ = ["Level", "Plan", "Render", "STRATEGIES", "batch_weights_fn", "compile_genome",
           "limit_blas_threads", "render", "render_batch", "render_dense_batch", "render_genome",
           "render_population", "render_weight_variants", "thumbnails", "weights_fn"]
