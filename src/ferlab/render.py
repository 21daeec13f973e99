"""Genome -> image (and every node's activation map), vectorised over pixels.

A genome is compiled once into a :class:`Plan`: nodes sorted by depth, then by activation, so
that each depth level is one small matrix product over all pixels followed by one activation
call per activation group. The same plan evaluates under numpy (single renders) and under JAX
(``jit``/``vmap`` over weight vectors, for sweeps and populations): weights stay an argument.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ferlab.activations import apply
from ferlab.canvas import INPUT_LABELS, as_canvas
from ferlab.colour import ink_to_rgb, to_rgb
from ferlab.genome import COLOUR_OUTPUTS, GeneId, Genome


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

    def matrices(self, weights) -> list[np.ndarray]:
        """Per level, the (level width, nodes before it) matrix of summed link weights (numpy)."""
        mats = []
        for lv in self.levels:
            m = np.zeros((lv.stop - lv.start, lv.start), dtype=np.result_type(weights, np.float32))
            np.add.at(m, (lv.rows, lv.cols), weights[lv.link_idx])
            mats.append(m)
        return mats

    def forward(self, weights, planes, xp=np, full: bool = True):
        """All node values, shape (n_nodes, *pixels); ``planes`` is (4, *pixels).

        With ``full=False`` only the output nodes' values, as a list (so XLA keeps no maps).
        """
        pix_shape = planes.shape[1:]
        flat = planes.reshape(4, -1)
        if xp is np:
            mats = self.matrices(weights)
            values = np.empty((len(self.node_ids), flat.shape[1]), dtype=flat.dtype)
            values[:4] = flat
            for lv, m in zip(self.levels, mats):
                z = m.astype(flat.dtype, copy=False) @ values[: lv.start]
                for act, a, b in lv.groups:
                    values[lv.start + a: lv.start + b] = apply(act, z[a:b], np)
        else:
            # Per node and elementwise (no tiny matmuls), so XLA fuses the graph into few loops.
            srcs = self.incoming
            vals = [flat[k] for k in range(4)]
            for lv in self.levels:
                new = []
                for act, a, b in lv.groups:
                    for t in range(lv.start + a, lv.start + b):
                        z = xp.zeros_like(flat[0])
                        for k, s in srcs[t]:
                            z = z + weights[k].astype(flat.dtype) * vals[s]
                        new.append(apply(act, z, xp))
                # Materialise each level once: unbounded fusion recomputes shared nodes.
                vals.extend(_barrier(new))
            if not full:
                return _barrier([vals[i].reshape(pix_shape) for i in self.outputs])
            values = xp.stack(vals)
        return values.reshape((len(self.node_ids),) + tuple(pix_shape))

    def image(self, values, xp=np):
        """Node values (all, or just the outputs' list) -> RGB in [0, 1], shape (*pixels, 3)."""
        outs = values if isinstance(values, list) else [values[i] for i in self.outputs]
        return to_rgb(*outs, xp) if self.colour else ink_to_rgb(outs[0], xp)


def _barrier(xs):
    import jax

    return jax.lax.optimization_barrier(xs)


def compile_genome(genome: Genome) -> Plan:
    """Validate a genome and build its evaluation plan (raises GenomeError naming the fault)."""
    genome.validate()
    depth = genome.depths()
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


@dataclass(frozen=True)
class Render:
    image: np.ndarray  # (H, W, 3) RGB in [0, 1]
    node_maps: dict[GeneId, np.ndarray] | None = None  # node id -> (H, W) activation


def render_genome(genome: Genome, res=256, window=None, nodes: bool = False,
                  dtype=np.float64, plan: Plan | None = None) -> Render:
    """Render a genome at ``res`` (int, (h, w) or a Canvas) over ``window`` of the plane.

    With ``nodes=True`` also return every node's activation map (the CPPN's "neurons").
    """
    canvas = as_canvas(res, window)
    plan = plan or compile_genome(genome)
    weights = np.asarray(genome.weights, dtype=np.float64)
    values = plan.forward(weights.astype(dtype), canvas.planes(dtype), np)
    image = plan.image(values, np)
    maps = {g: values[i] for i, g in enumerate(plan.node_ids)} if nodes else None
    return Render(image, maps)


def weights_fn(genome: Genome, res=256, window=None, dtype=np.float32):
    """A jitted ``weights (n_links,) -> image (H, W, 3)`` for this genome's structure.

    ``jax.vmap`` it over a batch of weight vectors to render many variants in one call.
    """
    import jax
    import jax.numpy as jnp

    plan = compile_genome(genome)
    planes = jnp.asarray(as_canvas(res, window).planes(dtype))

    def fn(w):
        return plan.image(plan.forward(w.astype(planes.dtype), planes, jnp, full=False), jnp)

    return jax.jit(fn)
