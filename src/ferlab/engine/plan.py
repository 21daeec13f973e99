"""Compile a genome into an evaluation :class:`Plan`: nodes in depth levels, weights kept apart.

Nodes are sorted by depth, then by activation, so that each depth level is a few products over
all pixels followed by one activation call per activation group. Weights stay an argument, so
one plan serves single renders (numpy backend) and batches of weight vectors (JAX backend).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ferlab.canvas import INPUT_LABELS
from ferlab.colour import ink_to_rgb, to_rgb
from ferlab.genome import COLOUR_OUTPUTS, GeneId, Genome
from ferlab.graph import depths


@dataclass(frozen=True)
class Level:
    start: int  # first node index of this level in the plan order
    stop: int
    groups: tuple[tuple[str, int, int], ...]  # (activation, start, stop) relative to `start`
    link_idx: np.ndarray  # genome link indices feeding this level
    rows: np.ndarray  # target node index - start
    cols: np.ndarray  # source node index (< start)


@dataclass(frozen=True, eq=False)
class Plan:
    """A genome's evaluation schedule; weights are supplied at evaluation time."""

    node_ids: tuple[GeneId, ...]  # evaluation order; the first four are x, y, d, bias
    levels: tuple[Level, ...]
    outputs: tuple[int, ...]  # node indices of (ink,) or (hue, saturation, brightness)
    colour: bool
    n_links: int

    @cached_property
    def incoming(self) -> list[list[tuple[int, int]]]:
        """node index -> [(link index, source node index)]."""
        inc: list[list[tuple[int, int]]] = [[] for _ in self.node_ids]
        for lv in self.levels:
            for k, r, c in zip(lv.link_idx, lv.rows, lv.cols):
                inc[lv.start + int(r)].append((int(k), int(c)))
        return inc

    def forward(self, weights, planes, xp=np, full: bool = True):
        """All node values, shape (n_nodes, *pixels); ``planes`` is (4, *pixels).

        ``xp`` picks the backend (numpy, or jax.numpy for tracing under jit/vmap). With
        ``full=False`` (JAX only) just the output nodes' values, as a list, so XLA keeps no maps.
        """
        if xp is np:
            from ferlab.engine.numpy_backend import forward

            return forward(self, weights, planes)
        from ferlab.engine.jax_backend import forward

        return forward(self, weights, planes, full)

    def image(self, values, xp=np):
        """Node values (all, or just the outputs' list) -> RGB in [0, 1], shape (*pixels, 3)."""
        outs = values if isinstance(values, list) else [values[i] for i in self.outputs]
        return to_rgb(*outs, xp) if self.colour else ink_to_rgb(outs[0], xp)


def compile_genome(genome: Genome) -> Plan:
    """Validate a genome and build its evaluation plan (raises GenomeError naming the fault)."""
    genome.validate()
    depth = depths(genome)
    acts = {n.id: n.activation for n in genome.nodes}
    inputs = genome.input_ids()
    order = [inputs[k] for k in INPUT_LABELS]
    rest = sorted((g for g in depth if depth[g] > 0), key=lambda g: (depth[g], acts[g], g))
    order += rest
    index = {g: i for i, g in enumerate(order)}
    by_level: dict[int, list[int]] = {}
    for i, l in enumerate(genome.links):
        by_level.setdefault(depth[l.target], []).append(i)
    levels = []
    i = 4
    while i < len(order):
        d = depth[order[i]]
        j = i
        while j < len(order) and depth[order[j]] == d:
            j += 1
        groups, a = [], i
        while a < j:
            b = a
            while b < j and acts[order[b]] == acts[order[a]]:
                b += 1
            groups.append((acts[order[a]], a - i, b - i))
            a = b
        idx = np.array(by_level.get(d, []), dtype=np.int64)
        rows = np.array([index[genome.links[k].target] - i for k in idx], dtype=np.int64)
        cols = np.array([index[genome.links[k].source] for k in idx], dtype=np.int64)
        levels.append(Level(i, j, tuple(groups), idx, rows, cols))
        i = j
    outs = genome.output_ids()
    names = ("ink",) if "ink" in outs else COLOUR_OUTPUTS
    return Plan(tuple(order), tuple(levels), tuple(index[outs[k]] for k in names),
                "ink" not in outs, len(genome.links))
