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
from ferlab.render import compile_genome, render_genome, weights_fn

SHARED = Path(os.environ.get("FERLAB_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def best_ms(fn, repeat: int = 30) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


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


def main():
    import jax
    import jax.numpy as jnp

    g = load_genome(SHARED / "picbreeder" / "fer" / "skull.zip")
    plan = compile_genome(g)
    print(f"skull genome: {len(g.nodes)} nodes, {len(g.links)} links, 256x256, {os.cpu_count()} cores")
    print(f"  naive recursive numpy (float64)   {best_ms(lambda: naive_recursive(g), 10):8.2f} ms")
    print(f"  ferlab numpy plan (float64)       {best_ms(lambda: render_genome(g, 256, plan=plan)):8.2f} ms")
    print(f"  ferlab numpy plan (float32)       {best_ms(lambda: render_genome(g, 256, dtype=np.float32, plan=plan)):8.2f} ms")
    f = weights_fn(g, 256)
    w = jnp.asarray(g.weights, jnp.float32)
    print(f"  ferlab jitted JAX (float32)       {best_ms(lambda: f(w).block_until_ready(), 100):8.2f} ms")
    batch = jnp.tile(w, (285, 1))
    fb = jax.jit(jax.vmap(f))
    print(f"  ferlab vmap, 285 frames           {best_ms(lambda: fb(batch).block_until_ready(), 3):8.2f} ms total")
    for name, net in [("layerized skull", layerize(g)),
                      ("paper sgd_skull.npz", DenseCPPN.load(SHARED / "reference" / "sgd_skull.npz"))]:
        print(f"  dense {name:<22} numpy f32 {best_ms(lambda: net.render(256), 10):8.2f} ms")


if __name__ == "__main__":
    main()
