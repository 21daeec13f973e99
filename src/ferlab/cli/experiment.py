"""``ferlab experiment CONFIG.toml -o DIR``: a grid of genomes × seeds × steps, resumable,
on a local process pool or Ray; ``ferlab experiment --status DIR`` summarises a folder."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ferlab.cli import CLIError


def register(sub) -> None:
    p = sub.add_parser(
        "experiment", help="run a grid of genomes × seeds × steps (process pool or Ray)",
        description="Expand CONFIG.toml (see examples/paper_comparison.toml) into cells, one per "
                    "genome × seed × grid value, and run them into DIR: results.sqlite (one row "
                    "per cell: config hash, status, timings, every figure), results.csv and a "
                    "self-contained summary.html. Running again resumes: cells already in the "
                    "table (by config hash) are skipped. A failing cell is recorded with its error "
                    "and the others go on (exit code 1 when any failed). Ctrl-C stops cleanly, keeping every "
                    "finished row (exit code 130).")
    from ferlab.experiment.steps import STEPS

    p.epilog = "steps (one [table] each in the config): " + "; ".join(
        f"{name}: {st.doc} (settings: {', '.join(st.defaults)})" for name, st in STEPS.items())
    p.add_argument("config", nargs="?", help="experiment config (.toml)")
    p.add_argument("-o", "--output", help="experiment folder (created if missing)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: the machine's CPU count); with --ray local, "
                        "the CPUs the local Ray gets")
    p.add_argument("--ray", metavar="local|ADDRESS", default=None,
                   help="run on Ray: 'local' starts a private Ray on 127.0.0.1; HOST:PORT, "
                        "'auto' or ray://HOST:PORT joins an existing cluster")
    p.add_argument("--compile-cache", metavar="DIR", default=None,
                   help="JAX compilation cache shared by this machine's workers (default: "
                        "DIR/jax-cache; 'none' for no cache). Not used with a cluster address")
    p.add_argument("--retry-failed", action="store_true", help="run failed cells again")
    p.add_argument("--status", metavar="DIR", help="summarise an experiment folder and exit")
    p.add_argument("--json", action="store_true", help="with --status: print one JSON object")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from ferlab.experiment import (ExperimentInterrupted, ProcessPool, RayExecutor, load_plan,
                                   run_experiment, status_report)
    from ferlab.experiment.run import COMPILE_CACHE, prepare_dir

    if args.status:
        if args.config or args.output:
            raise CLIError("--status DIR takes no config or -o")
        return _print_status(status_report(args.status), args.json)
    if not args.config or not args.output:
        raise CLIError("give a config and -o DIR (or --status DIR)")
    if args.workers is not None and args.workers < 1:
        raise CLIError(f"--workers must be at least 1, got {args.workers}")
    if args.ray is not None and not args.ray.strip():
        raise CLIError("--ray needs 'local' or a cluster address")
    plan = load_plan(args.config)
    workers = args.workers or os.cpu_count() or 1
    out = prepare_dir(args.output)
    # Compiled programs are cached in the folder for workers on this machine; a cluster's
    # workers each compile for themselves (the driver's disk is not theirs).
    cache = None
    if args.ray in (None, "local") and args.compile_cache != "none":
        cache = Path(args.compile_cache if args.compile_cache else out / COMPILE_CACHE).resolve()
    if args.ray is None:
        executor = ProcessPool(workers, compile_cache=cache)
    else:
        executor = RayExecutor(None if args.ray == "local" else args.ray, workers, cache)
    try:
        with executor:
            s = run_experiment(plan, args.output, executor, retry_failed=args.retry_failed,
                               progress=not args.quiet)
    except ExperimentInterrupted as e:
        print(f"ferlab experiment: {e}", file=sys.stderr)
        return 130
    print(f"{plan.name}: {s.ran} cells run ({s.failed} failed), {s.skipped} already done, "
          f"{s.planned} planned, {s.seconds:.1f} s on {executor.name} -> {s.out_dir}")
    return 1 if s.failed else 0


def _print_status(st: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(st, indent=1))
        return 0
    print(f"{st['name']}: {st['ok']} of {st['planned']} cells done, {st['failed']} failed, "
          f"{st['missing']} missing ({st['cell_seconds']:.0f} s of cell time)")
    width = max((len(g) for g in st["per_genome"]), default=6)
    for g, c in st["per_genome"].items():
        print(f"  {g:<{width}}  ok {c['ok']:>3}  failed {c['failed']:>3}  missing {c['missing']:>3}")
    for f in st["failures"]:
        print(f"  failed: {f['genome']} seed {f['seed']} {f['hash']}: {f['error']}")
    return 0
