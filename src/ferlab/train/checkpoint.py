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
    """Read a checkpoint written by :func:`save_checkpoint` (ValueError if it is not one)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: nothing to resume")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "meta" not in z.files or "step" not in z.files:
                raise ValueError(f"{path} is not a ferlab training checkpoint")
            meta = json.loads(str(z["meta"]))
            n_k = sum(1 for f in z.files if f.startswith("kernel_"))
            n_o = sum(1 for f in z.files if f.startswith("opt_"))
            snaps = {int(s): z[f"snapshot_{int(s)}"] for s in z["snapshot_steps"]}
            return TrainState(
                step=int(z["step"]),
                kernels=[z[f"kernel_{k}"] for k in range(n_k)],
                opt_leaves=[z[f"opt_{i}"] for i in range(n_o)],
                losses=z["losses"],
                evals=z["evals"].reshape(-1, 3),
                snapshots=snaps,
                wall_seconds=float(z["wall_seconds"]),
                meta=meta,
            )
    except (OSError, EOFError, KeyError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read checkpoint {path}: {e}") from None
