"""The training loop: jitted multi-step chunks (lax.scan), evaluation, checkpoints, resume.

Every step's minibatch is a pure function of (seed, step) and every chunk boundary is a
function of the absolute step, so a run resumed from a checkpoint replays exactly the same
computation as an uninterrupted one.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from ferlab.canvas import Canvas
from ferlab.colour import to_bytes
from ferlab.dense import Arch, DenseCPPN, forward, rgb_from_outputs
from ferlab.train.checkpoint import TrainState, check_resumable, load_checkpoint, save_checkpoint
from ferlab.train.recipes import Recipe, get_recipe
from ferlab.train.targets import check_init_from_target, load_target, resolve_arch

#: Steps the paper shows in its training strip (those past the end are dropped; the last
#: step is always added).
SNAPSHOT_STEPS = (0, 100, 200, 400, 10_000)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the checkpoint on disk (if any) is the last good one."""

    def __init__(self, msg, step=None, checkpoint=None):
        super().__init__(msg)
        self.step, self.checkpoint = step, checkpoint


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; the state reached has been checkpointed (if a path was given)."""

    def __init__(self, msg, step=None, checkpoint=None):
        super().__init__(msg)
        self.step, self.checkpoint = step, checkpoint


@dataclass
class TrainResult:
    net: DenseCPPN
    losses: np.ndarray  # training loss at every step (minibatch loss for minibatch stages)
    evals: np.ndarray  # (k, 3): step, full-image MSE at recipe.res, wall seconds
    final_mse: float  # MSE on RGB of the full res² image, the paper's loss
    wall_seconds: float  # total training time (summed over resumed sessions)
    snapshots: dict[int, np.ndarray]  # step -> uint8 (res, res, 3) image
    steps: int  # steps done (fewer than recipe.steps when stop_mse was reached)
    recipe: Recipe
    seed: int
    arch: Arch
    target: np.ndarray = field(repr=False)  # (res, res, 3) float32
    image: np.ndarray = field(repr=False)  # the final (res, res, 3) render
    stopped: str = "done"  # 'done' or 'stop_mse'
    target_name: str = ""

    def summary(self) -> dict:
        """What summary.json holds."""
        return {
            "recipe": self.recipe.name,
            "seed": self.seed,
            "steps": self.steps,
            "wall_seconds": round(self.wall_seconds, 3),
            "final_mse": self.final_mse,
            "res": self.recipe.res,
            "arch": str(self.arch),
            "n_params": self.arch.n_params,
            "target": self.target_name,
            "stopped": self.stopped,
            "evals": [{"step": int(s), "mse": float(m), "wall_seconds": round(float(w), 3)}
                      for s, m, w in self.evals],
            "recipe_config": self.recipe.to_dict(),
        }


# -- pieces ------------------------------------------------------------------------------
def mse_loss(arch: Arch, kernels, x, y):
    """The paper's loss: mean squared error on RGB in [0, 1] after HSV -> RGB (jax.numpy)."""
    import jax.numpy as jnp

    out, _ = forward(arch, kernels, x, jnp)
    return jnp.mean((rgb_from_outputs(out, jnp) - y) ** 2)


def grid_inputs(res: int) -> np.ndarray:
    """(res², 4) float32 network inputs x, y, d, bias of the res×res grid, row-major."""
    return Canvas.square(res).planes(np.float32).reshape(4, -1).T.copy()


def init_kernels(arch: Arch, seed: int) -> list:
    """LeCun normal (truncated normal, variance 1/fan_in), as flax's Dense default."""
    import jax
    import jax.numpy as jnp

    init = jax.nn.initializers.lecun_normal()
    keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), 0), arch.depth + 1)
    return [init(k, s, jnp.float32) for k, s in zip(keys, arch.kernel_shapes())]


def _global_norm(tree):
    import optax

    tree_api = getattr(optax, "tree", None)
    return tree_api.norm(tree) if hasattr(tree_api, "norm") else optax.global_norm(tree)


