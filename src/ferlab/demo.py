"""`make demo`: the whole ferlab story, offline, on the genome the package ships.

genome -> render -> layerize (exact) -> feature maps -> SGD replica -> side-by-side report.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Callable, Iterator

import numpy as np


def demo_genome_path() -> Path:
    return Path(str(resources.files("ferlab") / "data" / "demo_genome.xml"))


def run_demo(out: Path, quick: bool = False, log: Callable[[str], None] = print) -> Iterator[Path]:
    """Run every step, yielding each file as it is written."""
    from ferlab.figures.features import feature_figure, save_figure
    from ferlab.io import save_png
    from ferlab.layerize import layerize
    from ferlab.picbreeder import load_genome, save_genome
    from ferlab.render import render_genome

    out.mkdir(parents=True, exist_ok=True)
    genome = load_genome(demo_genome_path())
    log(f"demo genome: {len(genome.nodes)} nodes, {len(genome.links)} links")
    yield save_genome(genome, out / "genome.xml")
    image = render_genome(genome, 256).image
    yield save_png(image, out / "genome.png")

    net = layerize(genome)
    diff = float(np.abs(net.render(256).image - image).max())
    log(f"layerized: {net.arch} ({net.arch.n_params} weights); max |dense - genome| = {diff:.1e}")
    yield net.save(out / "layerized.npz")
    yield save_png(net.render(256).image, out / "layerized.png")
    save_figure(feature_figure(genome), out / "genome-features.png")
    yield out / "genome-features.png"
    save_figure(feature_figure(net), out / "layerized-features.png")
    yield out / "layerized-features.png"

    from ferlab.train import save_outputs, train

    steps = 600 if quick else None  # None: the recipe's own
    log("training its SGD replica: fast recipe, same architecture ...")
    # 2e-3: the replica draws the same picture to the eye, side by side (issue #8's bar).
    result = train(genome, recipe="fast", steps=steps, res=64 if quick else None, seed=0,
                   target_mse=2e-3, progress=not quick)
    log(f"replica: {result.status}, full-image MSE {result.final_mse:.2e} after {result.steps} "
        f"steps (seed {result.seed}) in {result.wall_seconds:.1f} s")
    yield from save_outputs(result, out / "replica").values()
    yield side_by_side(image, result.image, ("evolved genome", "SGD replica"), out / "side-by-side.png")

    from ferlab.report import compare_report

    replica = result.net.with_kernels(result.net.kernels)
    replica.meta["name"] = "SGD replica"
    net.meta["name"] = "evolved (layerized)"
    log("writing the comparison report (sweeps, PCA, FER metrics) ...")
    fast = {"image_res": 128, "sweep_res": 32, "metrics_res": 24, "max_weights": 128} if quick else {}
    report = compare_report(net, replica, out / "report.html", genome=genome, **fast)
    log(f"open {report.resolve()} in a browser")
    yield report


def side_by_side(a, b, titles, path) -> Path:
    """Two images with titles, as one PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.5), dpi=120)
    for ax, img, title in zip(axes, (a, b), titles):
        ax.imshow(np.clip(img, 0, 1), interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    fig.tight_layout()
    from ferlab.atomic import write_with

    try:
        return write_with(path, fig.savefig)
    finally:
        plt.close(fig)
