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
    from ferlab.cli.backbone import save_png
    from ferlab.figures.features import feature_figure, save_figure
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
