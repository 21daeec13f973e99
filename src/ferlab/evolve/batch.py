"""Render a screen of related genomes together, in float32 numpy, sharing what they share.

Children of one parent repeat most of its computation: a node whose activation, incoming
weights and (recursively) sources are the same in two genomes has the same activation map in
both. Each node is therefore hashed by that recursive signature and evaluated once per batch.
The distinct nodes are laid out by (depth, activation) so that every such group is one
gather-multiply-reduce and one activation call over a contiguous block of rows: a handful of
numpy calls per level instead of several per node and genome. JIT compilation is no use here:
every child has a new structure, and compiling one costs more than rendering it.
"""
from __future__ import annotations

import os
import threading
from typing import Sequence

import numpy as np

from ferlab.activations import apply
from ferlab.canvas import INPUT_LABELS, as_canvas
from ferlab.colour import ink_to_rgb, to_rgb
from ferlab.genome import COLOUR_OUTPUTS, Genome

#: Most distinct source rows gathered at once, to bound the scratch buffer.
_MAX_GATHER = 128

_local = threading.local()


def _workspace(name: str, shape: tuple[int, int]) -> np.ndarray:
    """A reusable per-thread float32 buffer: fresh allocations page-fault on every call."""
    key = f"ws_{name}"
    buf = getattr(_local, key, None)
    need = shape[0] * shape[1]
    if buf is None or buf.size < need:
        buf = np.empty(max(need, 1), dtype=np.float32)
        setattr(_local, key, buf)
    return buf[:need].reshape(shape)


class _Program:
    """The distinct nodes of a batch of genomes, keyed by recursive signature."""

    def __init__(self, genomes: Sequence[Genome]):
        self.keys: dict[tuple, int] = {}
        self.act: list[str] = []
        self.depth: list[int] = []
        self.inputs: list[list[tuple[int, float]]] = []
        for i, lab in enumerate(INPUT_LABELS):
            self.keys[("in", lab)] = i
            self.act.append("input")
            self.depth.append(0)
            self.inputs.append([])
        self.outputs: list[tuple[int, ...]] = []
        self.colour: list[bool] = []
        for g in genomes:
            self._add(g)

    def _add(self, g: Genome) -> None:
        kinds = {n.id: n for n in g.nodes}
        incoming: dict = {n.id: [] for n in g.nodes}
        for l in g.links:
            incoming[l.target].append(l)
        uid: dict = {}
        for nid in g.topological_order():
            node = kinds[nid]
            if node.kind == "in":
                uid[nid] = self.keys[("in", node.label)]
                continue
            ins = tuple(sorted((uid[l.source], float(l.weight)) for l in incoming[nid]))
            key = (node.activation, ins)
            u = self.keys.get(key)
            if u is None:
                u = len(self.act)
                self.keys[key] = u
                self.act.append(node.activation)
                self.depth.append(1 + max((self.depth[s] for s, _ in ins), default=0))
                self.inputs.append(list(ins))
            uid[nid] = u
        outs = g.output_ids()
        colour = "ink" not in outs
        names = COLOUR_OUTPUTS if colour else ("ink",)
        self.outputs.append(tuple(uid[outs[k]] for k in names))
        self.colour.append(colour)

    def schedule(self):
        """Rows for the needed nodes, ordered by (depth, activation), and the groups to run."""
        need = set()
        stack = [u for outs in self.outputs for u in outs]
        while stack:
            u = stack.pop()
            if u in need:
                continue
            need.add(u)
            stack.extend(s for s, _ in self.inputs[u])
        hidden = sorted((u for u in need if u >= len(INPUT_LABELS)),
                        key=lambda u: (self.depth[u], self.act[u], len(self.inputs[u]) > 0, u))
        order = list(range(len(INPUT_LABELS))) + hidden
        row = {u: r for r, u in enumerate(order)}
        groups = []
        r = len(INPUT_LABELS)
        while r < len(order):
            u0 = order[r]
            e = r
            while e < len(order) and (self.depth[order[e]], self.act[order[e]]) == (self.depth[u0], self.act[u0]):
                e += 1
            groups.append((self.act[u0], r, e,
                           [[(row[s], w) for s, w in self.inputs[order[k]]] for k in range(r, e)]))
            r = e
        return order, row, groups


def _run_group(values: np.ndarray, act: str, start: int, ins: list, pix: int) -> None:
    """Fill rows start.. of ``values`` with act(sum of weighted sources), in place.

    The group's input sums are one small dense matrix (group nodes x their distinct sources)
    times the gathered source rows: BLAS does that far faster than per-link numpy calls, and
    the matrix is dense in the common case, one node's variants across sibling genomes.
    """
    k = 0
    n = len(ins)
    while k < n and not ins[k]:  # source-less nodes sort first: their input sum is zero
        values[start + k] = 0.0
        k += 1
    while k < n:
        # Take whole nodes while their distinct sources fit the gather buffer (at least one).
        j, srcs = k, {}
        while j < n:
            new = {s for s, _ in ins[j] if s not in srcs}
            if j > k and len(srcs) + len(new) > _MAX_GATHER:
                break
            for s in sorted(new):
                srcs[s] = len(srcs)
            j += 1
        m = np.zeros((j - k, len(srcs)), np.float32)
        for r in range(k, j):
            for s, w in ins[r]:
                m[r - k, srcs[s]] += w
        idx = np.fromiter(srcs, dtype=np.intp, count=len(srcs))
        if idx[-1] - idx[0] == len(idx) - 1 and np.all(np.diff(idx) == 1):
            gathered = values[idx[0]: idx[-1] + 1]
        else:
            gathered = _workspace("gather", (len(idx), pix))
            np.take(values, idx, axis=0, out=gathered)
        np.matmul(m, gathered, out=values[start + k: start + j])
        k = j
    _activate(act, values[start: start + n])


