"""How fast a network learns a variant of its picture: one fixed fine-tuning recipe.

:data:`FINETUNE` is the paper's optimiser (Adam, gradient scaled to unit norm every step,
constant rate, full image, MSE on RGB) at one tenth of its training rate (3e-4, the usual
fine-tuning cut), at 64² for 300 steps. No network gets a recipe tuned for it, but the answer
depends on the rate: at the paper's 3e-3 the evolved networks are thrown off their own picture
in the first steps (see benchmarks/adapt.py, which sweeps the rate). Every
network starts from its own weights; the full-image MSE is checked at step 0 and every
``recipe.chunk`` steps, so "steps to target" has that granularity (0 means the start already
met the target). Seconds exclude compilation (programs are compiled once per architecture
and recipe, before the clock starts).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ferlab.adapt.nets import as_network, check_same_arch
from ferlab.dense import Arch, DenseCPPN
from ferlab.train import Recipe

FINETUNE = Recipe(name="finetune", steps=300, lr=3e-4, res=64, batch=None, grad_norm="unit",
                  schedule="constant", chunk=10, eval_every=10)
#: Target MSE for "steps to target": about the paper's SGD skull after 1,000 training steps.
TARGET_MSE = 5e-3


@dataclass(frozen=True)
class FinetuneResult:
    steps_to_target: int | None  # None: not reached within the budget
    seconds_to_target: float | None
    final_mse: float
    start_mse: float
    curve: np.ndarray  # (K, 2) step, full-image MSE
    seconds: float
    net: DenseCPPN = field(repr=False)


@lru_cache(maxsize=8)
def _programs(arch: Arch, recipe: Recipe):
    """(optimizer, chunk fn, eval fn) for one architecture and recipe, compiled once."""
    import jax
    import jax.numpy as jnp

    from ferlab.train import init_kernels, make_optimizer
    from ferlab.train.loop import make_chunk_fn, make_eval_fn

    opt = make_optimizer(recipe)
    chunk = make_chunk_fn(arch, opt, recipe.chunk, recipe.leak)
    evaluate = make_eval_fn(arch)
    p = tuple(init_kernels(arch, 0))
    x = jnp.zeros((recipe.res ** 2, 4), jnp.float32)
    y = jnp.zeros((recipe.res ** 2, 3), jnp.float32)
    chunk(p, opt.init(p), jax.random.PRNGKey(0), jnp.float32(1.0), jnp.int32(0), jnp.int32(1), x, y,
          batch=None)[0][0].block_until_ready()
    evaluate(p, x, y)[0].block_until_ready()
    return opt, chunk, evaluate


def _check_image(image, res: int) -> np.ndarray:
    img = np.asarray(image, np.float32)
    if img.shape != (res, res, 3):
        raise ValueError(f"target image has shape {img.shape}, the recipe trains at {res}x{res}x3")
    if not np.all(np.isfinite(img)) or img.min() < 0 or img.max() > 1:
        raise ValueError("target image must be finite RGB in [0, 1]")
    return img


def finetune(net, image, recipe: Recipe = FINETUNE, target_mse: float = TARGET_MSE,
             stop_at_target: bool = False) -> FinetuneResult:
    """Fine-tune ``net`` (its own weights as the start) toward ``image`` (res×res×3)."""
    import jax
    import jax.numpy as jnp

    from ferlab.train import grid_inputs

    net = as_network(net)
    if not target_mse > 0:
        raise ValueError(f"target MSE must be positive, got {target_mse}")
    if recipe.batch is not None or any(s.batch is not None or s.scale != 1 for s in recipe.stages):
        raise ValueError("the fine-tuning probe trains on the full image: use a recipe without "
                         "minibatches or resolution stages")
    y = jnp.asarray(_check_image(image, recipe.res).reshape(-1, 3))
    x = jnp.asarray(grid_inputs(recipe.res))
    opt, chunk, evaluate = _programs(net.arch, recipe)
    params = tuple(jnp.asarray(k, jnp.float32) for k in net.kernels)
    state = opt.init(params)
    key = jax.random.PRNGKey(0)  # unused: full-image steps draw no minibatches
    t0 = time.perf_counter()
    start = float(evaluate(params, x, y)[0])
    curve = [(0, start)]
    hit = (0, 0.0) if start <= target_mse else None
    step = 0
    while step < recipe.steps and not (stop_at_target and hit):
        n = min(recipe.chunk, recipe.steps - step)
        params, state, _ = chunk(params, state, key, jnp.float32(1.0), jnp.int32(step), jnp.int32(n),
                                 x, y, batch=None)
        step += n
        m = float(evaluate(params, x, y)[0])
        if not math.isfinite(m):
            break  # diverged: the curve ends here, the target counts as not reached
        curve.append((step, m))
        if hit is None and m <= target_mse:
            hit = (step, time.perf_counter() - t0)
    seconds = time.perf_counter() - t0
    kernels = tuple(np.asarray(k, np.float32) for k in params)
    out = DenseCPPN(net.arch, kernels, meta={"name": f"{net.meta.get('name', 'net')}-finetuned"})
    return FinetuneResult(hit[0] if hit else None, hit[1] if hit else None, curve[-1][1], start,
                          np.array(curve, np.float64), seconds, out)


def learning_probe(groups: dict, variants, recipe: Recipe = FINETUNE,
                   target_mse: float = TARGET_MSE, progress: bool = False) -> list[dict]:
    """Fine-tune every network of every group toward every variant: one row per run.

    ``groups``: {name: [networks]} (e.g. evolved: [net], sgd: three seeds, random: three
    seeds), all of one architecture. Rows: group, member, variant, variant_distance,
    start_mse, steps (None if not reached), seconds, final_mse.
    """
    nets = {g: [as_network(n) for n in members] for g, members in groups.items()}
    check_same_arch([n for ms in nets.values() for n in ms])
    jobs = [(g, i, n, v) for g, ms in nets.items() for i, n in enumerate(ms) for v in variants]
    rows = []
    for g, i, n, v in _progress(jobs, "learning probe", progress):
        r = finetune(n, v.image, recipe, target_mse)
        rows.append({"group": g, "member": i, "network": str(n.meta.get("name", g)),
                     "variant": v.name, "kind": v.kind, "variant_distance": v.distance,
                     "start_mse": r.start_mse, "steps": r.steps_to_target,
                     "seconds": r.seconds_to_target, "final_mse": r.final_mse,
                     "curve": r.curve.tolist()})
    return rows


def summarise(rows: list[dict], budget: int) -> list[dict]:
    """Per (group, variant): mean ± std over members of steps (unreached runs count as the
    budget, and how many were reached is given), seconds and final MSE."""
    out, keys = [], []
    for r in rows:
        k = (r["group"], r["variant"])
        if k not in keys:
            keys.append(k)
    for g, v in keys:
        rs = [r for r in rows if r["group"] == g and r["variant"] == v]
        steps = np.array([budget if r["steps"] is None else r["steps"] for r in rs], np.float64)
        secs = np.array([r["seconds"] for r in rs if r["seconds"] is not None], np.float64)
        fin = np.array([r["final_mse"] for r in rs], np.float64)
        out.append({"group": g, "variant": v, "n": len(rs),
                    "reached": sum(r["steps"] is not None for r in rs),
                    "steps_mean": float(steps.mean()), "steps_std": float(steps.std()),
                    "seconds_mean": float(secs.mean()) if len(secs) else float("nan"),
                    "final_mse_mean": float(fin.mean()), "final_mse_std": float(fin.std()),
                    "distance": rs[0]["variant_distance"]})
    return out


def _progress(items, desc, enabled):
    import sys

    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="run", file=sys.stderr, disable=not enabled, dynamic_ncols=True)