def make_optimizer(recipe: Recipe):
    """optax transform: [unit-norm | clipped | raw gradient] -> Adam -> recipe's schedule."""
    import jax
    import jax.numpy as jnp
    import optax

    parts = []
    if recipe.grad_norm == "unit":
        def unit_norm(updates, state, params=None):
            n = _global_norm(updates)
            s = jnp.where(n > 0, 1.0 / n, 0.0)
            return jax.tree.map(lambda g: g * s, updates), state

        parts.append(optax.GradientTransformation(lambda p: optax.EmptyState(), unit_norm))
    elif recipe.grad_norm == "clip":
        parts.append(optax.clip_by_global_norm(recipe.clip))
    parts.append(optax.scale_by_adam(b1=recipe.b1, b2=recipe.b2, eps=recipe.eps))
    parts.append(optax.scale_by_learning_rate(recipe.lr_at))
    return optax.chain(*parts)


def make_chunk_fn(arch: Arch, opt, batch_key, max_steps: int):
    """Jitted ``(params, opt_state, step0, n, x, y, batch) -> (params, opt_state, losses)``.

    ``n`` (≤ max_steps) is a traced loop bound, so chunks of any length share one compiled
    program per data shape: no recompiles at snapshot or checkpoint boundaries, and a resumed
    run executes the very same code. ``losses`` has max_steps entries; the first n are real.
    """
    import jax
    import jax.numpy as jnp
    import optax

    loss_grad = jax.value_and_grad(lambda p, xb, yb: mse_loss(arch, p, xb, yb))

    @partial(jax.jit, static_argnames=("batch",))
    def chunk(params, opt_state, step0, n, x, y, batch):
        def body(i, carry):
            params, opt_state, losses = carry
            if batch is None:
                xb, yb = x, y
            else:
                idx = jax.random.randint(jax.random.fold_in(batch_key, step0 + i), (batch,), 0, x.shape[0])
                xb, yb = x[idx], y[idx]
            loss, g = loss_grad(params, xb, yb)
            updates, opt_state = opt.update(g, opt_state, params)
            params = optax.apply_updates(params, updates)
            # Weights can overflow while the (clipped) colours keep the loss finite: flag it.
            finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(k)) for k in params]))
            return params, opt_state, losses.at[i].set(jnp.where(finite, loss, jnp.nan))

        losses = jnp.zeros(max_steps, jnp.float32)
        return jax.lax.fori_loop(0, n, body, (params, opt_state, losses))

    return chunk


def make_eval_fn(arch: Arch):
    import jax
    import jax.numpy as jnp

    @jax.jit
    def evaluate(params, x, y):
        out, _ = forward(arch, params, x, jnp)
        rgb = rgb_from_outputs(out, jnp)
        return jnp.mean((rgb - y) ** 2), rgb

    return evaluate


def snapshot_schedule(steps: int, wanted=SNAPSHOT_STEPS) -> tuple[int, ...]:
    return tuple(sorted({s for s in wanted if 0 <= s <= steps} | {steps}))


