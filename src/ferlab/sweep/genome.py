"""Genome link sweeps: ``jax.vmap`` over :func:`ferlab.render.weights_fn`, one call per chunk."""
from __future__ import annotations

import numpy as np

from ferlab.canvas import as_canvas
from ferlab.genome import Genome, fmt_id
from ferlab.graph import structure_key
from ferlab.sweep.frames import SweepSheet, chunk_size, deltas, load_jax, progress_bar
from ferlab.sweep.select import link_label, resolve_links

_GENOME_FNS: dict = {}


def _genome_batch_fn(genome: Genome, res, window):
    """jit(vmap(weights -> image)) for one genome structure.

    Cached by graph structure (not weights), so repeated sweeps reuse the compiled program.
    """
    key = (structure_key(genome), res, window)
    if key not in _GENOME_FNS:
        if len(_GENOME_FNS) > 32:
            _GENOME_FNS.clear()
        _GENOME_FNS[key] = _make_genome_batch_fn(genome, res, window)
    return _GENOME_FNS[key]


def _make_genome_batch_fn(genome: Genome, res, window):
    jax, jnp = load_jax()
    from ferlab.engine import compile_genome

    plan = compile_genome(genome)
    planes = jnp.asarray(as_canvas(res, window).planes(np.float32))

    def one(w):
        return plan.image(plan.forward(w.astype(planes.dtype), planes, jnp, full=False), jnp)

    return jax.jit(jax.vmap(one)), plan


def genome_frames(genome: Genome, weights: np.ndarray, res=64, window=None,
                  progress: bool = False) -> np.ndarray:
    """Render a batch of weight vectors (B, n_links) -> (B, H, W, 3) float32, chunked."""
    canvas = as_canvas(res, window)
    fn, _ = _genome_batch_fn(genome, (canvas.height, canvas.width), tuple(canvas.window))
    weights = np.asarray(weights, np.float32)
    n_nodes = len(genome.nodes)
    step = chunk_size(canvas.height * canvas.width, n_nodes + 3)
    out = np.empty((len(weights), canvas.height, canvas.width, 3), np.float32)
    with progress_bar(len(weights), "sweep", progress) as bar:
        for a in range(0, len(weights), step):
            out[a:a + step] = np.asarray(fn(weights[a:a + step]))
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

