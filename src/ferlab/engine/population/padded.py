"""The padded population strategy: every genome as fixed-shape tensors under ``jit`` + ``vmap``.

Each genome becomes N node slots in topological order (x, y, d, bias first; nodes that reach
no output dropped) with up to K incoming (source slot, weight) pairs per slot and an
activation code, padded with zero-weight links and identity slots. One compiled program per
padded shape (N, K rounded up, batch rounded up) renders any population of that shape, so
a search that breeds thousands of new structures compiles a handful of times. Every slot
computes each activation and selects its own: the price of a fixed shape, paid back on wide
hardware, less so on two CPU cores (``benchmarks/population.py`` measures it).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ferlab.activations import GENOME_ACTIVATIONS
from ferlab.canvas import as_canvas
from ferlab.genome import COLOUR_OUTPUTS, Genome
from ferlab.graph import ancestors, incoming, topological_order

ACT_CODE = {a: i for i, a in enumerate(GENOME_ACTIVATIONS)}


def _ceil(n: int, m: int) -> int:
    return max(m, -(-n // m) * m)


def pack(genomes: Sequence[Genome], node_round: int = 8, link_round: int = 4, batch_round: int = 16):
    """Padded arrays (acts (B, N), src (B, N, K), w (B, N, K), outs (B, 3), colour (B,))."""
    slots, rows = [], []
    for g in genomes:
        outs = g.output_ids()
        colour = "ink" not in outs
        out_ids = [outs[k] for k in (COLOUR_OUTPUTS if colour else ("ink",))]
        keep = ancestors(g, out_ids)
        inputs = g.input_ids()
        order = [inputs[k] for k in ("x", "y", "d", "bias")]
        order += [n for n in topological_order(g) if n in keep and n not in order]
        index = {nid: i for i, nid in enumerate(order)}
        acts = {n.id: n.activation for n in g.nodes}
        inc = incoming(g)
        node_rows = [(ACT_CODE[acts[nid]], [(index[g.links[i].source], g.links[i].weight) for i in inc[nid]])
                     for nid in order[4:]]
        slots.append((node_rows, [index[o] for o in out_ids] * (1 if colour else 3), colour))
        rows.append(len(order))
    n = _ceil(max(rows, default=4), node_round)
    k = _ceil(max((len(ins) for s in slots for _, ins in s[0]), default=1), link_round)
    b = _ceil(len(genomes), batch_round)
    acts = np.zeros((b, n), np.int32)  # padding slots: identity of nothing = 0
    src = np.zeros((b, n, k), np.int32)
    w = np.zeros((b, n, k), np.float32)
    outs = np.zeros((b, 3), np.int32)
    colour = np.zeros(b, bool)
    for j, (node_rows, out_slots, is_colour) in enumerate(slots):
        for i, (code, ins) in enumerate(node_rows, start=4):
            acts[j, i] = code
            for m, (s, wt) in enumerate(ins):
                src[j, i, m] = s
                w[j, i, m] = wt
        outs[j] = out_slots
        colour[j] = is_colour
    return acts, src, w, outs, colour


class PaddedRenderer:
    """Compiled padded programs, cached by (padded shape, canvas): an explicit cache."""

    def __init__(self, max_programs: int = 16):
        self.max_programs = max_programs
        self._programs: dict = {}

    def program(self, shape, canvas, to_u8: bool):
        key = (shape, canvas, to_u8)
        fn = self._programs.get(key)
        if fn is None:
            if len(self._programs) >= self.max_programs:
                self._programs.pop(next(iter(self._programs)))
            fn = self._programs[key] = _build(shape, canvas, to_u8)
        return fn

    def render(self, genomes: Sequence[Genome], res=64, window=None, dtype=np.uint8) -> np.ndarray:
        canvas = as_canvas(res, window)
        if not genomes:
            return np.empty((0, canvas.height, canvas.width, 3), dtype)
        arrays = pack(genomes)
        fn = self.program(arrays[2].shape, canvas, np.dtype(dtype) == np.uint8)
        return np.asarray(fn(*arrays))[: len(genomes)]


def _build(shape, canvas, to_u8: bool):
    import jax
    import jax.numpy as jnp

    from ferlab.activations import apply
    from ferlab.colour import ink_to_rgb, to_rgb

    _, n, _ = shape
    planes = jnp.asarray(canvas.planes(np.float32).reshape(4, -1))
    h, wd = canvas.height, canvas.width

    def one(acts, src, w, outs, colour):
        def slot(i, vals):
            z = jnp.einsum("k,kp->p", w[i], vals[src[i]])
            # Every activation, then the slot's own: a fixed shape cannot branch per genome.
            out = z
            for code, a in enumerate(GENOME_ACTIVATIONS):
                if a != "identity":
                    out = jnp.where(acts[i] == code, apply(a, z, jnp), out)
            return vals.at[i].set(out)

        # A loop, not n unrolled slots: compiling stays ~1 s whatever the padded size.
        vals = jnp.concatenate([planes, jnp.zeros((n - 4, planes.shape[1]), planes.dtype)])
        vals = jax.lax.fori_loop(4, n, slot, vals)
        o = vals[outs]
        rgb = jnp.where(colour, to_rgb(o[0], o[1], o[2], jnp), ink_to_rgb(o[2], jnp))
        if to_u8:
            return jnp.clip(rgb * 255.0, 0.0, 255.0).astype(jnp.uint8).reshape(h, wd, 3)
        return rgb.reshape(h, wd, 3)

    return jax.jit(jax.vmap(one))


_default = PaddedRenderer()


def render_padded(genomes: Sequence[Genome], res=64, window=None, dtype=np.uint8) -> np.ndarray:
    """(n, H, W, 3) uint8 or float32 images with the process's default compiled programs."""
    return _default.render(genomes, res, window, dtype)
