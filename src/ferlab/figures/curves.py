"""Training figures: the loss curve and the strip of snapshots taken during training.

Drawn on a bare matplotlib Figure (Agg canvas), so nothing touches pyplot's global state.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _save(fig, path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    path = Path(path)
    from ferlab.atomic import write_with

    return write_with(path, lambda t: fig.savefig(t, dpi=fig.dpi))


def loss_curve(path, losses, evals=None, reference=None, title: str = "training loss") -> Path:
    """Log-log plot of the per-step loss, optional full-image MSE points ``evals`` ((k, ≥2):
    step, mse) and an optional ``reference`` per-step curve (e.g. the paper's run)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.0), dpi=100)
    ax = fig.add_subplot()
    if reference is not None and len(reference):
        ref = np.asarray(reference, np.float64)
        ax.plot(np.arange(1, len(ref) + 1), ref, color="0.7", lw=1, label="reference (paper)")
    losses = np.asarray(losses, np.float64)
    if len(losses):
        steps = np.arange(1, len(losses) + 1)
        if len(losses) > 4000:  # thin a long curve: keep its shape, not every point
            keep = np.unique(np.geomspace(1, len(losses), 4000).astype(int)) - 1
            steps, losses = steps[keep], losses[keep]
        ax.plot(steps, losses, lw=1, color="C0", label="training loss (per step)")
    if evals is not None and len(evals):
        ev = np.asarray(evals, np.float64)
        ax.plot(np.maximum(ev[:, 0], 1), ev[:, 1], "o-", ms=3, color="C3", label="full-image MSE")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("MSE (RGB in [0, 1])")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def snapshot_strip(path, snapshots: dict, target=None, title: str | None = None) -> Path:
    """One row of images labelled by step (``snapshots``: step -> (H, W, 3) uint8 or float),
    with the target last when given."""
    from matplotlib.figure import Figure

    items = [(f"step {s:,}", img) for s, img in sorted(snapshots.items())]
    if target is not None:
        items.append(("target", target))
    n = max(1, len(items))
    fig = Figure(figsize=(1.9 * n, 2.2), dpi=100)
    for i, (label, img) in enumerate(items):
        ax = fig.add_subplot(1, n, i + 1)
        img = np.asarray(img)
        ax.imshow(img if img.dtype == np.uint8 else np.clip(img, 0, 1), interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
