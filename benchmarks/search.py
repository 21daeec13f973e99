"""Open-ended vs objective search: every arm x seeds at one budget, towards the skull.

    .venv/bin/python benchmarks/search.py [--budget 20000] [--seeds 0,1,2] [--res 64]
        [--replica-steps 600] [--metrics-res 16] [--out benchmarks-out/search]

Prints, per arm and seed: evaluations/s (render + descriptors + archive + breeding), grid
coverage, the open-endedness measures of the illuminated elites (mean pairwise and mean
nearest-neighbour pixel-embedding distance, greedy k-centre radius at k = 10 and 100),
archive size and the best RMS distance to the skull (64² render of skull.zip). Then the same
set measures for the Picbreeder genomes in $FERLAB_SHARED (the human reference), and the
experiment: for each arm (first seed) the genome it found nearest the skull (every arm
tracks its best-to-target image; the objective is used by the target arm only), its FER metrics (layerized) against an SGD
replica of the same image (ferlab.train 'fast' recipe, small settings). Figures: an elites
mosaic per arm, coverage and best distance against evaluations for every run.

Timings share the machine with whatever else runs: note the load when you quote them.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from ferlab.figures.search import curves_figure, elites_figure
from ferlab.picbreeder import load_genome
from ferlab.search import SearchConfig, run, start
from ferlab.search.config import ARMS
from ferlab.search.descriptors import pixel_embedding
from ferlab.search.evaluate import render_population
from ferlab.search.measures import open_endedness
from ferlab.search.results import clean_history, summary


def shared_dir() -> Path:
    root = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("FERLAB_SHARED", root.parent / "shared")).resolve()


def _row(m: dict) -> str:
    r = m["covering_radii"]
    return (f"{m['n']:6d} {m['mean_pairwise']:8.4f} {m['mean_nn']:8.4f} "
            f"{r[min(9, len(r) - 1)]:8.4f} {r[-1]:8.4f}")


def representation(genome, replica_steps: int, metrics_res: int, seed: int) -> dict:
    from ferlab.metrics import fer_metrics
    from ferlab.train import train

    g_m = fer_metrics(genome, res=metrics_res)
    t = time.perf_counter()
    # train() restarts a dead run (all outputs clipped) with new seeds by itself.
    rep = train(genome, "fast", steps=replica_steps, res=64, seed=seed, progress=False)
    r_m = fer_metrics(rep.net, res=metrics_res)
    return {"nodes": len(genome.nodes), "arch": str(rep.arch), "replica_seed": rep.seed, "replica_status": rep.status, "genome_fer": g_m["fer_score"],
            "replica_fer": r_m["fer_score"], "replica_mse": rep.final_mse,
            "replica_s": time.perf_counter() - t,
            "genome": g_m, "replica": r_m}


def compare_ribs(batch: int = 256, gens: int = 100) -> None:
    """CPU time per insertion: pyribs' GridArchive (if importable) vs ferlab's grid archive."""
    from ferlab.search.archives import GridArchive

    rng = np.random.default_rng(0)
    data = [(rng.random((batch, 2)), rng.random(batch), rng.random((batch, 192)).astype(np.float32))
            for _ in range(gens)]

    def timed(add) -> float:
        c = time.process_time()
        for g, (d, q, e) in enumerate(data):
            add(g, d, q, e)
        return (time.process_time() - c) / (batch * gens) * 1e6

    mine = GridArchive(32, 192)
    none = [None] * batch
    print(f"ferlab GridArchive.add: {timed(lambda g, d, q, e: mine.add(none, d, q, e, q, g)):.2f} us/eval (CPU)")
    try:
        t = time.perf_counter()
        from ribs.archives import GridArchive as RibsGrid
        print(f"pyribs import: {time.perf_counter() - t:.1f} s")
    except ImportError:
        print("pyribs is not installed: skipped")
        return
    ra = RibsGrid(solution_dim=1, dims=[32, 32], ranges=[(0, 1), (0, 1)],
                  extra_fields={"embedding": ((192,), np.float32), "distance": ((), np.float64)})

    def add(g, d, q, e):
        ra.add(np.arange(batch, dtype=float)[:, None] + g * batch, q, d, embedding=e, distance=q)

    print(f"pyribs GridArchive.add, first pass (JIT): {timed(add):.2f} us/eval (CPU)")
    ra.clear()
    print(f"pyribs GridArchive.add, warm: {timed(add):.2f} us/eval (CPU)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=20_000)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--res", type=int, default=64)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--replica-steps", type=int, default=600, help="0 skips the experiment")
    ap.add_argument("--metrics-res", type=int, default=16)
    ap.add_argument("--out", default="benchmarks-out/search")
    ap.add_argument("--compare-ribs", action="store_true",
                    help="only time archive insertion against pyribs (if installed)")
    args = ap.parse_args()
    if args.compare_ribs:
        compare_ribs()
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    arms = args.arms.split(",")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shared = shared_dir()
    skull = render_population([load_genome(shared / "picbreeder" / "fer" / "skull.zip")], args.res)[0]

    print(f"budget {args.budget} evaluations, res {args.res}, batch {args.batch}, seeds {seeds}")
    print(f"{'arm':>10} {'seed':>4} {'ev/s':>7} {'cover':>6} {'n':>6} {'pairwise':>8} {'mean_nn':>8} "
          f"{'r@10':>8} {'r@last':>8} {'archive':>7} {'best_d':>7} {'nodes':>6}")
    results: dict = {}
    for arm in arms:
        for seed in seeds:
            cfg = SearchConfig(arm, seed=seed, res=args.res, batch=args.batch)
            st = start(cfg, skull)
            t = time.perf_counter()
            run(st, args.budget, skull)
            wall = time.perf_counter() - t
            s = summary(st)
            s["evals_per_s"] = st.evals / wall
            s["history"] = clean_history(st.history)
            results[(arm, seed)] = (st, s)
            print(f"{arm:>10} {seed:4d} {s['evals_per_s']:7.0f} {s['coverage']:6.3f} {_row(s['measures'])} "
                  f"{s['archive']:7d} {s['best_distance']:7.4f} {st.history[-1]['nodes']:6.1f}", flush=True)
    print("\nmean over seeds:")
    for arm in arms:
        ss = [results[(arm, sd)][1] for sd in seeds]
        f = lambda k: np.mean([x[k] for x in ss])  # noqa: E731
        fm = lambda k: np.mean([x["measures"][k] for x in ss])  # noqa: E731
        print(f"{arm:>10}: {f('evals_per_s'):6.0f} ev/s  coverage {f('coverage'):.3f}  pairwise "
              f"{fm('mean_pairwise'):.4f}  mean_nn {fm('mean_nn'):.4f}  r@10 {fm('radius_at_10'):.4f}  "
              f"best distance {f('best_distance'):.4f} (min {min(x['best_distance'] for x in ss):.4f})")

    files = sorted((shared / "picbreeder" / "cppnx").glob("*.xml")) + sorted((shared / "picbreeder" / "fer").glob("*.zip"))
    human = open_endedness(pixel_embedding(render_population([load_genome(p) for p in files], args.res)))
    print(f"\nhuman reference ({len(files)} Picbreeder genomes): n, pairwise, mean_nn, r@10, r@last = {_row(human)}")

    for arm in arms:
        st = results[(arm, seeds[0])][0]
        occ = st.grid.occupied
        imgs = render_population([st.grid.genomes[c] for c in occ], 32)
        elites_figure(out / f"elites_{arm}.png", imgs, occ, st.config.bins, st.config.measures,
                      f"{arm}, seed {seeds[0]}: {len(occ)} elites, {st.evals} evaluations")
    curves_figure(out / "curves.png", {f"{a} s{sd}": results[(a, sd)][1]["history"] for a in arms for sd in seeds},
                  f"towards the skull, {args.budget} evaluations")
    report = {"settings": vars(args), "human": human,
              "runs": {f"{a}/{sd}": results[(a, sd)][1] for a in arms for sd in seeds}}

    if args.replica_steps > 0:
        print(f"\nrepresentation of what each arm found nearest the skull (seed {seeds[0]}; "
              f"SGD replica: fast recipe, {args.replica_steps} steps at 64²; metrics at {args.metrics_res}²)")
        print(f"{'arm':>10} {'dist':>7} {'nodes':>5} {'genome fer':>10} {'replica fer':>11} {'replica mse':>11} "
              f"{'rep seed':>8} status")
        report["representation"] = {}
        for arm in arms:
            st = results[(arm, seeds[0])][0]
            g, d = st.best_genome, st.best_distance
            try:
                r = representation(g, args.replica_steps, args.metrics_res, seeds[0])
            except ValueError as e:  # e.g. metrics refuse a (near-)constant picture
                print(f"{arm:>10} {d:7.4f} skipped: {e}")
                continue
            r["distance"] = d
            report["representation"][arm] = r
            print(f"{arm:>10} {d:7.4f} {r['nodes']:5d} {r['genome_fer']:10.3f} {r['replica_fer']:11.3f} "
                  f"{r['replica_mse']:11.2e} {r['replica_seed']:8d} {r['replica_status']}", flush=True)
    (out / "search.json").write_text(json.dumps(report, indent=1, default=float))
    print(f"\nfigures and search.json in {out}")


if __name__ == "__main__":
    main()
