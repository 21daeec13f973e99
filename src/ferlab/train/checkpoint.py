"""Checkpoints: everything a run needs to continue exactly where it stopped.

Weights, the optimizer state (as its flattened leaves), the step, the loss history, the
snapshots taken so far and the run's settings. Minibatches are a pure function of
(seed, step), so nothing else is needed for a resumed run to end with the same weights.
Files are written to a temporary name and moved into place, so a crash never leaves half
a checkpoint.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class TrainState:
    step: int
    kernels: list[np.ndarray]
    opt_leaves: list[np.ndarray]
    losses: np.ndarray  # (step,) training loss of each step so far
    evals: np.ndarray  # (k, 3): step, full-image MSE, wall seconds since the run started
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)  # step -> uint8 image
    wall_seconds: float = 0.0
    meta: dict = field(default_factory=dict)  # settings: recipe, seed, arch, target hash


def save_checkpoint(state: TrainState, path) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "step": np.array(state.step, np.int64),
        "losses": np.asarray(state.losses, np.float32),
        "evals": np.asarray(state.evals, np.float64).reshape(-1, 3),
        "wall_seconds": np.array(state.wall_seconds, np.float64),
        "meta": np.array(json.dumps(state.meta)),
        "snapshot_steps": np.array(sorted(state.snapshots), np.int64),
    }
    for k, kern in enumerate(state.kernels):
        arrays[f"kernel_{k}"] = np.asarray(kern)
    for i, leaf in enumerate(state.opt_leaves):
        arrays[f"opt_{i}"] = np.asarray(leaf)
    for s, img in state.snapshots.items():
        arrays[f"snapshot_{s}"] = np.asarray(img, np.uint8)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_checkpoint(path) -> TrainState:
    """Read a checkpoint written by :func:`save_checkpoint` (ValueError if it is not one:
    truncated, forged, or holding arrays of the wrong kind)."""
    from ferlab.npzfile import NpzError, load_npz

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: nothing to resume")
    try:
        z = load_npz(path)
    except NpzError as e:
        raise ValueError(f"cannot read checkpoint {path}: {e}") from None
    if "meta" not in z or "step" not in z:
        raise ValueError(f"{path} is not a ferlab training checkpoint")
    try:
        meta = json.loads(str(z["meta"]))
        if not isinstance(meta, dict) or not isinstance(meta.get("settings", {}), dict):
            raise ValueError("meta is not a JSON object")
        step = int(z["step"])
        n_k = sum(1 for f in z if f.startswith("kernel_"))
        n_o = sum(1 for f in z if f.startswith("opt_"))
        kernels = [_numeric(z[f"kernel_{k}"], 2, f"kernel_{k}") for k in range(n_k)]
        opt_leaves = [_numeric(z[f"opt_{i}"], None, f"opt_{i}") for i in range(n_o)]
        losses = _numeric(z["losses"], 1, "losses")
        evals = _numeric(z["evals"], None, "evals").reshape(-1, 3)
        snaps = {}
        for s in _numeric(z["snapshot_steps"], 1, "snapshot_steps"):
            img = z[f"snapshot_{int(s)}"]
            if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                raise ValueError(f"snapshot_{int(s)} is not an RGB image")
            snaps[int(s)] = img
        wall = float(z["wall_seconds"])
    except (KeyError, TypeError, ValueError, IndexError, OverflowError, AttributeError) as e:
        raise ValueError(f"corrupt checkpoint {path}: {str(e)[:120] or type(e).__name__}") from None
    if step < 0 or len(losses) != step or not kernels:
        raise ValueError(f"corrupt checkpoint {path}: step {step}, {len(losses)} losses, "
                         f"{len(kernels)} kernels")
    return TrainState(step=step, kernels=kernels, opt_leaves=opt_leaves, losses=losses,
                      evals=evals, snapshots=snaps, wall_seconds=wall, meta=meta)


def _numeric(a: np.ndarray, ndim: int | None, name: str) -> np.ndarray:
    if a.dtype.kind not in "iuf" or (ndim is not None and a.ndim != ndim):
        raise ValueError(f"{name} has dtype {a.dtype} and {a.ndim} dimensions")
    return a


def check_resumable(state: TrainState, params, leaves, path) -> None:
    """The checkpoint's weights and optimizer state have this run's shapes (ValueError if not)."""
    got = [tuple(k.shape) for k in state.kernels]
    want = [tuple(p.shape) for p in params]
    if got != want:
        raise ValueError(f"checkpoint {path} holds kernels of shapes {got}, not this run's {want}")
    if [tuple(np.shape(l)) for l in state.opt_leaves] != [tuple(np.shape(l)) for l in leaves]:
        raise ValueError(f"checkpoint {path} has an optimizer state of another shape")
