"""Server time of the explorer's requests on the real CPPN-X skull and the paper's dense nets.

Times, per request kind, the work behind one HTTP call (no network): the live render, the
sweep strip, a node's large map, the scan (sprite for the page, animated PNG and WebP
exports), and for the dense layer grid the render and all neuron maps with changes.

    .venv/bin/python benchmarks/web_explore.py [--reps 10] [--shared ../shared]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from ferlab.dense import DenseCPPN
from ferlab.evolve import limit_blas_threads
from ferlab.layerize import layerize
from ferlab.picbreeder import load_genome
from ferlab.web import dense, imaging


def timed(fn, reps: int) -> tuple[float, float]:
    fn()  # warm caches (numpy, Pillow codecs)
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3, max(ts) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--shared", default=os.environ.get("FERLAB_SHARED", "../shared"))
    a = ap.parse_args()
    limit_blas_threads(1)  # as `ferlab serve` runs
    shared = Path(a.shared)
    g = load_genome(shared / "picbreeder" / "cppnx" / "576_Skull.xml")
    link = (576, 224)
    values = imaging.scan_values(-3, 3, 0.1)
    frames = imaging.scan_frames(g, link, values, 256)
    sgd = DenseCPPN.load(shared / "reference" / "sgd_skull.npz")
    evo = layerize(load_genome(shared / "picbreeder" / "fer" / "skull.zip"))
    edit = [(7, 15, 15, 1.0)]
    rows = [
        ("live render 256²", lambda: imaging.render_png(g, 256)),
        ("sweep strip 5×96²", lambda: imaging.sweep_strip(g, link, 96)),
        ("node map 256² + range", lambda: imaging.node_map(g, (540, 106), 256)),
        (f"scan sprite {len(values)}×192²", lambda: imaging.sprite_png(imaging.scan_frames(g, link, values, 192))),
        (f"scan frames {len(values)}×256²", lambda: imaging.scan_frames(g, link, values, 256)),
        ("  + animated PNG encode", lambda: imaging.animation(frames, "png")),
        ("  + animated WebP encode", lambda: imaging.animation(frames, "webp")),
        ("dense render 192² (SGD skull)", lambda: dense.image_png(dense.with_edits(sgd, edit), 192)),
        ("dense neurons 271×24² + Δ (SGD)", lambda: dense.neurons(sgd, edit, 24)),
        ("dense neurons 271×24² + Δ (evolved)", lambda: dense.neurons(evo, edit, 24)),
        ("dense sweep 5×64² (SGD)", lambda: dense.sweep_strip(sgd, 7, 15, 15, 64)),
    ]
    print(f"{'request':38s} {'median ms':>10s} {'max ms':>8s}   ({a.reps} reps, one BLAS thread)")
    for name, fn in rows:
        med, worst = timed(fn, a.reps)
        print(f"{name:38s} {med:10.1f} {worst:8.1f}")


if __name__ == "__main__":
    main()
