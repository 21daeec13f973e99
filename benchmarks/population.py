"""Population throughput: 128 unrelated genomes at 64², what open-ended search renders.

Genomes: 128 independent lineages (seed k), each a fresh Picbreeder start genome bred for
``--generations`` screens keeping a random child, so sizes and structures differ. Prints
genomes/s for a plain per-genome numpy loop (the baseline), and for
``ferlab.engine.render_population`` with each strategy, beside the previous figures.

    .venv/bin/python benchmarks/population.py [--n 128] [--res 64] [--generations 12]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from ferlab.activations import apply
from ferlab.canvas import Canvas
from ferlab.colour import to_bytes, to_rgb, ink_to_rgb
from ferlab.engine import limit_blas_threads, render_population
from ferlab.evolve import Innovations, breed, first_screen

#: Earlier figures, genomes/s (wall): issue #10's text (loaded 2-core machine), and this
#: script on the quiet 2-core machine before the third session's changes.
PREVIOUS = {"per-genome loop": "1600 / 5923", "grouped": "1600 / 7632",
            "grouped, validate=False": "- / 10286", "padded": "- / 2331",
            "padded, validate=False": "- / 2534"}
GOAL = 10_000.0


def population(n: int, generations: int, seed: int = 0) -> list:
    out = []
    for k in range(n):
        rng = np.random.default_rng([seed, k])
        screen, innov = first_screen(15, int(rng.integers(2**31)), Innovations(1), bool(k % 2))
        g = screen[int(rng.integers(15))]
        for _ in range(generations):
            kids, innov = breed([g], 15, int(rng.integers(2**31)), innov, 1.0)
            g = kids[int(rng.integers(15))]
        out.append(g)
    return out


def per_genome_loop(genomes, res):
    """The 30-line baseline: topological order, one numpy op per link and node, per genome."""
    planes = dict(zip(("x", "y", "d", "bias"), Canvas.square(res).planes(np.float32)))
    out = []
    for g in genomes:
        vals = {n.id: planes[n.label] for n in g.nodes if n.kind == "in"}
        acts = {n.id: n.activation for n in g.nodes}
        inc = g.sources()
        for nid in g.topological_order():
            if nid in vals:
                continue
            z = np.zeros((res, res), np.float32)
            for i in inc[nid]:
                z += np.float32(g.links[i].weight) * vals[g.links[i].source]
            vals[nid] = apply(acts[nid], z, np)
        o = g.output_ids()
        rgb = (ink_to_rgb(vals[o["ink"]]) if "ink" in o
               else to_rgb(vals[o["hue"]], vals[o["saturation"]], vals[o["brightness"]]))
        out.append(to_bytes(rgb))
    return np.stack(out)


def grouped_floor(genomes, res):
    """The grouped strategy's products and activations alone, its program compiled beforehand:
    the bound that Python-side work (walks, schedule, colour) is measured against. Reaches
    into the engine's internals on purpose: this is a measurement, not an API."""
    from ferlab.canvas import as_canvas
    from ferlab.engine.population import grouped

    prog = grouped._Program(genomes)
    order, _, groups = prog.schedule()
    steps = grouped._compile(groups)
    planes = as_canvas(res, None).planes(np.float32).reshape(4, -1)
    return lambda: grouped._execute(planes, len(order), steps)


def rate(fn, n, repeat=5):
    """(genomes/s by best wall time, genomes/s by median CPU time of all threads): on a
    shared machine the CPU figure is the steadier one."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return n / min(walls), n / float(np.median(cpus))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--res", type=int, default=64)
    ap.add_argument("--generations", type=int, default=12)
    args = ap.parse_args()
    limit_blas_threads(1)
    gs = population(args.n, args.generations)
    sizes = [len(g.nodes) for g in gs]
    print(f"{args.n} unrelated genomes at {args.res}², nodes min/median/max "
          f"{min(sizes)}/{int(np.median(sizes))}/{max(sizes)}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    base = rate(lambda: per_genome_loop(gs, args.res), args.n, 3)
    rows = [("per-genome loop", base)]
    for strategy in ("grouped", "padded"):
        for validate in (True, False):
            r = rate(lambda: render_population(gs, args.res, strategy=strategy, validate=validate), args.n)
            rows.append((f"{strategy}" + ("" if validate else ", validate=False"), r))
    rows.append(("grouped: arithmetic only", rate(grouped_floor(gs, args.res), args.n)))
    print(f"  {'genomes/s':34} {'wall':>8} {'cpu':>8} {'previous':>13} {'x loop (wall/cpu)':>18}")
    for name, (wall, cpu) in rows:
        prev = PREVIOUS.get(name)
        print(f"  {name:34} {wall:8.0f} {cpu:8.0f} {prev or '-':>13} "
              f"{wall / base[0]:8.1f} /{cpu / base[1]:5.1f}")
    print(f"  goal: >= {GOAL:.0f} genomes/s and >= 10x the loop")
    print("  (arithmetic only: the grouped program's numpy work with its compile and the colour "
          "pass taken out, one thread: no grouped render can beat it on one core)")


if __name__ == "__main__":
    main()
