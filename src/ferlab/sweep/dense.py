"""Dense-network sweeps: cached activations, exact low-rank tails, chunked and streamed.

Perturbing kernel k changes only the layers after it, so the unperturbed activations are
cached once and each frame recomputes from layer k+1 on; the perturbation itself is the
rank-1 change δ·h_k[:, r] added to column c of z_{k+1}. The last two kernels are pure rank-1
updates (numpy); big sweeps propagate the change in exact low-rank form (only non-identity
neurons are re-evaluated, see :func:`_compiled_rank_tail`), small ones use a single compiled
loop program for every kernel (compilation, not arithmetic, dominates there).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Iterator, Sequence

import numpy as np

from ferlab.canvas import as_canvas
from ferlab.dense import DenseCPPN
from ferlab.genome import Genome
from ferlab.sweep.frames import (RANK_COLUMNS, RANK_MIN_FRAMES, SweepSheet, chunk_size, deltas,
                                 load_jax, progress_bar)
from ferlab.sweep.select import dense_origin, resolve_weights, weight_label


class DenseSweeper:
    """Cached activations of a dense network on one canvas, for fast batched perturbations."""

    def __init__(self, net: DenseCPPN, res=64, window=None):
        self.net = net
        self.canvas = as_canvas(res, window)
        self.shape = self.canvas.shape
        from ferlab.dense import rgb_from_outputs

        # One plain numpy pass (eager JAX would compile every op); each tail moves what it
        # needs to JAX when first used.
        x = self.canvas.planes(np.float32).reshape(4, -1).T
        kernels = [np.asarray(k, np.float32) for k in net.kernels]
        spans = net.arch.spans()
        self.acts = sorted({a for a, _, _ in spans})
        col = net.arch.column_activations()
        self.col_act = np.asarray([self.acts.index(a) for a in col], np.int32)
        hs, zs = [x], [None]
        h = x
        for kern in kernels[:-1]:
            z = h @ kern
            h = _apply_spans(spans, z, np)
            zs.append(z)
            hs.append(h)
        out = h @ kernels[-1]
        self.base = rgb_from_outputs(out, np).reshape(self.shape + (3,)).astype(np.float32)
        self._np = (hs, zs, out, kernels)
        self._rank_dev: tuple = (None, ())  # (kernel, its low-rank tail's arrays): one at a time

    @property
    def pixels(self) -> int:
        return self.shape[0] * self.shape[1]

    def frames(self, lrcs: Sequence[tuple[int, int, int]], offsets) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (first row, frames (n, len(offsets), H, W, 3)) chunk by chunk, rows in order."""
        offsets = np.asarray(offsets, np.float32)
        nz = np.abs(offsets) > 0
        n_nz = int(nz.sum())
        lrcs = [tuple(int(v) for v in t) for t in lrcs]
        depth = self.net.arch.depth
        step = max(1, chunk_size(self.pixels, 3 * self.net.arch.width) // max(1, n_nz))
        use_rank = self.rank_ok and len(lrcs) * n_nz >= RANK_MIN_FRAMES
        if use_rank:  # a full batch per column: rank_batch frames of each kernel column
            step = max(1, self.rank_batch // max(1, n_nz)) * self.net.arch.width
        runs, a = [], 0  # consecutive weights of one kernel, at most `step` of them
        while a < len(lrcs):
            b = a
            while b < len(lrcs) and lrcs[b][0] == lrcs[a][0] and b - a < step:
                b += 1
            runs.append((a, b, lrcs[a][0]))
            a = b
        # One padded batch size for the whole call: each distinct size is a new compilation.
        longest = max((b - a for a, b, k in runs if k < depth - 1), default=0)
        size = min(_bucket(longest * n_nz), max(1, step * n_nz))
        for a, b, k in runs:
            chunk = lrcs[a:b]
            rows = np.repeat([t[1] for t in chunk], n_nz).astype(np.int32)
            cols = np.repeat([t[2] for t in chunk], n_nz).astype(np.int32)
            ds = np.tile(offsets[nz], len(chunk)).astype(np.float32)
            n = len(ds)
            out = np.empty((len(chunk), len(offsets)) + self.shape + (3,), np.float32)
            out[:, ~nz] = self.base
            flat = out.reshape(-1, self.pixels, 3)  # frame i of row w is flat[w * len(offsets) + i]
            dest = (np.arange(len(chunk))[:, None] * len(offsets) + np.flatnonzero(nz)).ravel()
            if n == 0:
                pass
            elif k >= depth - 1:
                flat[dest] = self._tail_numpy(k, rows, cols, ds)
            elif use_rank:
                self._tail_rank(k, rows, cols, ds, flat, dest)
            else:
                rows, cols, ds = (np.pad(v, (0, size - n)) for v in (rows, cols, ds))
                flat[dest] = np.asarray(self._tail(k, depth)(*self._tail_args(k), rows, cols, ds))[:n]
            yield a, out

    @property
    def rank_ok(self) -> bool:
        """Whether the low-rank tail pays: few non-identity columns per layer."""
        n_nl = len(self.nl)
        return 0 < n_nl and 1 + n_nl * (self.net.arch.depth - 1) <= 4 * self.net.arch.width

    @property
    def nl(self) -> np.ndarray:
        return np.flatnonzero(np.array([a != "identity" for a in self.net.arch.column_activations()]))

    def _tail_rank(self, k, rows, cols, ds, into, dest):
        """Perturb weights of kernel k through the low-rank tail; frame i goes to into[dest[i]].

        Frames that perturb the same column c share every coefficient matrix of the tail, so
        they go through it together, ``rank_batch`` frames a call (padded: one compilation
        per kernel). Calls run on the render pool's threads: XLA spreads only its products
        over the cores, and the element-wise work of two calls at once measured faster.
        """
        from ferlab.engine.threads import pool

        _, jnp = load_jax()
        hs, zs, out, kernels = self._np
        depth = self.net.arch.depth
        size = self.rank_batch
        if self._rank_dev[0] != k:
            nl, w = self.nl, self.net.arch.width
            tiled = [np.stack([np.tile(v[l][:, nl].T, (1, size)) for l in range(k + 2, depth + 1)])
                     for v in (zs, hs)]
            out_kernel = np.zeros((w, w), np.float32)
            out_kernel[:, :3] = kernels[-1]
            after = np.stack(kernels[k + 2:-1] + [out_kernel])
            self._rank_dev = (k, tuple(jnp.asarray(np.ascontiguousarray(v)) for v in (
                hs[k].T, zs[k + 1].T, hs[k + 1].T, *tiled, kernels[k + 1], after, out.T)))
        fn = _compiled_rank_tail(k, depth, tuple(self.net.arch.column_activations()))
        dev = self._rank_dev[1]
        calls = []
        for c in np.unique(cols):
            idx = np.flatnonzero(cols == c)
            for a in range(0, len(idx), size):
                part = idx[a:a + size]
                calls.append((part, np.int32(c), np.pad(rows[part], (0, size - len(part))),
                               np.pad(ds[part], (0, size - len(part)))))

        def run(call):
            part, c, r, d = call
            into[dest[part]] = np.asarray(fn(*dev, c, r, d))[:len(part)]

        for f in [pool().submit(run, call) for call in calls]:
            f.result()

    @property
    def rank_batch(self) -> int:
        """Frames per low-rank call: about RANK_COLUMNS pixel-frames, at least one."""
        return max(1, RANK_COLUMNS // self.pixels)

    def _tail_numpy(self, k, rows, cols, ds):
        """The last two kernels in plain numpy: a rank-1 change straight into the outputs."""
        from ferlab.activations import apply
        from ferlab.dense import rgb_from_outputs

        hs, zs, out, kernels = self._np
        depth = self.net.arch.depth
        if k == depth:
            outs = np.repeat(out[None], len(ds), axis=0)
            outs[np.arange(len(ds)), :, cols] += ds[:, None] * hs[depth][:, rows].T
        else:
            acts = self.net.arch.column_activations()
            z = zs[depth][:, cols].T + ds[:, None] * hs[k][:, rows].T  # (B, P)
            new = np.empty_like(z)
            for name in set(acts[c] for c in cols):
                sel = np.array([acts[c] == name for c in cols])
                new[sel] = apply(name, z[sel], np)
            diff = new - hs[depth][:, cols].T
            outs = out[None] + diff[:, :, None] * kernels[-1][cols][:, None, :]
        return rgb_from_outputs(outs.reshape(-1, 3), np).reshape(len(ds), -1, 3).astype(np.float32)

    def _tail_args(self, k):
        hs, zs, kernels, hidden = self._loop_dev
        return hs[k], zs[k + 1], hs[k + 1], zs[k + 2], hidden, kernels[-1], np.int32(k)

    @cached_property
    def _loop_dev(self):
        """The loop tail's arrays in JAX: activations, kernels, hidden kernels stacked
        (``hidden[i - 1]`` is kernel i)."""
        _, jnp = load_jax()
        hs, zs, _, kernels = self._np
        w = self.net.arch.width
        hidden = (jnp.stack(kernels[1:-1]) if self.net.arch.depth > 1
                  else jnp.zeros((1, w, w), jnp.float32))
        return ([jnp.asarray(v) for v in hs], [None] + [jnp.asarray(v) for v in zs[1:]],
                [jnp.asarray(k) for k in kernels], hidden)

    def _tail(self, k, depth):
        return _compiled_tail(depth, tuple(self.net.arch.spans()), tuple(self.acts),
                              self.col_act.tobytes())

    def direction_frames_many(self, directions, offsets) -> np.ndarray:
        """Frames (n_directions, n_offsets, H, W, 3) for flat directions (kernel order)."""
        from ferlab.engine import render_dense_batch

        offsets = np.asarray(offsets, np.float32)
        cuts = np.cumsum([k.size for k in self._np[3]])[:-1]
        steps = np.stack([np.asarray(d, np.float32) for d in directions])[:, None] * offsets[None, :, None]
        steps = steps.reshape(-1, steps.shape[-1])  # (direction, offset) pairs, offset fastest
        stacks = [base[None] + part.reshape((-1,) + base.shape)
                  for base, part in zip(self._np[3], np.split(steps, cuts, axis=1))]
        frames = render_dense_batch(self.net.arch, stacks, self.canvas)
        return frames.reshape((len(directions), len(offsets)) + self.shape + (3,))


def _bucket(n: int) -> int:
    return max(64, 1 << (int(n) - 1).bit_length())


def _apply_spans(spans, z, xp):
    """Per-column activations of a layer's pre-activations z (..., width)."""
    from ferlab.activations import apply

    if len(spans) == 1:
        return apply(spans[0][0], z, xp)
    # Slices + concatenate: under vmap this measured ~3x faster on CPU than masked selects.
    return xp.concatenate([apply(act, z[..., a:b], xp) for act, a, b in spans], axis=-1)


@lru_cache(maxsize=64)
def _compiled_tail(depth, spans, acts, col_act_bytes):
    """jit(vmap) of "perturb weight (k, r, c) by δ, recompute only the layers after k".

    For kernels k < depth − 1 (the last two are cheap rank-1 updates done in numpy): the
    remaining layers run in a loop from a traced start, so one compilation serves every k.
    """
    jax, jnp = load_jax()
    from ferlab.activations import apply
    from ferlab.dense import rgb_from_outputs

    col_act = jnp.asarray(np.frombuffer(col_act_bytes, np.int32))

    def act_col(z, c):
        if len(acts) == 1:
            return apply(acts[0], z, jnp)
        return jnp.stack([apply(a, z, jnp) for a in acts])[col_act[c]]

    def one(h_k, z_k1, h_k1, z_k2, hidden, k_out, k, r, c, d):
        diff = act_col(z_k1[:, c] + d * h_k[:, r], c) - h_k1[:, c]
        # Neuron c of layer k+1 changed by `diff`: z_{k+2} changes by the rank-1 outer
        # product with row c of kernel k+1 — no full matmul for the first layer after k.
        h = _apply_spans(spans, z_k2 + diff[:, None] * hidden[k][c][None, :], jnp)
        h = jax.lax.fori_loop(k + 2, depth, lambda i, h: _apply_spans(spans, h @ hidden[i - 1], jnp), h)
        return rgb_from_outputs(h @ k_out, jnp)

    return jax.jit(jax.vmap(one, in_axes=(None,) * 7 + (0, 0, 0)))


@lru_cache(maxsize=128)
def _compiled_rank_tail(k, depth, col_acts):
    """jit of the exact low-rank tail for kernel k < depth − 1, for F frames perturbing one column.

    After perturbing weight (k, r, c), layer k+1 changes only in neuron c (by ``diff``), so
    Δz_{k+2} = diff ⊗ K_{k+1}[c] is rank 1. Identity neurons pass a change on linearly, so
    the change of every pre-activation stays ΔZ = Cᵀ·A: A (rank × pixels) holds ``diff`` and
    the changes of the few non-identity neurons of each layer so far, C (rank × width) is a
    small matrix. Per layer only the n_nl non-identity columns are evaluated (P·rank·n_nl work
    instead of P·width²), and A gains n_nl rows. Exact, not an approximation.

    C depends on k and c only, so F frames perturbing column c share it and their A's sit
    side by side: each layer is one (n_nl × rank)·(rank × F·P) product. A is allocated at its
    final rank and filled in place (zero rows cost a little arithmetic; slicing or
    concatenating copied A every layer and measured slower).
    """
    jax, jnp = load_jax()
    from ferlab.activations import XLA_CPU_ACTIVATIONS, apply
    from ferlab.colour import to_rgb

    acts = sorted(set(col_acts))
    col_idx = jnp.asarray([acts.index(a) for a in col_acts], jnp.int32)
    nl = np.array([i for i, a in enumerate(col_acts) if a != "identity"])
    idmask = np.array([a == "identity" for a in col_acts], np.float32)
    # Runs of equal activation among the non-identity columns: one element-wise op per run.
    runs, a = [], 0
    while a < len(nl):
        b = a
        while b < len(nl) and col_acts[nl[b]] == col_acts[nl[a]]:
            b += 1
        runs.append((col_acts[nl[a]], a, b))
        a = b
    n_nl, layers, width = len(nl), depth - k - 1, len(col_acts)
    rank = 1 + n_nl * layers

    table = XLA_CPU_ACTIVATIONS

    def act_col(z, c):
        return jax.lax.switch(col_idx[c], [lambda z, a=a: apply(a, z, jnp, table) for a in acts], z)

    def tail_frames(h_k, z_k1, h_k1, z_nl, h_nl, first, after, out0, c, r, d):
        # Pixels last, frames side by side: (features, F·P). z_nl and h_nl come tiled F times:
        # XLA's CPU loops stopped vectorising when a (P,) row was broadcast over the frames
        # inside the fused activations (6x slower, measured).
        f, p = r.shape[0], h_k.shape[1]
        diff = act_col(z_k1[c][None, :] + d[:, None] * h_k[r], c) - h_k1[c][None, :]  # (F, P)
        big_a = jnp.zeros((rank, f * p), jnp.float32).at[0].set(diff.reshape(-1))
        cm = jnp.zeros((rank, width), jnp.float32).at[0].set(first[c])

        for j in range(layers):  # hidden layer l = k+2+j, then its kernel after[j]
            z = z_nl[j] + cm[:, nl].T @ big_a
            new = jnp.concatenate([apply(act, z[a:b], jnp, table) for act, a, b in runs]) - h_nl[j]
            big_a = big_a.at[1 + n_nl * j:1 + n_nl * (j + 1)].set(new)
            cm = ((cm * idmask) @ after[j]).at[1 + n_nl * j:1 + n_nl * (j + 1)].set(after[j][nl])
        out = out0[:, None, :] + (cm[:, :3].T @ big_a).reshape(3, f, p)
        return to_rgb(out[0], out[1], out[2], jnp)  # (F, P, 3)

    return jax.jit(tail_frames)


def iter_dense_sweep(net: DenseCPPN, lrcs, offsets=None, res=64, window=None,
                     sweeper: DenseSweeper | None = None, progress: bool = False):
    """Stream (first row, frames chunk) for dense weights ``lrcs`` (see DenseSweeper.frames)."""
    offsets = deltas() if offsets is None else np.asarray(offsets, np.float64)
    sw = sweeper or DenseSweeper(net, res, window)
    with progress_bar(len(lrcs) * len(offsets), "sweep", progress) as bar:
        for a, chunk in sw.frames(lrcs, offsets):
            bar.update(chunk.shape[0] * chunk.shape[1])
            yield a, chunk


@dataclass(frozen=True)
class DenseStream:
    """A dense sweep before its frames: what the rows are, and the frames chunk by chunk."""

    shape: tuple[int, ...]  # of the whole frames array: (rows, n_deltas, H, W, 3), float32
    deltas: np.ndarray
    labels: tuple[str, ...]
    rows: tuple[dict, ...]
    meta: dict
    chunks: Iterator[tuple[int, np.ndarray]]  # (first row, frames[a:a + n]), rows in order


def stream_dense(net: DenseCPPN, weights=None, flat=None, all_weights: bool = False, offsets=None,
                 res=64, window=None, genome: Genome | None = None, progress: bool = False,
                 sweeper: DenseSweeper | None = None) -> DenseStream:
    """A :func:`sweep_dense` whose frames are produced only as ``chunks`` is iterated."""
    offsets = deltas() if offsets is None else np.asarray(offsets, np.float64)
    lrcs = resolve_weights(net, weights, flat, all_weights)
    if not lrcs:
        raise ValueError("no weights chosen: give weights (k,r,c), flat indices or all")
    sw = sweeper or DenseSweeper(net, res, window)
    matches = None
    if genome is not None and net.origin is None:
        from ferlab.layerize import match_neurons

        matches = match_neurons(net, genome)
    rows, labels = [], []
    for t in lrcs:
        src = dense_origin(net, t, genome, matches)
        rows.append({"kernel": t[0], "row": t[1], "col": t[2], "flat": net.arch.lrc_to_flat(*t),
                     "weight": float(net.kernels[t[0]][t[1], t[2]]), "origin": src})
        labels.append(weight_label(net, t, genome, matches))
    return DenseStream((len(lrcs), len(offsets)) + sw.shape + (3,), offsets, tuple(labels),
                       tuple(rows), {"name": net.meta.get("name", "dense"), "kind": "weights"},
                       iter_dense_sweep(net, lrcs, offsets, sweeper=sw, progress=progress))


def sweep_dense(net: DenseCPPN, weights=None, flat=None, all_weights: bool = False, offsets=None,
                res=64, window=None, genome: Genome | None = None, progress: bool = False,
                sweeper: DenseSweeper | None = None) -> SweepSheet:
    """One row per chosen dense weight; labels name the genome link when it is known."""
    st = stream_dense(net, weights, flat, all_weights, offsets, res, window, genome, progress, sweeper)
    frames = np.empty(st.shape, np.float32)
    for a, chunk in st.chunks:
        frames[a:a + len(chunk)] = chunk
    return SweepSheet(frames, st.deltas, st.labels, st.rows, st.meta)


def strongest_weights(net: DenseCPPN, candidates, rows: int, res=32, sample: int | None = 512,
                      seed: int = 0, offsets=(-1.0, 1.0)) -> list[tuple[int, int, int]]:
    """The ``rows`` weights among ``candidates`` whose ±1 sweep changes the image most.

    A seeded sample of ``sample`` candidates is swept (all when None or fewer); returned in
    kernel order. Used to fill a sheet with weights that visibly do something.
    """
    cand = [tuple(int(v) for v in t) for t in candidates]
    if sample is not None and len(cand) > sample:
        pick = np.sort(np.random.default_rng(int(seed)).choice(len(cand), int(sample), replace=False))
        cand = [cand[i] for i in pick]
    sw = DenseSweeper(net, res)
    effect = np.zeros(len(cand))
    for a, chunk in sw.frames(cand, np.asarray(offsets, np.float64)):
        d = (chunk - sw.base).astype(np.float64)
        effect[a:a + len(chunk)] = (d * d).sum(axis=(1, 2, 3, 4))
    order = np.argsort(-effect, kind="stable")[:rows]
    return sorted(cand[i] for i in order)
