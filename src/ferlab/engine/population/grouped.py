"""The grouped population strategy: many genomes in float32 numpy, sharing what they share.

Children of one parent repeat most of its computation: a node whose activation, incoming
weights and (recursively) sources are the same in two genomes has the same activation map in
both. Each node is therefore hashed by that recursive signature and evaluated once per batch.
The distinct nodes are laid out by (depth, activation) so that every such group is one
gather-multiply-reduce and one activation call over a contiguous block of rows: a handful of
numpy calls per level instead of several per node and genome. JIT compilation is no use here:
every child has a new structure, and compiling one costs more than rendering it.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np

from ferlab.activations import apply
from ferlab.canvas import INPUT_LABELS, as_canvas
from ferlab.colour import to_rgb_inplace
from ferlab.engine.threads import THREADS, helper_result, helper_submit
from ferlab.genome import COLOUR_OUTPUTS, Genome, GenomeError

#: Most distinct source rows gathered at once, to bound the scratch buffer.
_MAX_GATHER = 128
#: What one more numpy product costs, in dense matrix entries (measured at 128² pixels).
_CALL = 6
#: Widest source span, relative to the number of sources, multiplied over without a gather.
_SPAN = 1.5

#: Scratch buffers bigger than this are let go after a render instead of kept (bytes).
_KEEP_BYTES = 256 << 20

_local = threading.local()


class _Scratch:
    """Float32 buffers kept from render to render.

    Fresh memory page-faults on first touch, and on this VM that is slow: an Evolve click
    whose batch outgrew its buffers took 70-100 ms instead of 30 (one click in twenty, the
    whole p95). So buffers are kept, and grown by half again when too small (a few growths,
    not one per new largest batch). A set of buffers serves one render at a time and goes
    back on a shared free list, so a web server's many request threads share a few warm
    sets instead of each warming its own. Buffers over ``keep_bytes`` are let go after use.
    """

    def __init__(self, keep_bytes: int = _KEEP_BYTES):
        self.keep_bytes = keep_bytes
        self._free: list[dict] = []
        self._lock = threading.Lock()

    @contextmanager
    def use(self) -> Iterator[None]:
        with self._lock:
            bufs = self._free.pop() if self._free else {}
        outer = getattr(_local, "bufs", None)
        _local.bufs = bufs
        try:
            yield
        finally:
            _local.bufs = outer
            for name in [k for k, b in bufs.items() if b.nbytes > self.keep_bytes]:
                del bufs[name]
            with self._lock:
                self._free.append(bufs)


_SCRATCH = _Scratch()


def _workspace(name: str, shape: tuple[int, int]) -> np.ndarray:
    """A float32 scratch buffer of the current render's set (see :class:`_Scratch`)."""
    bufs = getattr(_local, "bufs", None)
    if bufs is None:  # outside _SCRATCH.use(): this thread's own set
        bufs = _local.bufs = {}
    need = shape[0] * shape[1]
    buf = bufs.get(name)
    if buf is None or buf.size < need:
        grown = need if buf is None else max(need, buf.size * 3 // 2)
        buf = bufs[name] = np.empty(max(grown, 1), dtype=np.float32)
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
        # Keys are built depth-first from the outputs (the genome is validated, so acyclic):
        # nodes that reach no output are never looked at, and no topological sort is needed.
        # This loop is most of the Python work per genome, hence its plain style.
        keys, act, depth, inputs = self.keys, self.act, self.depth, self.inputs
        uid: dict = {}
        incoming: dict = {}
        outs: dict = {}
        for n in g.nodes:
            if n.kind == "in":
                uid[n.id] = keys[("in", n.label)]
            else:
                incoming[n.id] = [n.activation]
                if n.kind == "out":
                    outs[n.label] = n.id
        for l in g.links:
            incoming[l.target].append(l)
        stack = list(outs.values())
        # In a DAG every node is popped at most twice plus once per consumer; more means a
        # cycle (possible with validate=False), which would otherwise loop forever.
        budget = 2 * len(g.nodes) + len(g.links) + 1
        while stack:
            budget -= 1
            if budget < 0:
                raise GenomeError("genome has a cycle")
            nid = stack.pop()
            if nid in uid:
                continue
            inc = incoming[nid]
            missing = [l.source for l in inc[1:] if l.source not in uid]
            if missing:  # come back once the sources have rows
                stack.append(nid)
                stack += missing
                continue
            ins = tuple(sorted([(uid[l.source], l.weight) for l in inc[1:]]))
            key = (inc[0], ins)
            u = keys.get(key)
            if u is None:
                u = len(act)
                keys[key] = u
                act.append(inc[0])
                depth.append(1 + max([depth[s] for s, _ in ins]) if ins else 1)
                inputs.append(ins)
            uid[nid] = u
        colour = "ink" not in outs
        names = COLOUR_OUTPUTS if colour else ("ink",)
        self.outputs.append(tuple(uid[outs[k]] for k in names))
        self.colour.append(colour)

    def schedule(self):
        """Rows for the nodes, ordered by (depth, activation), and the groups to run.

        Every node here is needed: :meth:`_add` only keys nodes that reach an output.
        """
        n_in = len(INPUT_LABELS)
        by_group: dict = {}
        for u in range(n_in, len(self.act)):
            by_group.setdefault((self.depth[u], self.act[u]), []).append(u)
        order = list(range(n_in))
        row = list(range(len(self.act)))
        groups = []
        for dk in sorted(by_group):
            # Within a group: source-less nodes, then one-source nodes, then the rest, those
            # with the same sources together: _compile cuts the group into dense blocks.
            keyed = []
            for u in by_group[dk]:
                ins = [(row[s], w) for s, w in self.inputs[u]]
                keyed.append((min(len(ins), 2), sorted([r for r, _ in ins]), u, ins))
            keyed.sort()
            start = len(order)
            for item in keyed:
                row[item[2]] = len(order)
                order.append(item[2])
            groups.append((dk[1], start, len(order), [item[3] for item in keyed]))
        return order, row, groups


def _compile(groups) -> list:
    """Turn schedule groups into pixel-independent steps, built once per batch.

    Each step is (activation, first row, end row, leading source-less rows, products); a
    product (a, b, m, idx, lo, hi, scale) fills rows a..b with m @ sources (or, when
    ``scale``, one source per row times the column m), the sources being rows lo..hi (idx
    None, m spanning them all) or else gathered by ``idx``. The input sums of
    a group are one small dense matrix (group nodes x their distinct sources) times the source
    rows: BLAS does that far faster than per-link numpy calls, and the matrix is dense in the
    common case, one node's variants across sibling genomes. Building the matrices here, not
    per pixel tile, keeps the Python work out of the threads (it holds the GIL).
    """
    steps = []
    for act, start, stop, ins in groups:
        scale = _PRESCALE.get(act, 1.0)
        n = len(ins)
        k = 0
        while k < n and not ins[k]:  # source-less nodes sort first: their input sum is zero
            k += 1
        zeros = k
        prods = []
        j = k
        while j < n and len(ins[j]) == 1:
            j += 1
        if j > k:
            # One source each: a gather and a row-wise scale, no matrix product at all.
            idx = np.array([ins[r][0][0] for r in range(k, j)], dtype=np.intp)
            w = np.array([[ins[r][0][1] * scale] for r in range(k, j)], dtype=np.float32)
            lo, hi = int(idx[0]), int(idx[-1]) + 1
            contiguous = hi - lo == len(idx) and bool(np.all(np.diff(idx) == 1))
            prods.append((start + k, start + j, w, None if contiguous else idx, lo, hi, True))
            k = j
        while k < n:
            # Grow a block of consecutive nodes while one dense product over the union of their
            # sources costs less than starting a new product (a numpy call or two, ~_CALL
            # matrix entries' worth); sibling variants of one node share sources and merge.
            j, srcs = k + 1, {s for s, _ in ins[k]}
            while j < n:
                mine = {s for s, _ in ins[j]}
                union = srcs | mine
                merged = (j - k + 1) * len(union)
                apart = (j - k) * len(srcs) + _CALL + len(mine)
                if merged > apart or len(union) > _MAX_GATHER:
                    break
                srcs = union
                j += 1
            ordered = sorted(srcs)
            lo, hi = ordered[0], ordered[-1] + 1
            # Copying a source row costs about 1.5 zero columns in the product: when the
            # sources are nearly contiguous, multiply over their whole span instead.
            span = hi - lo <= _SPAN * len(ordered)
            col = {s: s - lo for s in ordered} if span else {s: c for c, s in enumerate(ordered)}
            m = np.zeros((j - k, hi - lo if span else len(col)), np.float32)
            for r in range(k, j):
                for s, w in ins[r]:
                    m[r - k, col[s]] += w
            if scale != 1.0:
                m *= scale
            idx = None if span else np.fromiter(col, dtype=np.intp, count=len(col))
            prods.append((start + k, start + j, m, idx, lo, hi, False))
            k = j
        steps.append((act, start, stop, zeros, prods))
    return steps


def _run_step(values: np.ndarray, step, pix: int) -> None:
    """Fill a step's rows of ``values`` with act(sum of weighted sources), in place."""
    act, start, stop, zeros, prods = step
    if zeros:
        values[start: start + zeros] = 0.0
    for a, b, m, idx, lo, hi, scale in prods:
        if scale:  # one source per row: out = w * source, no BLAS (its fixed cost is high)
            if idx is None:
                np.multiply(values[lo:hi], m, out=values[a:b])
            else:
                np.take(values, idx, axis=0, out=values[a:b], mode="clip")
                values[a:b] *= m
            continue
        if idx is None:
            src = values[lo:hi]
        else:
            src = _workspace("gather", (len(idx), pix))
            # mode="clip": with the default "raise", numpy buffers ``out`` (4x slower here).
            np.take(values, idx, axis=0, out=src, mode="clip")
        np.matmul(m, src, out=values[a:b])
    _activate(act, values[start:stop])


#: Factors folded into a group's weights, saving a pass over its rows (sigmoid = tanh(z/2)).
_PRESCALE = {"sigmoid": 0.5}


def _activate(act: str, block: np.ndarray) -> None:
    """Apply an activation in place to input sums already scaled by _PRESCALE[act].

    The gaussian keeps the table's exact form, 2·e^(−z²) − 1, one pass more than the shortcuts
    2/e^(z²) − 1 or e^(ln 2 − z²) − 1: those are off by an ulp at z = 0, every time, and deep
    genomes amplify that bias (7e-5 against float64 on the butterfly, 1.7e-5 with this form).
    numpy 2's SIMD tanh beats an exp form of sigmoid/tanh and is exact.
    """
    if act == "identity":
        return
    if act == "gaussian":
        np.square(block, out=block)
        np.negative(block, out=block)
        np.exp(block, out=block)
        block *= 2.0
        block -= 1.0
    elif act in ("sigmoid", "tanh"):
        np.tanh(block, out=block)
    elif act in ("sin", "cos"):
        getattr(np, act)(block, out=block)
    else:
        block[...] = apply(act, block, np)


#: Values (the batch's distinct nodes x pixels) from which the helper process takes half the
#: pixels, given the compiled steps (~30 KB pickled). The Evolve click's render (584 rows at
#: 128²) went from 35 to 26 ms at the median; two threads had bought 1.1x (GIL handovers at
#: this grain), and each process compiling the batch itself was slower than sending the
#: steps. 128 genomes at 64² (510 rows, 2M values) lose: 16 ms split against 12 whole.
_PROCESS_VALUES = 4_000_000


def _execute(planes: np.ndarray, n_rows: int, steps) -> np.ndarray:
    """Run compiled steps over (4, pixels) input planes; returns a (rows, pixels) workspace view."""
    pix = planes.shape[1]
    values = _workspace("values", (n_rows, pix))
    values[:4] = planes
    with np.errstate(over="ignore", under="ignore"):
        for step in steps:
            _run_step(values, step, pix)
    return values


class _Batch:
    """A batch compiled for rendering: its steps and where each genome's outputs are."""

    def __init__(self, genomes: Sequence[Genome], out_dtype):
        prog = _Program(genomes)
        order, row, groups = prog.schedule()
        self.steps = _compile(groups)
        self.n_rows = len(order)
        colour = [i for i, c in enumerate(prog.colour) if c]
        grey = [i for i, c in enumerate(prog.colour) if not c]
        self.crow = np.array([[row[u] for u in prog.outputs[i]] for i in colour],
                             dtype=np.intp).reshape(-1, 3)
        self.grow = np.array([row[prog.outputs[i][0]] for i in grey], dtype=np.intp)
        # A slice when one kind fills the batch (a breeding screen): no fancy-index copies.
        self.csel = slice(None) if len(colour) == len(genomes) else colour
        self.gsel = slice(None) if len(grey) == len(genomes) else grey
        self.n = len(genomes)
        self.to_u8 = np.dtype(out_dtype) == np.uint8

    def tile(self, planes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Every genome's pixels for (4, tile) input planes: (n, tile, 3), into ``out`` if given.

        Plain data in and out, so the helper process runs it too (the batch pickles whole).
        """
        with _SCRATCH.use():
            values = _execute(planes, self.n_rows, self.steps)
            tile = planes.shape[1]
            if out is None:
                out = np.empty((self.n, tile, 3), np.uint8 if self.to_u8 else np.float32)
            crow, grow = self.crow, self.grow
            if len(crow):
                h, s, v = (np.take(values, crow[:, k], axis=0, mode="clip",  # copies: free to overwrite
                                   out=_workspace(f"hsv{k}", (len(crow), tile))) for k in range(3))
                rgb = to_rgb_inplace(h, s, v, 255.0 if self.to_u8 else 1.0,  # already in [0, scale]
                                     _workspace("rgb", (3, h.size)).reshape((3,) + h.shape),
                                     _workspace("rgb_tmp", h.shape))
                for c in range(3):  # per channel: a transposed fancy assignment is ~4x slower
                    out[self.csel, :, c] = rgb[c]
            if len(grow):
                # ink_to_rgb's value, clip(|ink|, 0, 1), broadcast to the three channels.
                val = np.take(values, grow, axis=0, mode="clip", out=_workspace("ink", (len(grow), tile)))
                np.abs(val, out=val)
                np.minimum(val, 1.0, out=val)
                if self.to_u8:
                    val *= 255.0
                for c in range(3):
                    out[self.gsel, :, c] = val
            return out


def render_grouped(genomes: Sequence[Genome], res, window, threads, out_dtype,
                   split: bool | None = None) -> np.ndarray:
    """Render valid genomes into (B, H, W, 3): float32 RGB in [0, 1], or uint8 bytes truncated
    like to_bytes.

    ``threads`` > 1 (default: one per core) lets the engine's helper process, where one was
    started (:func:`ferlab.engine.threads.start_process_worker`), run the compiled batch on
    the second half of the pixels while this thread runs the first. ``split`` None: when the
    batch holds _PROCESS_VALUES node values (rows x pixels).
    """
    canvas = as_canvas(res, window)
    shape = (canvas.height, canvas.width)
    out = np.empty((len(genomes),) + shape + (3,), out_dtype)
    if not genomes:
        return out
    pix = canvas.width * canvas.height
    flat = out.reshape(len(genomes), pix, 3)
    batch = _Batch(genomes, out_dtype)
    planes = canvas.planes(np.float32).reshape(4, pix)
    if split is None:
        split = batch.n_rows * pix >= _PROCESS_VALUES
    half = pix // 2
    sent = second = None
    if split and max(1, int(threads or THREADS)) > 1 and pix >= 512:
        second = np.ascontiguousarray(planes[:, half:])
        sent = helper_submit(batch.tile, second)
    if sent is None:
        batch.tile(planes, out=flat)
        return out
    batch.tile(np.ascontiguousarray(planes[:, :half]), out=flat[:, :half])
    flat[:, half:] = helper_result(sent, lambda: batch.tile(second))
    return out
