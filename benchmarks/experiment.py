"""Cells per minute of ``ferlab experiment``: the example config on the genomes of ../shared
at reduced resolution, on a process pool and a local Ray, with 1 and 2 workers.

    python benchmarks/experiment.py [--seeds 1] [--res 32] [--steps 1000] [--warm]

Every run starts from an empty folder and an empty compile cache (``--warm`` also times a
second run that reuses the cache: what resuming or re-running a config costs). The tables of
all runs are checked to be identical, as the executors promise.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ferlab.experiment import ProcessPool, RayExecutor, parse_plan, read_rows, run_experiment  # noqa: E402

TIMING = {"wall_s", "finished", "host"}


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return repr(v)


def reduced_config(shared: Path, seeds: int, res: int, steps: int) -> str:
    doc = tomllib.loads((ROOT / "examples" / "paper_comparison.toml").read_text())
    doc["experiment"]["genomes"] = [str(shared / "picbreeder/fer/*.zip"),
                                    str(shared / "picbreeder/cppnx/*.xml")]
    doc["experiment"]["seeds"] = list(range(seeds))
    doc["train"].update(res=res, steps=steps)
    doc["metrics"].update(res=max(16, res // 2))
    return "\n".join(f"[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in table.items())
                     for name, table in doc.items())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=os.environ.get("FERLAB_SHARED", ROOT.parent / "shared"))
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--res", type=int, default=32)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--warm", action="store_true", help="also time a run with a warm compile cache")
    ap.add_argument("--only", choices=("pool", "ray"), default=None)
    args = ap.parse_args()
    text = reduced_config(Path(args.shared).resolve(), args.seeds, args.res, args.steps)
    plan = parse_plan(text)
    print(f"{len(plan.cells)} cells ({len({c.genome for c in plan.cells})} genomes × {args.seeds} "
          f"seeds): train fast, {args.steps} steps at {args.res}²; metrics at "
          f"{max(16, args.res // 2)}²; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    runs = [(kind, w) for kind in ("pool", "ray") for w in (1, 2) if args.only in (None, kind)]
    tables, lines = [], []
    for kind, workers in runs:
        with tempfile.TemporaryDirectory(prefix="ferlab-bench-") as tmp:
            cache = Path(tmp) / "cache"
            passes = ("cold", "warm") if args.warm else ("cold",)
            for p in passes:
                out = Path(tmp) / p
                ex = (ProcessPool(workers, compile_cache=cache) if kind == "pool"
                      else RayExecutor(None, workers, compile_cache=cache))
                t0 = time.perf_counter()
                with ex:
                    s = run_experiment(plan, out, ex, progress=False)
                wall = time.perf_counter() - t0  # executor start-up included
                rows = read_rows(out / "results.sqlite")
                tables.append([{k: v for k, v in r.items() if k not in TIMING and not k.startswith("time.")}
                               for r in rows])
                cell_s = sum(r["wall_s"] for r in rows)
                line = (f"{kind:4} workers={workers} {p}: {s.ran} cells ({s.failed} failed) in "
                        f"{wall:6.1f} s = {60 * s.ran / wall:5.2f} cells/min; mean cell "
                        f"{cell_s / max(1, s.ran):5.1f} s")
                print(line, flush=True)
                lines.append(line)
    same = all(t == tables[0] for t in tables[1:])
    print(f"identical tables across all runs: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
