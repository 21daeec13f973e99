"""Weight sweeps, as in the FER paper: change one weight (or one direction) and watch the image.

A sweep adds δ to a weight for δ in a small grid around 0 (default −1, −0.5, 0, +0.5, +1), so
each swept weight gives one row of frames with the original image in the middle.

* Genomes: every link (the paper's "all weight sweeps" sheet) or chosen links; frames come from
  :func:`ferlab.engine.render_weight_variants` (no compile), one call per chunk.
* Dense networks (:mod:`ferlab.sweep.dense`): chosen weights by (kernel, row, col), by the
  paper's flat index, or all of them, through cached activations and exact low-rank tails.
* Random directions: filter-normalised (Li et al. 2018, :func:`filter_normalised`: each
  neuron's incoming weights get a random step of their own size) or a seeded unit vector.

Everything is chunked so memory stays bounded however many frames are asked for; the
streaming forms (:func:`stream` for a dense sweep with its labels, :func:`iter_dense_sweep`
for frames alone) let callers write frames to disk or reduce them to statistics without ever
holding a full sheet.

Modules: ``frames`` (offset grid, sheet), ``select`` (which weights, row names), ``genome``,
``dense``, ``directions``.
"""
from __future__ import annotations

import numpy as np

from ferlab.genome import Genome
from ferlab.network import as_network
from ferlab.sweep.dense import (DenseStream, DenseSweeper, iter_dense_sweep, stream_dense,
                                strongest_weights, sweep_dense)
from ferlab.sweep.directions import (filter_normalised, flat_weights, n_weights, random_direction,
                                     sweep_direction, sweep_random)
from ferlab.sweep.frames import SweepSheet, deltas
from ferlab.sweep.genome import genome_frames, sweep_genome
from ferlab.sweep.select import (dense_origin, existing_weights, link_label, resolve_links,
                                 resolve_weights, weight_label)


def sweep(obj, links=None, weights=None, flat=None, all_weights: bool = False, offsets=None,
          res=64, window=None, genome: Genome | None = None, progress: bool = False) -> SweepSheet:
    """Dispatch: genome links (default all) or dense weights (default: those from genome links
    for a layerized net, else all)."""
    net = as_network(obj)
    if net.kind == "genome":
        if weights or flat:
            raise ValueError("a genome is swept by link (ids like 576:224), not by (k,r,c)/flat index")
        return sweep_genome(net.genome, links, offsets, res, window, progress)
    weights, all_weights = _dense_choice(net.dense, links, weights, flat, all_weights)
    return sweep_dense(net.dense, weights, flat, all_weights, offsets, res, window, genome, progress)


def stream(obj, links=None, weights=None, flat=None, all_weights: bool = False, offsets=None,
           res=64, window=None, genome: Genome | None = None, progress: bool = False) -> DenseStream:
    """:func:`sweep` of a dense network with its frames streamed (:func:`stream_dense`)."""
    net = as_network(obj)
    if net.kind != "dense":
        raise ValueError("only dense networks' sweeps are streamed")
    weights, all_weights = _dense_choice(net.dense, links, weights, flat, all_weights)
    return stream_dense(net.dense, weights, flat, all_weights, offsets, res, window, genome, progress)


def _dense_choice(dense, links, weights, flat, all_weights):
    """No choice means the weights that carry genome links (layerized nets), else all."""
    if links:
        raise ValueError("a dense network is swept by weight (k,r,c) or flat index, not by link id")
    if not (weights or flat or all_weights):
        if dense.origin is not None:
            weights = [tuple(int(v) for v in (k, *np.unravel_index(i, o.shape)))
                       for k, o in enumerate(dense.origin) for i in np.flatnonzero(o.ravel() >= 0)]
        else:
            all_weights = True
    return weights, all_weights


__all__ = ["sweep", "stream", "deltas", "SweepSheet", "DenseStream", "DenseSweeper",
           "iter_dense_sweep", "stream_dense", "sweep_dense", "strongest_weights",
           "sweep_genome", "genome_frames", "random_direction", "filter_normalised",
           "flat_weights", "n_weights", "sweep_direction", "sweep_random", "resolve_links",
           "resolve_weights", "existing_weights", "link_label", "weight_label", "dense_origin"]