def _activate(act: str, block: np.ndarray) -> None:
    """Apply an activation in place, with as few passes over memory as numpy allows."""
    if act == "identity":
        return
    if act == "gaussian":
        np.square(block, out=block)
        np.negative(block, out=block)
        np.exp(block, out=block)
        block *= 2.0
        block -= 1.0
    elif act == "sigmoid":
        np.negative(block, out=block)
        np.exp(block, out=block)
        block += 1.0
        np.divide(2.0, block, out=block)
        block -= 1.0
    elif act == "tanh":
        # 2/(1 + e^-2z) - 1: numpy's exp is much faster than its tanh here.
        block *= -2.0
        np.exp(block, out=block)
        block += 1.0
        np.divide(2.0, block, out=block)
        block -= 1.0
    elif act in ("sin", "cos"):
        getattr(np, act)(block, out=block)
    else:
        block[...] = apply(act, block, np)


def limit_blas_threads(n: int = 1) -> bool:
    """Make numpy's BLAS use ``n`` threads; True if it could be told.

    The renderer's matrix products are small and many; OpenBLAS's own threads spin on them
    and double the CPU time (measured: 210 ms vs 95 ms of CPU per 100-node screen), while
    :func:`render_batch` already splits pixels across cores. Process-wide, so callers opt in
    (the web app does).
    """
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n, user_api="blas")
        return True
    except ImportError:
        pass
    import ctypes
    import glob

    libdir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(libdir, "*openblas*")):
        try:
            lib = ctypes.CDLL(path)  # already loaded by numpy: this returns the same library
        except OSError:
            continue
        for sym in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                    "openblas_set_num_threads64_", "openblas_set_num_threads"):
            fn = getattr(lib, sym, None)
            if fn is not None:
                fn(ctypes.c_int(int(n)))
                return True
    return False


def _pool():
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="ferlab-render")
    return _POOL


_POOL = None
#: Pixel slices rendered in parallel: numpy releases the GIL inside each call.
_THREADS = max(1, min(4, os.cpu_count() or 1))


def _execute(planes: np.ndarray, n_rows: int, groups) -> np.ndarray:
    """Run a schedule over (4, pixels) input planes; returns a (rows, pixels) workspace view."""
    pix = planes.shape[1]
    values = _workspace("values", (n_rows, pix))
    values[:4] = planes
    with np.errstate(over="ignore", under="ignore"):
        for act, start, stop, ins in groups:
            _run_group(values, act, start, ins, pix)
    return values


def render_batch(genomes: Sequence[Genome], res=128, window=None, threads: int | None = None) -> np.ndarray:
    """Render several genomes at once: (B, H, W, 3) float32 RGB in [0, 1].

    Same formulas as :func:`ferlab.render.render_genome`, in float32. ``threads`` slices the
    pixels across a small thread pool (default: up to 4, one per core).
    """
    canvas = as_canvas(res, window)
    shape = (canvas.height, canvas.width)
    out = np.empty((len(genomes),) + shape + (3,), np.float32)
    if not genomes:
        return out
    for g in genomes:
        g.validate()
    pix = canvas.width * canvas.height
    prog = _Program(genomes)
    order, row, groups = prog.schedule()
    planes = canvas.planes(np.float32).reshape(4, pix)
    colour = [i for i, c in enumerate(prog.colour) if c]
    grey = [i for i, c in enumerate(prog.colour) if not c]
    crow = np.array([[row[u] for u in prog.outputs[i]] for i in colour], dtype=np.intp).reshape(-1, 3)
    grow = np.array([row[prog.outputs[i][0]] for i in grey], dtype=np.intp)
    flat = out.reshape(len(genomes), pix, 3)

    def part(a: int, b: int) -> None:
        values = _execute(np.ascontiguousarray(planes[:, a:b]), len(order), groups)
        if colour:
            h, s, v = (values[crow[:, k]] for k in range(3))
            flat[colour, a:b] = to_rgb(h, s, v, np)
        if grey:
            flat[grey, a:b] = ink_to_rgb(values[grow], np)

    n = max(1, min(int(threads or _THREADS), pix // 1024 or 1))
    cuts = [pix * k // n for k in range(n + 1)]
    if n == 1:
        part(0, pix)
    else:
        for f in [_pool().submit(part, cuts[k], cuts[k + 1]) for k in range(n)]:
            f.result()
    return out


def thumbnails(genomes: Sequence[Genome], res=128, window=None, threads: int | None = None) -> np.ndarray:
    """(B, H, W, 3) uint8 images, truncated like :func:`ferlab.colour.to_bytes`."""
    rgb = render_batch(genomes, res, window, threads)
    rgb *= 255.0
    np.clip(rgb, 0.0, 255.0, out=rgb)
    return rgb.astype(np.uint8)
