"""Run one cell: a pure function of (cell, genome bytes) -> a result row of plain data.

Every executor calls :func:`run_cell` the same way in a worker process, so a local pool and a
Ray cluster produce the same figures. A failure anywhere becomes the row's one-line error;
only Ctrl-C and exits propagate.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import socket
import time
import warnings

from ferlab.experiment.config import Cell
from ferlab.experiment.steps import STEPS, CellContext

#: Worker processes run XLA on one thread: N workers fill N cores without oversubscription,
#: and a cell computes the same floats whichever executor or worker count runs it.
WORKER_ENV = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "JAX_PLATFORMS": "cpu",
}


def worker_env(compile_cache=None) -> dict:
    """WORKER_ENV, plus JAX's persistent compilation cache in ``compile_cache`` if given.

    Cells of one genome compile the same programs for every seed, so the cache turns a cell
    that is mostly compile time into one that is mostly compute (the executable is the one a
    fresh compile would build: same floats).
    """
    env = dict(WORKER_ENV)
    if compile_cache is not None:
        env.update({"JAX_COMPILATION_CACHE_DIR": str(compile_cache),
                    "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                    "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"})
    return env


def one_line(e: BaseException) -> str:
    text = str(e).strip()
    first = text.splitlines()[0] if text else ""
    # ferlab's own errors (GenomeError, ArchError, ...) and ValueErrors read as
    # sentences; anything else keeps its type, which is most of what a bug report needs.
    friendly = isinstance(e, ValueError) or type(e).__module__.startswith("ferlab.")
    return first if friendly and first else f"{type(e).__name__}: {first}".rstrip(": ")


def run_cell(cell: Cell | dict, genome_bytes: bytes) -> dict:
    """Run every step of ``cell``; returns its result row (see ResultsTable.put)."""
    if isinstance(cell, dict):
        cell = Cell.from_dict(cell)
    t0 = time.perf_counter()
    row = {"hash": cell.hash, "genome": cell.genome, "seed": cell.seed, "vary": cell.vary,
           "status": "ok", "error": None, "figures": {}, "timings": {}, "files": {},
           "host": socket.gethostname()}
    where = "genome"
    # Warnings (numpy overflow in an activation, ...) go into the row, not over the
    # progress bar: count and the first one.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            if hashlib.sha256(genome_bytes).hexdigest() != cell.genome_sha256:
                raise ValueError(f"{cell.genome_path} changed since the plan was made")
            from ferlab.picbreeder import parse_genome

            ctx = CellContext(parse_genome(genome_bytes, name=cell.genome), cell.seed)
            for name, settings in cell.steps:
                where = name
                t = time.perf_counter()
                figures = STEPS[name].run(ctx, dict(settings))
                row["timings"][f"time.{name}"] = round(time.perf_counter() - t, 3)
                row["figures"].update({f"{name}.{k}": v for k, v in figures.items()})
            row["files"] = ctx.files
        except Exception as e:  # noqa: BLE001 - any failure is this cell's result, the rest go on
            row.update(status="failed", error=f"{where}: {one_line(e)}")
    if caught:
        first = caught[0]
        row["warnings"] = (f"{len(caught)}: {first.category.__name__}: "
                           f"{str(first.message).splitlines()[0] if str(first.message) else ''}")
    row["wall_s"] = round(time.perf_counter() - t0, 3)
    row["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return row
