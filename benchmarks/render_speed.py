"""Render speed: the skull genome and its dense network at 256² (prints figures, asserts nothing).

Run: .venv/bin/python benchmarks/render_speed.py   (reads FERLAB_SHARED, default ../shared)
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ferlab.canvas import Canvas
from ferlab.dense import DenseCPPN
from ferlab.layerize import layerize
from ferlab.picbreeder import load_genome
from ferlab.engine import (batch_weights_fn, compile_genome, limit_blas_threads, render_genome,
                           render_weight_variants, weights_fn)

SHARED = Path(os.environ.get("FERLAB_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def best_ms(fn, repeat: int = 30, q: float = 50) -> float:
    """The q-th percentile (median by default) of ``repeat`` calls, in ms."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * float(np.percentile(times, q))


def naive_recursive(genome, res=256):
    """The textbook renderer: recurse from the output, one numpy op per link, no plan."""
    planes = dict(zip(("x", "y", "d", "bias"), Canvas.square(res).planes()))
    from ferlab.activations import apply
    inputs = {v: planes[k] for k, v in genome.input_ids().items()}
    incoming = genome.sources()
    acts = {n.id: n.activation for n in genome.nodes}
    memo = {}

    def value(nid):
        if nid in inputs:
            return inputs[nid]
        if nid not in memo:
            z = sum((genome.links[i].weight * value(genome.links[i].source) for i in incoming[nid]),
                    np.zeros((res, res)))
            memo[nid] = apply(acts[nid], z, np)
        return memo[nid]

    return value(genome.output_ids()["ink"])


#: Earlier figures: issue #10's text (loaded 2-core machine), then the same script on the quiet
#: machine before the JAX backend's channel broadcast, polynomial sin/cos and 512-bit vectors.
PREVIOUS = {"jit": "1.1-2.3 ms in the issue, 1.19 ms quiet before; goal <= 1 ms",
            "jit butterfly": "109 ms before (the graph fused into the RGB stack)",
            "vmap": "~39 ms skull / ~2,000-3,800 ms butterfly before, 285 frames at 64²",
            "blas": "1.8x slower with BLAS threads"}


def main():
    import jax
    import jax.numpy as jnp

    g = load_genome(SHARED / "picbreeder" / "fer" / "skull.zip")
    plan = compile_genome(g)
    print(f"skull genome: {len(g.nodes)} nodes, {len(g.links)} links, 256x256, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} (loaded machine: compare ratios)")
    print(f"  naive recursive numpy (float64)   {best_ms(lambda: naive_recursive(g), 10):8.2f} ms")
    plan64 = best_ms(lambda: render_genome(g, 256, plan=plan))
    print(f"  ferlab numpy plan (float64), BLAS default threads {plan64:8.2f} ms")
    limit_blas_threads(1)  # what the CLI and the web app now do
    one = best_ms(lambda: render_genome(g, 256, plan=plan))
    print(f"  ferlab numpy plan (float64), BLAS 1 thread        {one:8.2f} ms "
          f"({plan64 / one:.1f}x; previously {PREVIOUS['blas']})")
    print(f"  ferlab numpy plan (float32)       {best_ms(lambda: render_genome(g, 256, dtype=np.float32, plan=plan)):8.2f} ms")
    f = weights_fn(g, 256)
    w = jnp.asarray(g.weights, jnp.float32)
    # Median and 10th percentile: XLA splits the loop over both cores, so one core taken by
    # another process doubles a call; on a shared machine the times are bimodal.
    fast = best_ms(lambda: f(w).block_until_ready(), 100, q=10)
    print(f"  ferlab jitted JAX (float32)       {best_ms(lambda: f(w).block_until_ready(), 100):8.2f} ms "
          f"(p10 {fast:.2f} ms; previously {PREVIOUS['jit']})")
    empty = jax.jit(lambda v: v)
    print(f"  an empty jitted call (dispatch)   {best_ms(lambda: empty(w).block_until_ready(), 100):8.3f} ms")
    bf = load_genome(SHARED / "picbreeder" / "fer" / "butterfly.zip")
    fbf, wbf = weights_fn(bf, 256), jnp.asarray(bf.weights, jnp.float32)
    print(f"  jitted JAX butterfly (colour)     {best_ms(lambda: fbf(wbf).block_until_ready(), 100):8.2f} ms "
          f"(previously {PREVIOUS['jit butterfly']})")
    for name, genome in (("skull", g), ("butterfly", bf)):
        fb, _ = batch_weights_fn(genome, 64)
        batch = jnp.tile(jnp.asarray(genome.weights, jnp.float32), (285, 1))
        print(f"  ferlab vmap {name:<9}, 285 at 64² {best_ms(lambda: fb(batch).block_until_ready(), 5):8.2f} ms total")
    print(f"    (previously {PREVIOUS['vmap']})")
    # The skull's link-sweep sheet (57 links x 5 offsets at 64²), from cold, as `ferlab sweep` runs it.
    ws = np.repeat(np.asarray(g.weights)[None], 285, 0)
    ws[np.arange(285), np.arange(285) // 5] += np.tile([-1.0, -0.5, 0.0, 0.5, 1.0], 57)
    t = time.perf_counter()
    fn, _ = batch_weights_fn(g, 64)
    fn(ws.astype(np.float32)).block_until_ready()
    cold_jax = 1000 * (time.perf_counter() - t)
    t = time.perf_counter()
    render_weight_variants(g, ws, 64)
    cold_np = 1000 * (time.perf_counter() - t)
    print(f"  sweep sheet 285 frames at 64², cold: jit(vmap) {cold_jax:8.1f} ms, "
          f"render_weight_variants {cold_np:8.1f} ms")
    for name, net in [("layerized skull", layerize(g)),
                      ("paper sgd_skull.npz", DenseCPPN.load(SHARED / "reference" / "sgd_skull.npz"))]:
        print(f"  dense {name:<22} numpy f32 {best_ms(lambda: net.render(256), 10):8.2f} ms")


if __name__ == "__main__":
    main()