# -- the loop ----------------------------------------------------------------------------
def train(target, recipe: str | Recipe = "fast", *, steps=None, res=None, lr=None, batch=None,
          seed: int = 0, arch=None, activation=None, init: str = "lecun_normal",
          checkpoint=None, checkpoint_every: int | None = None, resume: bool = False,
          stop_mse: float | None = None, snapshot_steps=SNAPSHOT_STEPS, progress: bool = True,
          callback=None) -> TrainResult:
    """Train a dense CPPN by SGD to draw ``target``; returns a :class:`TrainResult`.

    ``target``: Genome, DenseCPPN, path (genome, .npz, PNG/JPEG) or (H, W, 3) array in [0, 1].
    ``recipe``: 'fast' (default), 'paper' or a Recipe; ``steps``/``res``/``lr``/``batch``
    override it. ``arch``: architecture string (default: the target's layerized shape);
    ``activation``: one activation for every neuron (e.g. 'relu', the paper's control).
    ``init``: 'lecun_normal' (the paper) or 'target' (start from the target's own weights).
    ``checkpoint``: path of a checkpoint file, written every ``checkpoint_every`` steps, at
    the start, at the end and on Ctrl-C; ``resume=True`` continues from it.
    ``stop_mse``: stop as soon as the full-image MSE (checked every recipe.eval_every
    steps) is at most this. ``callback(step, losses)`` runs after every chunk.
    """
    import jax
    import jax.numpy as jnp

    t_start = time.perf_counter()
    tgt = load_target(target)
    rec = get_recipe(recipe).with_overrides(steps=steps, res=res, lr=lr, batch=batch)
    a = resolve_arch(tgt, arch, activation)
    if init not in ("lecun_normal", "target"):
        raise ValueError(f"init must be 'lecun_normal' or 'target', got {init!r}")
    start_net = check_init_from_target(tgt, a) if init == "target" else None
    if checkpoint_every is not None and int(checkpoint_every) < 1:
        raise ValueError(f"checkpoint_every must be positive, got {checkpoint_every}")
    if stop_mse is not None and not stop_mse > 0:
        raise ValueError(f"stop_mse must be positive, got {stop_mse}")
    if resume and checkpoint is None:
        raise ValueError("resume needs a checkpoint path")
    seed = int(seed)
    settings = {"recipe": rec.to_dict(), "seed": seed, "arch": str(a), "init": init,
                "target": tgt.fingerprint(rec.res)}

    opt = make_optimizer(rec)
    root = jax.random.PRNGKey(seed)
    chunk_fn = make_chunk_fn(a, opt, jax.random.fold_in(root, 1), rec.chunk)
    eval_fn = make_eval_fn(a)
    if start_net is not None:
        params0 = [jnp.asarray(k, jnp.float32) for k in start_net.kernels]
    else:
        params0 = init_kernels(a, seed)
    params = tuple(params0)
    opt_state = opt.init(params)
    treedef = jax.tree_util.tree_structure(opt_state)

    if resume:
        st = load_checkpoint(checkpoint)
        _check_same_settings(st.meta.get("settings", {}), settings, checkpoint)
        check_resumable(st, params, jax.tree_util.tree_leaves(opt_state), checkpoint)
        params = tuple(jnp.asarray(k, jnp.float32) for k in st.kernels)
        opt_state = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(l) for l in st.opt_leaves])
        step, losses = st.step, [np.asarray(st.losses, np.float32)]
        evals, snaps, wall_before = [tuple(e) for e in st.evals], dict(st.snapshots), st.wall_seconds
    else:
        step, losses, evals, snaps, wall_before = 0, [], [], {}, 0.0

    total = rec.steps
    if step > total:
        raise ValueError(f"checkpoint is at step {step}, past the run's {total} steps")
    snap_at = snapshot_schedule(total, snapshot_steps)
    bounds = rec.stage_bounds()
    ck_every = int(checkpoint_every) if checkpoint_every else None
    x_full = jnp.asarray(grid_inputs(rec.res))
    y_full_np = tgt.image_at(rec.res).reshape(-1, 3).astype(np.float32)
    y_full = jnp.asarray(y_full_np)
    data: dict[int, tuple] = {}
    stopped = "done"
    last_mse = evals[-1][1] if evals else float("nan")

    def wall():
        return wall_before + time.perf_counter() - t_start

    def state_now() -> TrainState:
        return TrainState(step, [np.asarray(k) for k in params],
                          [np.asarray(l) for l in jax.tree_util.tree_leaves(opt_state)],
                          np.concatenate(losses) if losses else np.zeros(0, np.float32),
                          np.array(evals, np.float64).reshape(-1, 3), dict(snaps), wall(),
                          {"settings": settings})

    def observe():
        """Full-image MSE (and a snapshot when due) of the current weights."""
        nonlocal last_mse
        mse, rgb = eval_fn(params, x_full, y_full)
        last_mse = float(mse)
        if not evals or evals[-1][0] != step:
            evals.append((step, last_mse, wall()))
        if step in snap_at:
            snaps[step] = to_bytes(np.asarray(rgb).reshape(rec.res, rec.res, 3))
        return last_mse

    def next_boundary(s):
        cands = [total, (s // rec.chunk + 1) * rec.chunk, (s // rec.eval_every + 1) * rec.eval_every]
        cands += [b for b in snap_at if b > s] + [end for _, end, _ in bounds if end > s]
        if ck_every:
            cands.append((s // ck_every + 1) * ck_every)
        return min(c for c in cands if c > s)

    def stage_data(s):
        i = next(i for i, (b0, b1, _) in enumerate(bounds) if b0 <= s < b1)
        st = bounds[i][2]
        if i not in data:
            r = rec.stage_res(st)
            if r == rec.res:
                data[i] = (x_full, y_full)
            else:
                data[i] = (jnp.asarray(grid_inputs(r)),
                           jnp.asarray(tgt.image_at(r).reshape(-1, 3).astype(np.float32)))
        return data[i], rec.stage_batch(st)

    bar = _progress(total, step, tgt.name, rec.name, progress)
    try:
        if step == 0 and not resume:
            observe()
            if checkpoint is not None:
                save_checkpoint(state_now(), checkpoint)
        while step < total:
            end = next_boundary(step)
            (x, y), b = stage_data(step)
            new_params, new_opt, chunk_losses = chunk_fn(params, opt_state, jnp.int32(step),
                                                         jnp.int32(end - step), x, y, batch=b)
            chunk_losses = np.asarray(chunk_losses)[: end - step]
            bad = ~np.isfinite(chunk_losses)
            if bad.any():
                at = step + int(np.argmax(bad))
                where = (f"the last good checkpoint (step {_ckpt_step(checkpoint)}) is kept at "
                         f"{checkpoint}" if checkpoint is not None and Path(checkpoint).exists()
                         else "no checkpoint was written")
                raise TrainingDiverged(
                    f"training diverged at step {at}: the loss or the weights became NaN/inf "
                    f"(lr {rec.lr:g}); {where}; try a smaller --lr", at, checkpoint)
            params, opt_state, step = new_params, new_opt, end
            losses.append(chunk_losses)
            bar.update(len(chunk_losses))
            if step % rec.eval_every == 0 or step in snap_at or step == total:
                observe()
            bar.set_postfix(loss=f"{chunk_losses[-1]:.3g}", mse=f"{last_mse:.3g}", refresh=False)
            if checkpoint is not None and ck_every and step % ck_every == 0 and step < total:
                save_checkpoint(state_now(), checkpoint)
            if callback is not None:
                callback(step, chunk_losses)
            if stop_mse is not None and evals and evals[-1][0] == step and last_mse <= stop_mse:
                stopped = "stop_mse"
                break
    except KeyboardInterrupt:
        bar.close()
        if checkpoint is not None:
            save_checkpoint(state_now(), checkpoint)
            msg = f"interrupted at step {step}; checkpoint saved to {checkpoint}"
        else:
            msg = f"interrupted at step {step} (no checkpoint path: progress lost)"
        raise TrainingInterrupted(msg, step, checkpoint) from None
    bar.close()

    final_mse = observe() if not evals or evals[-1][0] != step else evals[-1][1]
    _, rgb = eval_fn(params, x_full, y_full)
    image = np.asarray(rgb, np.float32).reshape(rec.res, rec.res, 3)
    snaps[step] = to_bytes(image)
    if checkpoint is not None:
        save_checkpoint(state_now(), checkpoint)
    kernels = tuple(np.asarray(k, np.float32) for k in params)
    net = DenseCPPN(a, kernels, meta={"name": f"{tgt.name}-sgd-{rec.name}", "recipe": rec.name,
                                      "seed": str(seed)})
    return TrainResult(net=net, losses=np.concatenate(losses) if losses else np.zeros(0, np.float32),
                       evals=np.array(evals, np.float64).reshape(-1, 3), final_mse=float(final_mse),
                       wall_seconds=wall(), snapshots={k: v for k, v in sorted(snaps.items())},
                       steps=step, recipe=rec, seed=seed, arch=a,
                       target=y_full_np.reshape(rec.res, rec.res, 3), image=image,
                       stopped=stopped, target_name=tgt.name)


def _ckpt_step(path) -> int | str:
    try:
        return load_checkpoint(path).step
    except (OSError, ValueError):
        return "?"


def _check_same_settings(saved: dict, now: dict, path) -> None:
    """A resumed run must be the same run: same recipe, seed, arch and target."""
    if not saved:
        raise ValueError(f"checkpoint {path} has no run settings")
    for key in ("seed", "arch", "init", "target"):
        if saved.get(key) != now[key]:
            what = "target image" if key == "target" else key
            raise ValueError(f"checkpoint {path} was made with another {what} "
                             f"({saved.get(key)!r}, not {now[key]!r}): cannot resume")
    old, new = saved.get("recipe", {}), now["recipe"]
    for k in new:
        if old.get(k) != new[k]:
            raise ValueError(f"checkpoint {path} was made with recipe {k}={old.get(k)!r}, not "
                             f"{new[k]!r}: resume with the same settings")


def _progress(total, initial, name, recipe, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=f"train {name} ({recipe})", unit="step",
                file=sys.stderr, disable=not enabled, dynamic_ncols=True, mininterval=0.5)

