"""Fast vs paper SGD replicas of the skull: wall time to the paper's final loss, per-step cost.

    .venv/bin/python benchmarks/train_skull.py [--seed 0] [--no-stop] [--paper-steps 60]

1. Recipe ``fast`` on skull.zip (from $FERLAB_SHARED, default ../shared), stopping as soon as
   the full 256² image MSE is ≤ 4.0e-4 (the paper's final skull loss): wall time (compile and
   target rendering included) and final MSE. ``--no-stop`` runs the whole recipe instead.
2. Recipe ``paper``: seconds per full-image step (timed over steps after the first compiled
   chunk), the projected time of its 100k steps, and its loss at early steps next to the
   paper's own curve (sgd_skull_losses.npy; seeds differ, so only the shape should agree).

Timings share the machine with whatever else runs: note the load when you quote them.
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ferlab.picbreeder import load_genome
from ferlab.train import PAPER, RECIPES, train

PAPER_FINAL = 4.0e-4


def shared_dir() -> Path:
    root = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("FERLAB_SHARED", root.parent / "shared")).resolve()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-stop", action="store_true", help="run the whole fast recipe")
    ap.add_argument("--paper-steps", type=int, default=60,
                    help="paper-recipe steps to time (the first 10 include compilation)")
    ap.add_argument("--skip-fast", action="store_true")
    args = ap.parse_args()
    shared = shared_dir()
    genome = load_genome(shared / "picbreeder" / "fer" / "skull.zip")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    if not args.skip_fast:
        fast = RECIPES["fast"]
        r = train(genome, fast, seed=args.seed, stop_mse=None if args.no_stop else PAPER_FINAL,
                  progress=True)
        hit = [(s, m, w) for s, m, w in r.evals if m <= PAPER_FINAL]
        print(f"\nfast recipe: {fast}")
        for s, m, w in r.evals:
            print(f"  step {int(s):6d}  full-256² MSE {m:.3e}  at {w:6.1f} s")
        if hit:
            s, m, w = hit[0]
            print(f"fast: MSE ≤ {PAPER_FINAL:.1e} at step {int(s)} after {w:.1f} s wall "
                  f"(MSE {m:.3e})")
        else:
            print(f"fast: did not reach MSE ≤ {PAPER_FINAL:.1e}")
        print(f"fast: final MSE {r.final_mse:.3e} after {r.steps} steps, {r.wall_seconds:.1f} s")

    n = max(20, args.paper_steps)
    marks: list[tuple[int, float]] = []
    rec = replace(PAPER, steps=n, chunk=10, eval_every=n)
    p = train(genome, rec, seed=args.seed, progress=False,
              callback=lambda step, losses: marks.append((step, time.perf_counter())))
    (s0, t0), (s1, t1) = marks[0], marks[-1]
    per_step = (t1 - t0) / (s1 - s0)
    print(f"\npaper recipe: {per_step * 1e3:.1f} ms per 256² step (timed over {s1 - s0} steps); "
          f"100k steps ≈ {per_step * 1e5 / 60:.0f} min")
    ref = np.load(shared / "reference" / "sgd_skull_losses.npy")
    print("  step   ours      paper's run")
    for k in (1, 10, 20, 50, 100, 200, 400, 1000):
        if k <= len(p.losses):
            print(f"  {k:5d}  {p.losses[k - 1]:.3e}  {ref[k - 1]:.3e}")


if __name__ == "__main__":
    main()
