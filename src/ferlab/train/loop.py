"""The training loop: jitted multi-step chunks (lax.scan), evaluation, checkpoints, resume.

Every step's minibatch is a pure function of (seed, step) and every chunk boundary is a
function of the absolute step, so a run resumed from a checkpoint replays exactly the same
computation as an uninterrupted one.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, fields
from functools import partial

import numpy as np

from ferlab.canvas import Canvas
from ferlab.colour import to_bytes
from ferlab.dense import Arch, DenseCPPN, forward, rgb_from_outputs
from ferlab.train.checkpoint import TrainState, check_resumable, load_checkpoint, save_checkpoint
from ferlab.train.health import RESTARTABLE, diagnose
from ferlab.train.recipes import Recipe, get_recipe
from ferlab.train.targets import check_init_from_target, load_target, resolve_arch

#: Steps the paper shows in its training strip (those past the end are dropped; the last
#: step is always added).
SNAPSHOT_STEPS = (0, 100, 200, 400, 10_000)
#: A replica is 'converged' when its full-image MSE is at most this (the issue's bar: the
#: skull's paper replica ends at 4e-4; 1e-3 is a picture one cannot tell apart by eye).
DEFAULT_TARGET_MSE = 1e-3
#: Seeds tried before a dead / colourless / diverged run is reported as such.
DEFAULT_MAX_ATTEMPTS = 3


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
    status: str = "converged"  # one of health.STATUSES: how the last attempt ended
    attempts: list = field(default_factory=list)  # per seed tried: seed, status, reason, ...
    target_mse: float = DEFAULT_TARGET_MSE

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
            "status": self.status,
            "target_mse": self.target_mse,
            "attempts": self.attempts,
            "evals": [{"step": int(s), "mse": float(m), "wall_seconds": round(float(w), 3)}
                      for s, m, w in self.evals],
            "recipe_config": self.recipe.to_dict(),
        }


# -- pieces ------------------------------------------------------------------------------
def mse_loss(arch: Arch, kernels, x, y, leak: float = 0.0):
    """The paper's loss: mean squared error on RGB in [0, 1] after HSV -> RGB (jax.numpy).

    ``leak`` > 0 changes only the gradient (see :func:`leaky_rgb`), never the value.
    """
    import jax.numpy as jnp

    out, _ = forward(arch, kernels, x, jnp)
    rgb = leaky_rgb(out, leak) if leak else rgb_from_outputs(out, jnp)
    return jnp.mean((rgb - y) ** 2)


def leaky_clip(x, leak: float):
    """clip(x, 0, 1) in value; slope ``leak`` (not 0) outside [0, 1] in the backward pass."""
    import jax
    import jax.numpy as jnp

    return jnp.clip(x, 0.0, 1.0) + leak * (x - jax.lax.stop_gradient(x))


def leaky_rgb(out, leak: float):
    """rgb_from_outputs with a gradient through the saturation and value clips.

    When every pixel's saturation or value is clipped the exact MSE gradient is zero and
    training can never leave that picture (flat white, flat red, or shape without colour).
    The leak points clipped outputs back into range whenever that lowers the error.
    """
    import jax.numpy as jnp

    from ferlab.colour import hsv_to_rgb

    h, s, v = out[:, 0], out[:, 1], out[:, 2]
    hue = (h + 1.0) - jnp.floor(h + 1.0)  # (h + 1) mod 1 exactly as colour.to_rgb computes it
    return hsv_to_rgb(hue, leaky_clip(s, leak), leaky_clip(jnp.abs(v), leak), jnp)


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


def make_chunk_fn(arch: Arch, opt, max_steps: int, leak: float = 0.0):
    """Jitted ``(params, opt_state, key, lr_scale, step0, n, x, y, batch) -> (params,
    opt_state, losses)``.

    Step ``s``'s minibatch is drawn with ``fold_in(key, s)``; every update is multiplied by
    ``lr_scale`` (the same as scaling the learning rate, with no recompile).

    ``n`` (≤ max_steps) is a traced loop bound, so chunks of any length share one compiled
    program per data shape: no recompiles at snapshot or checkpoint boundaries, and a resumed
    run executes the very same code. ``losses`` has max_steps entries; the first n are real.
    """
    import jax
    import jax.numpy as jnp
    import optax

    loss_grad = jax.value_and_grad(lambda p, xb, yb: mse_loss(arch, p, xb, yb, leak))

    @partial(jax.jit, static_argnames=("batch",))
    def chunk(params, opt_state, batch_key, lr_scale, step0, n, x, y, batch):
        def body(i, carry):
            params, opt_state, losses = carry
            if batch is None:
                xb, yb = x, y
            else:
                idx = jax.random.randint(jax.random.fold_in(batch_key, step0 + i), (batch,), 0, x.shape[0])
                xb, yb = x[idx], y[idx]
            loss, g = loss_grad(params, xb, yb)
            updates, opt_state = opt.update(g, opt_state, params)
            updates = jax.tree.map(lambda u: u * lr_scale, updates)
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
          seed: int = 0, arch=None, activation=None, init="lecun_normal",
          checkpoint=None, checkpoint_every: int | None = None, resume: bool = False,
          stop_mse: float | None = None, target_mse: float = DEFAULT_TARGET_MSE,
          max_attempts: int = DEFAULT_MAX_ATTEMPTS, snapshot_steps=SNAPSHOT_STEPS,
          progress: bool = True, callback=None) -> TrainResult:
    """Train a dense CPPN by SGD to draw ``target``; returns a :class:`TrainResult`.

    ``target``: Genome, DenseCPPN, path (genome, .npz, PNG/JPEG) or (H, W, 3) array in [0, 1].
    ``recipe``: 'fast' (default), 'paper' or a Recipe; ``steps``/``res``/``lr``/``batch``
    override it. ``arch``: architecture string (default: the target's layerized shape);
    ``activation``: one activation for every neuron (e.g. 'relu', the paper's control).
    ``init``: 'lecun_normal' (the paper), 'target' (start from the target's own weights) or a
    function ``(arch, seed) -> kernels``.
    ``checkpoint``: path of a checkpoint file, written every ``checkpoint_every`` steps, at
    the start of every attempt, at the end and on Ctrl-C; ``resume=True`` continues from it.
    ``stop_mse``: stop as soon as the full-image MSE (checked every recipe.eval_every
    steps) is at most this. ``callback(step, losses)`` runs after every chunk.

    The result's ``status`` is 'converged' when the final full-image MSE is at most
    ``target_mse``. A run that goes dead, loses a colour channel (see
    :func:`ferlab.train.health.diagnose`, checked at every evaluation) or diverges is
    abandoned and retried with the next seed, up to ``max_attempts`` seeds in all;
    ``attempts`` records each one.
    """
    import jax
    import jax.numpy as jnp

    t_start = time.perf_counter()
    tgt = load_target(target)
    rec = get_recipe(recipe).with_overrides(steps=steps, res=res, lr=lr, batch=batch)
    a = resolve_arch(tgt, arch, activation)
    if not (init in ("lecun_normal", "target") or callable(init)):
        raise ValueError(f"init must be 'lecun_normal', 'target' or a function, got {init!r}")
    start_net = check_init_from_target(tgt, a) if init == "target" else None
    if checkpoint_every is not None and int(checkpoint_every) < 1:
        raise ValueError(f"checkpoint_every must be positive, got {checkpoint_every}")
    if stop_mse is not None and not stop_mse > 0:
        raise ValueError(f"stop_mse must be positive, got {stop_mse}")
    if not (isinstance(target_mse, (int, float)) and target_mse > 0):
        raise ValueError(f"target MSE must be a positive number, got {target_mse!r}")
    if not (isinstance(max_attempts, int) and max_attempts >= 1):
        raise ValueError(f"max_attempts must be a positive integer, got {max_attempts!r}")
    if resume and checkpoint is None:
        raise ValueError("resume needs a checkpoint path")
    seed = int(seed)
    init_name = init if isinstance(init, str) else getattr(init, "__name__", "custom")
    settings = {"recipe": rec.to_dict(), "seed": seed, "arch": str(a), "init": init_name,
                "target": tgt.fingerprint(rec.res)}

    opt = make_optimizer(rec)
    chunk_fn = make_chunk_fn(a, opt, rec.chunk, rec.leak)
    eval_fn = make_eval_fn(a)

    def fresh_params(s: int) -> tuple:
        if start_net is not None:
            return tuple(jnp.asarray(k, jnp.float32) for k in start_net.kernels)
        if callable(init):
            return tuple(jnp.asarray(k, jnp.float32) for k in init(a, s))
        return tuple(init_kernels(a, s))

    treedef = jax.tree_util.tree_structure(opt.init(fresh_params(seed)))
    total = rec.steps
    snap_at = snapshot_schedule(total, snapshot_steps)
    bounds = rec.stage_bounds()
    ck_every = int(checkpoint_every) if checkpoint_every else None
    x_full = jnp.asarray(grid_inputs(rec.res))
    y_full_np = tgt.image_at(rec.res).reshape(-1, 3).astype(np.float32)
    y_full = jnp.asarray(y_full_np)
    data: dict[int, tuple] = {}

    # The run's whole state: a checkpoint holds exactly this, so a resumed run replays the
    # same attempts, restarts included.
    run = {"attempt": 0, "attempts": [], "strikes": 0, "step": 0, "losses": [], "evals": [],
           "snaps": {}, "wall_before": 0.0}
    if resume:
        st = load_checkpoint(checkpoint)
        _check_same_settings(st.meta.get("settings", {}), settings, checkpoint)
        want = fresh_params(seed)
        check_resumable(st, want, jax.tree_util.tree_leaves(opt.init(want)), checkpoint)
        params = tuple(jnp.asarray(k, jnp.float32) for k in st.kernels)
        opt_state = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(l) for l in st.opt_leaves])
        try:
            run.update(attempt=int(st.meta.get("attempt", 0)), attempts=list(st.meta.get("attempts", [])),
                       strikes=int(st.meta.get("strikes", 0)), step=st.step,
                       losses=[np.asarray(st.losses, np.float32)], evals=[tuple(e) for e in st.evals],
                       snaps=dict(st.snapshots), wall_before=st.wall_seconds)
        except (TypeError, ValueError) as e:
            raise ValueError(f"corrupt checkpoint {checkpoint}: bad run state ({e})") from None
        if run["step"] > total:
            raise ValueError(f"checkpoint is at step {run['step']}, past the run's {total} steps")
    else:
        params = fresh_params(seed)
        opt_state = opt.init(params)

    def wall():
        return run["wall_before"] + time.perf_counter() - t_start

    def state_now() -> TrainState:
        return TrainState(run["step"], [np.asarray(k) for k in params],
                          [np.asarray(l) for l in jax.tree_util.tree_leaves(opt_state)],
                          np.concatenate(run["losses"]) if run["losses"] else np.zeros(0, np.float32),
                          np.array(run["evals"], np.float64).reshape(-1, 3), dict(run["snaps"]),
                          wall(), {"settings": settings, "attempt": run["attempt"],
                                   "attempts": run["attempts"], "strikes": run["strikes"]})

    def observe():
        """Full-image MSE and RGB (and a snapshot when due) of the current weights."""
        mse, rgb = eval_fn(params, x_full, y_full)
        rgb = np.asarray(rgb)
        step, evals = run["step"], run["evals"]
        if not evals or evals[-1][0] != step:
            evals.append((step, float(mse), wall()))
        if step in snap_at:
            run["snaps"][step] = to_bytes(rgb.reshape(rec.res, rec.res, 3))
        return float(mse), rgb

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

    def end_attempt(status: str, reason: str, mse: float) -> None:
        lr_peak = rec.lr * rec.retry_lr ** run["attempt"]
        run["attempts"].append({"seed": seed + run["attempt"], "lr": lr_peak, "status": status,
                                "reason": reason, "steps": run["step"], "mse": mse,
                                "wall_seconds": round(wall(), 3)})

    bar = _progress(total, run["step"], tgt.name, rec.name, progress)
    try:
        while len(run["attempts"]) <= run["attempt"]:  # one pass per attempt (seed)
            seed_now = seed + run["attempt"]
            batch_key = jax.random.fold_in(jax.random.PRNGKey(seed_now), 1)
            lr_scale = jnp.float32(rec.retry_lr ** run["attempt"])
            status = None
            if run["step"] == 0 and not run["evals"]:
                observe()
                if checkpoint is not None:
                    save_checkpoint(state_now(), checkpoint)
            mse = run["evals"][-1][1]
            while run["step"] < total:
                step = run["step"]
                end = next_boundary(step)
                (x, y), b = stage_data(step)
                new_params, new_opt, chunk_losses = chunk_fn(params, opt_state, batch_key, lr_scale,
                                                             jnp.int32(step), jnp.int32(end - step),
                                                             x, y, batch=b)
                chunk_losses = np.asarray(chunk_losses)[: end - step]
                bad = ~np.isfinite(chunk_losses)
                if bad.any():
                    at = step + int(np.argmax(bad))
                    status, reason = "diverged", (f"the loss or the weights became NaN/inf at "
                                                  f"step {at} (lr {rec.lr * float(lr_scale):g})")
                    mse, _ = observe()  # of the last good weights, which the run keeps
                    break
                params, opt_state, run["step"] = new_params, new_opt, end
                run["losses"].append(chunk_losses)
                bar.update(len(chunk_losses))
                if end % rec.eval_every == 0 or end in snap_at or end == total:
                    best = min((m for _, m, _ in run["evals"]), default=None)
                    mse, rgb = observe()
                    sick = diagnose(rgb, y_full_np, best)
                    run["strikes"] = run["strikes"] + 1 if sick else 0
                    if sick and (run["strikes"] >= rec.patience or end == total):
                        status, reason = sick
                        break
                bar.set_postfix(loss=f"{chunk_losses[-1]:.3g}", mse=f"{mse:.3g}", refresh=False)
                if checkpoint is not None and ck_every and end % ck_every == 0 and end < total:
                    save_checkpoint(state_now(), checkpoint)
                if callback is not None:
                    callback(end, chunk_losses)
                if stop_mse is not None and run["evals"][-1][0] == end and mse <= stop_mse:
                    break
            if status is None:
                if not run["evals"] or run["evals"][-1][0] != run["step"]:
                    mse, _ = observe()
                status = "converged" if mse <= target_mse else "below-target"
                reason = (f"full-image MSE {mse:.3g} {'<=' if status == 'converged' else '>'} "
                          f"target {target_mse:g}")
            end_attempt(status, reason, mse)
            if status not in RESTARTABLE or run["attempt"] + 1 >= max_attempts:
                break
            # Abandon this seed: the next attempt starts from scratch with the next one.
            run.update(attempt=run["attempt"] + 1, strikes=0, step=0, losses=[], evals=[], snaps={})
            params = fresh_params(seed + run["attempt"])
            opt_state = opt.init(params)
            bar.reset(total)
            bar.set_description(f"train {tgt.name} ({rec.name}, seed {seed + run['attempt']})")
    except KeyboardInterrupt:
        bar.close()
        if checkpoint is not None:
            save_checkpoint(state_now(), checkpoint)
            msg = f"interrupted at step {run['step']}; checkpoint saved to {checkpoint}"
        else:
            msg = f"interrupted at step {run['step']} (no checkpoint path: progress lost)"
        raise TrainingInterrupted(msg, run["step"], checkpoint) from None
    bar.close()

    _, rgb = eval_fn(params, x_full, y_full)
    image = np.asarray(rgb, np.float32).reshape(rec.res, rec.res, 3)
    run["snaps"][run["step"]] = to_bytes(image)
    if checkpoint is not None:
        save_checkpoint(state_now(), checkpoint)
    kernels = tuple(np.asarray(k, np.float32) for k in params)
    seed_now = seed + run["attempt"]
    net = DenseCPPN(a, kernels, meta={"name": f"{tgt.name}-sgd-{rec.name}", "recipe": rec.name,
                                      "seed": str(seed_now)})
    last = run["attempts"][-1]
    final_mse = run["evals"][-1][1]
    losses = np.concatenate(run["losses"]) if run["losses"] else np.zeros(0, np.float32)
    early = run["step"] < total and last["status"] in ("converged", "below-target")
    stopped = "stop_mse" if early else "done"
    return TrainResult(net=net, losses=losses,
                       evals=np.array(run["evals"], np.float64).reshape(-1, 3),
                       final_mse=float(final_mse), wall_seconds=wall(),
                       snapshots={k: v for k, v in sorted(run["snaps"].items())},
                       steps=run["step"], recipe=rec, seed=seed_now, arch=a,
                       target=y_full_np.reshape(rec.res, rec.res, 3), image=image,
                       stopped=stopped,
                       target_name=tgt.name, status=last["status"], attempts=list(run["attempts"]),
                       target_mse=float(target_mse))


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
    defaults = {f.name: f.default for f in fields(Recipe)}  # keys older checkpoints lack
    for k in new:
        if old.get(k, defaults.get(k)) != new[k]:
            raise ValueError(f"checkpoint {path} was made with recipe {k}={old.get(k)!r}, not "
                             f"{new[k]!r}: resume with the same settings")


def _progress(total, initial, name, recipe, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=f"train {name} ({recipe})", unit="step",
                file=sys.stderr, disable=not enabled, dynamic_ncols=True, mininterval=0.5)

