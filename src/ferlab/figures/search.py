"""Search figures: the elites of a run laid out on its descriptor grid, and coverage and
best-distance-to-target against evaluations for several runs."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ferlab.atomic import write_with


def grid_mosaic(images: np.ndarray, cells: np.ndarray, bins: int, gap: int = 1) -> np.ndarray:
    """(H, W, 3) uint8: each elite's image at its cell (first descriptor down, second across,
    low values at the bottom-left), white where the cell is empty."""
    images = np.asarray(images)
    tile = images.shape[1] if len(images) else 8
    side = bins * (tile + gap) - gap
    out = np.full((side, side, 3), 255, np.uint8)
    if images.dtype != np.uint8:
        images = (np.clip(images, 0, 1) * 255).astype(np.uint8)
    for img, c in zip(images, np.asarray(cells).tolist()):
        i, j = divmod(int(c), bins)
        y, x = (bins - 1 - i) * (tile + gap), j * (tile + gap)
        out[y:y + tile, x:x + tile] = img
    return out


def elites_figure(path, images, cells, bins: int, measures=("symmetry", "complexity"),
                  title: str = "") -> Path:
    """The grid mosaic with its axes named."""
    from matplotlib.figure import Figure

    mosaic = grid_mosaic(images, cells, bins)
    fig = Figure(figsize=(7, 7.3), dpi=110)
    ax = fig.add_subplot()
    ax.imshow(mosaic, extent=(0, 1, 0, 1), interpolation="nearest")
    ax.set_xlabel(measures[1])
    ax.set_ylabel(measures[0])
    ax.set_title(title or f"{len(cells)} elites")
    return _save(fig, path)


def curves_figure(path, runs: dict[str, list[dict]], title: str = "") -> Path:
    """Coverage, best distance to the target and archive size against evaluations, one line
    per run (the archive is the novelty archive for novelty runs, the grid's elites else).
    Runs whose labels share a first word (the arm) share a colour; seeds differ by dash."""
    from matplotlib.figure import Figure

    from ferlab.search.measures import growth

    fig = Figure(figsize=(15, 4.2), dpi=100)
    a1, a2, a3 = fig.subplots(1, 3)
    colours: dict[str, str] = {}
    seen: dict[str, int] = {}
    for label, hist in runs.items():
        group = label.split()[0] if label.split() else label
        colour = colours.setdefault(group, f"C{len(colours) % 10}")
        dash = ("-", "--", ":", "-.")[seen.get(group, 0) % 4]
        seen[group] = seen.get(group, 0) + 1
        style = dict(label=label, color=colour, ls=dash)
        ev, size = growth(hist)
        a1.plot(ev, [h["coverage"] for h in hist], **style)
        d = [np.nan if h.get("best_distance") is None else h["best_distance"] for h in hist]
        if np.isfinite(d).any():
            a2.plot(ev, d, **style)
        a3.plot(ev, size, **style)
    a1.set_ylabel("grid coverage")
    a2.set_ylabel("best RMS distance to target")
    a3.set_ylabel("archive size")
    for a in (a1, a2, a3):
        a.set_xlabel("evaluations")
        a.grid(alpha=0.3)
        a.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    return write_with(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=fig.dpi))
