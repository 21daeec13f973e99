"""Why SGD replicas die: how many pixels' outputs sit outside the colour clips, over training.

    .venv/bin/python benchmarks/train_clipping.py [--only butterfly,765] [--seeds 0,1]
        [--leaks 0,0.1] [--lr 5e-3] [--steps 1500]

For each genome (from $FERLAB_SHARED), seed and leak, the first ``--steps`` of the fast
recipe (its full schedule, cut short), printing every 250 steps: full-image MSE at 128²,
the fraction of pixels whose saturation is outside [0, 1] (s) and whose |value| is above 1
(v) — where the clip passes no gradient — and the spread of the picture's colour (c: the
standard deviation of max(RGB) − min(RGB); 0 is a grey picture). A picture with s and v at
1.00 is flat: its exact gradient is zero.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from ferlab.dense import forward, rgb_from_outputs
from ferlab.picbreeder import load_genome
from ferlab.train import RECIPES, grid_inputs, init_kernels, load_target, make_optimizer
from ferlab.train.loop import make_chunk_fn
from train_all import genome_paths, shared_dir


def clip_stats(arch, params, x, y):
    import jax.numpy as jnp

    out, _ = forward(arch, params, x, jnp)
    rgb = np.asarray(rgb_from_outputs(out, jnp))
    out = np.asarray(out)
    return (float(np.mean((rgb - y) ** 2)), np.mean((out[:, 1] < 0) | (out[:, 1] > 1)),
            np.mean(np.abs(out[:, 2]) > 1), (rgb.max(1) - rgb.min(1)).std())


def main() -> None:
    import jax
    import jax.numpy as jnp

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=None)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--leaks", default="0,0.1")
    ap.add_argument("--lr", type=float, default=None, help="peak rate (default the recipe's)")
    ap.add_argument("--steps", type=int, default=1500)
    args = ap.parse_args()
    paths = genome_paths(shared_dir())
    if args.only:
        paths = [p for p in paths if any(w in p.name for w in args.only.split(","))]
    every = 250
    for path in paths:
        t = load_target(load_genome(path))
        a = t.arch
        x, y = jnp.asarray(grid_inputs(128)), t.image_at(128).reshape(-1, 3)
        xb, yb = jnp.asarray(grid_inputs(256)), jnp.asarray(t.image_at(256).reshape(-1, 3))
        for leak in (float(v) for v in args.leaks.split(",")):
            rec = replace(RECIPES["fast"], leak=leak, lr=args.lr or RECIPES["fast"].lr)
            opt = make_optimizer(rec)
            chunk = make_chunk_fn(a, opt, every, leak)
            for seed in (int(s) for s in args.seeds.split(",")):
                t0 = time.perf_counter()
                key = jax.random.fold_in(jax.random.PRNGKey(seed), 1)
                p = tuple(init_kernels(a, seed))
                st = opt.init(p)
                cells = []
                for step in range(0, args.steps + 1, every):
                    if step:
                        p, st, _ = chunk(p, st, key, jnp.float32(1.0), jnp.int32(step - every), jnp.int32(every),
                                         xb, yb, batch=rec.batch)
                    m, s_out, v_out, c = clip_stats(a, p, x, y)
                    cells.append(f"{step}:{m:.4f}/s{s_out:.2f}/v{v_out:.2f}/c{c:.3f}")
                print(f"{path.stem} lr {rec.lr:g} leak {leak:g} seed {seed} "
                      f"({time.perf_counter() - t0:.0f} s): " + " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
