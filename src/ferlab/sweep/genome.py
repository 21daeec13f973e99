"""Genome link sweeps: :func:`ferlab.engine.render_weight_variants`, chunked.

Nothing is compiled: the grouped population renderer computes the nodes upstream of every
changed link once for all variants, which beats ``jit(vmap)`` plus its compile for a
one-off sheet (``benchmarks/sweep_speed.py``).
"""
from __future__ import annotations

import numpy as np

from ferlab.canvas import as_canvas
from ferlab.engine import render_weight_variants
from ferlab.genome import Genome, fmt_id
from ferlab.sweep.frames import SweepSheet, chunk_size, deltas, progress_bar
from ferlab.sweep.select import link_label, resolve_links


def genome_frames(genome: Genome, weights: np.ndarray, res=64, window=None,
                  progress: bool = False) -> np.ndarray:
    """Render a batch of weight vectors (B, n_links) -> (B, H, W, 3) float32, chunked."""
    canvas = as_canvas(res, window)
    weights = np.asarray(weights, np.float64)
    step = chunk_size(canvas.height * canvas.width, len(genome.nodes) + 3)
    out = np.empty((len(weights), canvas.height, canvas.width, 3), np.float32)
    with progress_bar(len(weights), "sweep", progress) as bar:
        for a in range(0, len(weights), step):
            out[a:a + step] = render_weight_variants(genome, weights[a:a + step], canvas)
            bar.update(min(step, len(weights) - a))
    return out


def sweep_genome(genome: Genome, links=None, offsets=None, res=64, window=None,
                 progress: bool = False) -> SweepSheet:
    """One row per link (default: every link), frames at weight + δ for δ in ``offsets``."""
    offsets = deltas() if offsets is None else np.asarray(offsets, np.float64)
    idx = resolve_links(genome, links)
    base = np.asarray(genome.weights, np.float64)
    batch = np.repeat(base[None], len(idx) * len(offsets), axis=0)
    for r, i in enumerate(idx):
        batch[r * len(offsets):(r + 1) * len(offsets), i] += offsets
    frames = genome_frames(genome, batch, res, window, progress)
    frames = frames.reshape((len(idx), len(offsets)) + frames.shape[1:])
    rows = tuple({"link": i, "id": fmt_id(genome.links[i].id), "weight": float(base[i]),
                  "color_label": genome.links[i].color_label,
                  "label": genome.label_text(genome.links[i].color_label)} for i in idx)
    return SweepSheet(frames, offsets, tuple(link_label(genome, i) for i in idx), rows,
                      {"name": genome.meta.get("name", "genome"), "kind": "links"})

