"""Write a training run's results into a folder (the I/O edge of ``ferlab train``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ferlab.atomic import write_text, write_with
from ferlab.colour import to_bytes
from ferlab.io import save_png

OUTPUT_FILES = ("net.npz", "final.png", "losses.npy", "evals.npy", "losses.png",
                "snapshots.png", "summary.json")


def save_outputs(result, out_dir, reference_losses=None) -> dict[str, Path]:
    """net.npz, final.png, losses.npy (per step), evals.npy (step, full MSE, seconds),
    losses.png, snapshots.png and summary.json in ``out_dir``; returns name -> path."""
    from ferlab.figures.curves import loss_curve, snapshot_strip

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in OUTPUT_FILES}
    result.net.save(paths["net.npz"])
    save_png(result.image, paths["final.png"])
    write_with(paths["losses.npy"], lambda t: np.save(t, np.asarray(result.losses, np.float32)))
    write_with(paths["evals.npy"], lambda t: np.save(t, np.asarray(result.evals, np.float64)))
    loss_curve(paths["losses.png"], result.losses, result.evals, reference_losses,
               title=f"{result.target_name}: recipe {result.recipe.name}, "
                     f"final MSE {result.final_mse:.2e}")
    snapshot_strip(paths["snapshots.png"], result.snapshots, to_bytes(result.target))
    write_text(paths["summary.json"], json.dumps(result.summary(), indent=2) + "\n")
    return paths
