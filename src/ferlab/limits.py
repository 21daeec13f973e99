"""Cost estimates made before any allocation, and the one set of limits every command obeys.

A render's cost is estimated from the network's shape and the pixel count before any array
is made: values held at once (memory) and multiply-adds (time). Commands and the web app call
:func:`check_render` / :func:`check_frames` with what they are about to do, and refuse with a
:class:`CostError` that names the limit, instead of running for minutes or running out of memory.
"""
from __future__ import annotations

from collections import Counter

#: Node values held at once by one render (nodes x pixels); float64 makes this 512 MiB.
MAX_VALUES = 2**26
#: Multiply-adds one command may spend on renders: about a minute on a quiet 2-core machine,
#: a few under heavy load (the numpy genome engine ran 0.15e9-1.5e9/s as the load changed).
MAX_OPS = 10**11
#: See :func:`level_ops`.
LEVEL_READ = 8
#: Largest genome (nodes + links) compiled by JAX for sweeps and label agreement.
MAX_COMPILED = 2500
#: The metrics' neuron probes run far faster per multiply-add than the level renderer (measured
#: 6e9-1.2e10/s, no baseline: 16;sin:32 at 64² took 12.3 s, the SGD skull at 64² 1.2 s), so
#: they get the same minute as MAX_OPS buys the renderer.
MAX_METRICS_OPS = 8 * MAX_OPS
#: Multiply-adds one anonymous web request may spend (about a second).
MAX_WEB_OPS = 3 * 10**9
#: Per frame and pixel, what a metrics frame spends beyond the network's multiply-adds (change
#: statistics in float64), in multiply-add equivalents: fitted to two timed runs of the weight-
#: sweep metrics (a 306-weight net at 256²: 132 s; the 5,478-weight SGD skull at 32²: 18.6 s),
#: and kept for the neuron-probe metrics that replaced them (not refitted).
FRAME_OVERHEAD = 1024
#: Sweep/metrics frame floats held at once (frames x pixels x 3): 1.5 GiB as float32.
MAX_FRAME_FLOATS = 3 * 2**27
#: Frame floats a sweep streamed to disk may write: 16 GiB as float32, three times every
#: weight of the paper's SGD skull at 128².
MAX_STREAM_FLOATS = 2**32


class CostError(ValueError):
    """Work that would exceed a documented limit; the message names the limit."""


def _human(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


def level_ops(genome) -> int:
    """Multiply-adds per pixel of the level-by-level numpy engine
    (:mod:`ferlab.engine.numpy_backend`): each depth level is a product with every node before
    it, so a deep chain costs depth^2 / 2.
    Reading those earlier values costs about LEVEL_READ multiply-adds each (narrow levels are
    memory-bound: a 2,000-node chain ran 9x slower than its multiply-adds alone predict)."""
    depth = genome.depths()
    per_level = Counter(d for d in depth.values() if d > 0)
    before, ops = 4, 0
    for d in sorted(per_level):
        ops += (per_level[d] + LEVEL_READ) * before
        before += per_level[d]
    return ops


def check_compiled(genome, what: str = "this analysis") -> None:
    """JAX compiles one program per genome structure, in time that grows with its size
    (a 1,000-node chain: 25 s on a loaded 2-core machine); refuse genomes past MAX_COMPILED."""
    size = len(genome.nodes) + len(genome.links)
    if size > MAX_COMPILED:
        raise CostError(f"{what} compiles the genome: {len(genome.nodes)} nodes + "
                        f"{len(genome.links)} links is past the limit of {MAX_COMPILED}")


def gather_ops(genome) -> int:
    """Multiply-adds per pixel of engines that gather each node's sources (links + nodes)."""
    return len(genome.links) + len(genome.nodes)


def render_cost(obj, pixels: int, frames: int = 1, features: bool = False,
                engine: str = "levels") -> tuple[int, int]:
    """(values held at once, multiply-adds) of rendering ``frames`` images of ``pixels``."""
    if hasattr(obj, "arch"):  # dense network: a layer at a time unless every map is kept
        arch = obj.arch
        held = arch.width * (arch.depth + 2 if features else 3)
        ops = arch.n_params
    else:
        held = len(obj.nodes)
        ops = level_ops(obj) if engine == "levels" else gather_ops(obj)
    return held * pixels, ops * pixels * frames


def check_render(obj, pixels: int, frames: int = 1, features: bool = False, what: str = "render",
                 max_ops: int = MAX_OPS, engine: str = "levels",
                 max_values: int | None = MAX_VALUES) -> None:
    """Raise CostError if rendering would hold more than ``max_values`` values (None: the
    caller renders in tiles) or cost more than ``max_ops`` multiply-adds."""
    held, ops = render_cost(obj, pixels, frames, features, engine)
    if max_values is not None and held > max_values:
        raise CostError(f"{what} would hold {_human(held)} values at once (network size x "
                        f"{pixels} pixels); the limit is {_human(MAX_VALUES)}: lower the resolution")
    if ops > max_ops:
        raise CostError(f"{what} would take {_human(ops)} multiply-adds ({frames} frame(s) of "
                        f"{pixels} pixels); the limit is {_human(max_ops)}: lower the resolution "
                        "or the number of frames")


def check_frames(frames: int, pixels: int, what: str = "sweep", streamed: bool = False) -> None:
    """Raise CostError if ``frames`` RGB frames of ``pixels`` would exceed MAX_FRAME_FLOATS
    (held in memory) or MAX_STREAM_FLOATS (``streamed`` to disk)."""
    floats = int(frames) * int(pixels) * 3
    limit = MAX_STREAM_FLOATS if streamed else MAX_FRAME_FLOATS
    if floats > limit:
        raise CostError(f"{what} would {'write' if streamed else 'hold'} {frames} frames of {pixels} "
                        f"pixels ({_human(floats)} floats); the limit is {_human(limit)}: choose "
                        "fewer weights, frames or a lower resolution")
