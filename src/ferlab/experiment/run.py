"""Run a plan into a folder: skip cells already done, record each result as it arrives.

The folder holds ``config.toml`` (the config as given), ``plan.json`` (every cell of the
latest plan), ``results.sqlite`` (one row per cell, see results.py), ``results.csv`` and
``summary.html`` (rewritten at the end of every run, also after Ctrl-C), and
``cells/<hash>/`` with files a step keeps (the SGD replica's ``replica.npz``), and
``jax-cache/`` (compiled programs; safe to delete).
"""
from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ferlab.experiment.config import Cell, Plan
from ferlab.atomic import write_bytes as atomic_write
from ferlab.experiment.results import TABLE_NAME, ResultsTable, read_rows, write_csv

PLAN_NAME = "plan.json"
COMPILE_CACHE = "jax-cache"  # JAX's compiled programs, shared by local workers


class ExperimentInterrupted(KeyboardInterrupt):
    """Ctrl-C: the rows finished so far are stored; running the same command again resumes."""


@dataclass
class RunSummary:
    planned: int
    skipped: int  # already done before this run
    ran: int  # finished in this run
    failed: int  # of those, failed
    seconds: float
    out_dir: Path


def prepare_dir(out_dir) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_plan(plan: Plan, out: Path) -> None:
    atomic_write(out / "config.toml", plan.source.encode())
    doc = {"name": plan.name, "axes": list(plan.axes), "cells": [c.to_dict() for c in plan.cells]}
    atomic_write(out / PLAN_NAME, json.dumps(doc, indent=1).encode())


def read_plan(out_dir) -> dict:
    path = Path(out_dir) / PLAN_NAME
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{out_dir} is not an experiment folder (no {PLAN_NAME})") from None
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read {path}: {e}") from None


def run_experiment(plan: Plan, out_dir, executor, retry_failed: bool = False,
                   progress: bool = True) -> RunSummary:
    """Run every cell of ``plan`` not yet in ``out_dir``'s table on ``executor``.

    ``executor``: an entered ProcessPool or RayExecutor (see executors.py). Failed cells are
    rows too and are skipped on resume unless ``retry_failed``. Ctrl-C stops the executor
    and raises :class:`ExperimentInterrupted` after the summary files are rewritten.
    """
    from tqdm.auto import tqdm

    out = prepare_dir(out_dir)
    t0 = time.perf_counter()
    with _folder_lock(out), ResultsTable(out / TABLE_NAME) as table:
        write_plan(plan, out)
        status = table.statuses()
        todo = [c for c in plan.cells
                if status.get(c.hash) != "ok" and (retry_failed or status.get(c.hash) != "failed")]
        skipped = len(plan.cells) - len(todo)
        ran = failed = 0
        bar = tqdm(total=len(todo), desc=f"experiment {plan.name}", unit="cell", file=sys.stderr,
                   disable=not progress, dynamic_ncols=True, smoothing=0.1)
        try:
            for row in executor.run(_tasks(todo)):
                for name, data in (row.pop("files", None) or {}).items():
                    (out / "cells" / row["hash"]).mkdir(parents=True, exist_ok=True)
                    atomic_write(out / "cells" / row["hash"] / name, data)
                table.put(row)
                ran += 1
                failed += row["status"] != "ok"
                bar.update(1)
                bar.set_postfix(failed=failed, refresh=False)
        except KeyboardInterrupt:
            bar.close()
            executor.stop()
            finish(out, plan)
            raise ExperimentInterrupted(
                f"interrupted: {skipped + ran} of {len(plan.cells)} cells done; run the same "
                "command again to finish the rest") from None
        bar.close()
    finish(out, plan)
    return RunSummary(len(plan.cells), skipped, ran, failed, time.perf_counter() - t0, out)


@contextlib.contextmanager
def _folder_lock(out: Path):
    """One run per folder at a time: two would run the same cells twice."""
    import fcntl

    with open(out / ".lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"{out} is in use by another ferlab experiment run") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _tasks(cells: list[Cell]):
    """(cell dict, genome bytes) per cell, read lazily: workers need no shared disk."""
    path, data = None, b""
    for c in cells:  # a genome's cells are adjacent: keep only the last file's bytes
        if c.genome_path != path:
            path = c.genome_path
            try:
                data = Path(path).read_bytes()
            except OSError:
                data = b""  # the cell fails with "changed since the plan was made"
        yield c.to_dict(), data


def finish(out: Path, plan: Plan) -> None:
    """Rewrite results.csv and summary.html from the table (rows of the current plan)."""
    from ferlab.experiment.summary import write_summary

    hashes = {c.hash for c in plan.cells}
    rows = [r for r in read_rows(out / TABLE_NAME) if r["hash"] in hashes]
    write_csv(rows, out / "results.csv")
    write_summary(rows, len(hashes), plan.name, out / "summary.html", plan.source)


def status_report(out_dir) -> dict:
    """Counts of the folder's current plan: done, failed (with errors), missing."""
    plan = read_plan(out_dir)
    cells = plan["cells"]
    path = Path(out_dir) / TABLE_NAME
    rows = {r["hash"]: r for r in read_rows(path)} if path.exists() else {}
    ok = [c for c in cells if rows.get(c["hash"], {}).get("status") == "ok"]
    bad = [rows[c["hash"]] for c in cells if rows.get(c["hash"], {}).get("status") == "failed"]
    per_genome: dict[str, list[int]] = {}
    for c in cells:
        st = rows.get(c["hash"], {}).get("status")
        g = per_genome.setdefault(c["genome"], [0, 0, 0])
        g[0 if st == "ok" else 1 if st == "failed" else 2] += 1
    return {"name": plan["name"], "planned": len(cells), "ok": len(ok), "failed": len(bad),
            "missing": len(cells) - len(ok) - len(bad),
            "failures": [{"genome": r["genome"], "seed": r["seed"], "vary": r["vary"],
                          "hash": r["hash"], "error": r["error"]} for r in bad],
            "per_genome": {g: dict(zip(("ok", "failed", "missing"), v)) for g, v in per_genome.items()},
            "cell_seconds": sum(rows[c["hash"]].get("wall_s") or 0 for c in cells if c["hash"] in rows)}
