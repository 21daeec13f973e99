"""A self-contained side-by-side HTML report: look inside two networks and measure them.

Sections (HTML ids): ``images``, ``features``, ``pca``, ``sweeps``, ``random``, ``metrics``,
``adapt`` (the neighbourhood probe of :mod:`ferlab.adapt`).
Every picture is a base64 PNG inside the page, there is no script and no external resource, so
the file opens offline in any browser.
"""
from __future__ import annotations

import base64
import html
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferlab.atomic import write_text, write_with
from ferlab.genome import Genome
from ferlab.network import as_network

SECTIONS = (
    ("images", "Images"),
    ("features", "Feature maps"),
    ("pca", "PCA of each layer"),
    ("sweeps", "Single-weight sweeps"),
    ("random", "Random-direction sweeps"),
    ("metrics", "FER metrics"),
    ("adapt", "Adaptability"),
)
#: Sections whose body is HTML built outside build_figures (not a pair of figures).
HTML_SECTIONS = ("metrics", "adapt")


@dataclass
class ReportOptions:
    image_res: int = 256
    feature_res: int = 40
    sweep_res: int = 40
    sheet_rows: int = 48
    n_random: int = 4
    #: Largest step along a filter-normalised direction: a step the size of every filter (±1)
    #: garbles any network; at ±0.5 an evolved picture still bends where an SGD one breaks up.
    random_span: float = 0.5
    metrics_res: int = 32
    max_weights: int = 512  # weights sampled when a sheet's rows are picked by effect
    adapt_neighbours: int = 12  # filter-normalised directions per radius (0: skip the probe)
    seed: int = 0
    genome: Genome | None = None  # labels dense sweep rows with this genome's link ids/labels
    figures_dir: Path | None = None  # also export every figure here
    figure_format: str = "png"
    timings: dict = field(default_factory=dict)


def _name(obj, fallback):
    return str(getattr(obj, "meta", {}).get("name", fallback))


def _image(obj, res):
    return as_network(obj).render(res, dtype=np.float32)


def _png_of_array(rgb) -> bytes:
    from ferlab.colour import to_bytes
    from ferlab.io import encode_png

    return encode_png(to_bytes(rgb), level=6)


def _feature_figure(obj, res, image_res):
    from ferlab.figures.features import feature_figure

    return feature_figure(obj, res=res, image_res=image_res)


def _sheet_positions(a, b, rows: int, res: int, seed: int, sample: int):
    """Which weights each sheet shows, always weights that exist: a genome's links; a
    layerized net's link weights; another dense net of the same architecture: the same
    (kernel, row, col) positions (so the two sheets line up); otherwise, among its non-zero
    weights, the ``rows`` whose sweeps change the image most (a seeded sample of ``sample``)."""
    from ferlab.sweep import existing_weights, strongest_weights

    nets = [as_network(a), as_network(b)]

    def own(net):
        if net.genome is not None:
            return None  # all links
        return existing_weights(net.dense) if net.from_genome else []

    pos = [own(n) for n in nets]
    for i, (x, other) in enumerate(((nets[0], nets[1]), (nets[1], nets[0]))):
        # pos[1 - i] non-empty: the other is a dense net with an origin map.
        if pos[i] == [] and pos[1 - i] and str(other.dense.arch) == str(x.dense.arch):
            pos[i] = list(pos[1 - i])
    for i, net in enumerate(nets):
        if pos[i] == []:
            pos[i] = strongest_weights(net.dense, existing_weights(net.dense), rows, res, sample, seed)
        elif pos[i] is not None:
            pos[i] = pos[i][:rows]
    return pos


def _sweep_sheet(obj, positions, res, rows, genome=None):
    from ferlab.sweep import sweep_dense, sweep_genome

    net = as_network(obj)
    if net.genome is not None:
        return sweep_genome(net.genome, list(range(min(rows, net.n_weights))), res=res)
    # Only a network that carries its own origin map can name links cheaply and exactly.
    return sweep_dense(net.dense, weights=positions, res=res, genome=genome if net.from_genome else None)


def build_figures(a, b, opts: ReportOptions) -> dict:
    """Every figure of the report as PNG bytes: {section: [(caption, png) for a, for b]}."""
    from ferlab.atomic import write_with
    from ferlab.figures.pca import pca_figure
    from ferlab.figures.features import native_dpi as map_dpi
    from ferlab.figures.sweeps import figure_png, native_dpi, sweep_figure
    from ferlab.sweep import deltas, sweep_random

    out: dict[str, list] = {s: [] for s, _ in SECTIONS if s not in HTML_SECTIONS}
    names = [_name(a, "A"), _name(b, "B")]

    # Each figure is encoded at the dpi that draws its tiles pixel for pixel: lossless and no
    # bigger than what the page shows.
    def add(section, i, caption, fig, dpi):
        if opts.figures_dir is not None:
            opts.figures_dir.mkdir(parents=True, exist_ok=True)
            write_with(opts.figures_dir / f"{section}_{'ab'[i]}_{_slug(names[i])}.{opts.figure_format}",
                       lambda tmp: fig.savefig(tmp, dpi=150 if opts.figure_format == "png" else None))
        out[section].append((caption, figure_png(fig, dpi=dpi)))

    t = time.perf_counter()
    positions = _sheet_positions(a, b, opts.sheet_rows, opts.metrics_res, opts.seed, opts.max_weights)
    for i, obj in enumerate((a, b)):
        img = _image(obj, opts.image_res)
        out["images"].append((f"{names[i]} ({as_network(obj).describe()})", _png_of_array(img)))
        if opts.figures_dir is not None:
            from ferlab.io import save_png

            opts.figures_dir.mkdir(parents=True, exist_ok=True)
            save_png(img, opts.figures_dir / f"images_{'ab'[i]}_{_slug(names[i])}.png")
    opts.timings["images"] = time.perf_counter() - t
    for i, obj in enumerate((a, b)):
        t = time.perf_counter()
        add("features", i, names[i], _feature_figure(obj, opts.feature_res, opts.image_res),
            map_dpi(opts.feature_res))
        opts.timings[f"features_{i}"] = time.perf_counter() - t
        t = time.perf_counter()
        add("pca", i, names[i], pca_figure(obj, opts.feature_res), map_dpi(opts.feature_res))
        opts.timings[f"pca_{i}"] = time.perf_counter() - t
        t = time.perf_counter()
        sheet = _sweep_sheet(obj, positions[i], opts.sweep_res, opts.sheet_rows, opts.genome)
        add("sweeps", i, f"{names[i]}: {len(sheet.labels)} weights", sweep_figure(sheet),
            native_dpi(opts.sweep_res))
        opts.timings[f"sweeps_{i}"] = time.perf_counter() - t
        t = time.perf_counter()
        rnd = sweep_random(obj, opts.n_random, seed=opts.seed, res=opts.sweep_res,
                           offsets=deltas(opts.random_span))
        add("random", i, f"{names[i]}: seeds {opts.seed}..{opts.seed + opts.n_random - 1}",
            sweep_figure(rnd, title=f"{names[i]} — filter-normalised random directions"),
            native_dpi(opts.sweep_res))
        opts.timings[f"random_{i}"] = time.perf_counter() - t
    return out


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)[:40] or "net"


def _img_tag(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


#: Public: other reports (ferlab.adapt.report) embed their figures the same way.
img_tag = _img_tag


def _metrics_table(ma: dict, mb: dict, names) -> str:
    from ferlab.metrics import METRIC_NOTES, SCORE_TERMS

    def cell(m, key):
        if "refused" in m:
            return "—"
        v = m.get(key)
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    rows = []
    for key, note in METRIC_NOTES.items():
        if key not in ma and key not in mb:
            continue
        scored = " *" if key in SCORE_TERMS else ""
        rows.append(f"<tr><th>{html.escape(key)}{scored}</th><td>{cell(ma, key)}</td><td>{cell(mb, key)}</td>"
                    f"<td class=note>{html.escape(note)}</td></tr>")
    head = (f"<tr><th>metric</th><th>{html.escape(names[0])}</th><th>{html.escape(names[1])}</th>"
            "<th>meaning (higher = more fractured/entangled)</th></tr>")
    refused = "".join(f"<p class=note>{html.escape(n)}: not scored: {html.escape(m['refused'])}</p>"
                      for n, m in zip(names, (ma, mb)) if "refused" in m)
    foot = "<p class=note>* enters fer_score.</p>"
    return f'<table class="metrics">{head}{"".join(rows)}</table>{refused}{foot}'


CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1800px}
h1{font-size:1.4em}h2{font-size:1.15em;border-bottom:1px solid #ccc;padding-top:.6em}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1.2em;align-items:start}
figure{margin:0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#555;margin:.2em 0}
table.metrics{border-collapse:collapse;font-size:.9em}
table.metrics td,table.metrics th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
table.metrics td{font-variant-numeric:tabular-nums}
.note{color:#666;font-size:.85em}
nav a{margin-right:1em}
"""


def render_html(names, descs, figures: dict, ma: dict, mb: dict, notes: str = "",
                adapt_html: str = "") -> str:
    """The page as a string (pure: figures are PNG bytes, metrics plain dicts)."""
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>ferlab compare: {html.escape(names[0])} vs {html.escape(names[1])}</title>",
             f"<style>{CSS}</style></head><body>",
             f"<h1>{html.escape(names[0])} vs {html.escape(names[1])}</h1>",
             f"<p class=note>{html.escape(descs[0])} | {html.escape(descs[1])}</p>",
             "<nav>" + "".join(f'<a href="#{s}">{t}</a>' for s, t in SECTIONS) + "</nav>"]
    for sec, title in SECTIONS:
        parts.append(f'<section id="{sec}"><h2>{title}</h2>')
        if sec == "metrics":
            parts.append(_metrics_table(ma, mb, names))
            if notes:
                parts.append(f"<p class=note>{html.escape(notes)}</p>")
        elif sec == "adapt":
            parts.append(adapt_html or "<p class=note>Not measured (adapt_neighbours=0).</p>")
        else:
            parts.append('<div class="pair">')
            for caption, png in figures[sec]:
                parts.append(f"<figure>{_img_tag(png, f'{title}: {caption}')}"
                             f"<figcaption>{html.escape(caption)}</figcaption></figure>")
            parts.append("</div>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def compare_report(a, b, path, progress: bool = False, **options) -> Path:
    """Write the side-by-side report for networks ``a`` and ``b`` (Genome or DenseCPPN).

    Options (see :class:`ReportOptions`): image_res, feature_res, sweep_res, sheet_rows,
    n_random, metrics_res, max_weights, seed, genome (names the links of a
    layerized network's sweep rows), figures_dir, figure_format. Returns the path written;
    :func:`compare_report_with_timings` also returns seconds per stage.
    """
    return compare_report_with_timings(a, b, path, progress, **options)[0]


def compare_report_with_timings(a, b, path, progress: bool = False, **options):
    """As :func:`compare_report`, also returning {stage: seconds}."""
    from ferlab.atomic import write_text, write_with
    from ferlab.metrics import BaselineCache, ConstantImageError, fer_metrics

    for obj in (a, b):
        as_network(obj)  # a TypeError naming anything that is not a network, before any work
    opts = ReportOptions(**options)
    if opts.figure_format not in ("png", "pdf"):
        raise ValueError(f"figure format must be png or pdf, got {opts.figure_format!r}")
    if opts.figures_dir is not None:
        opts.figures_dir = Path(opts.figures_dir)
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"report must be an .html file, got {path.name!r}")
    figures = build_figures(a, b, opts)
    t = time.perf_counter()
    baseline = BaselineCache()

    def measure(obj):
        try:
            return fer_metrics(obj, res=opts.metrics_res, baseline=baseline)
        except ConstantImageError as e:
            return {"refused": str(e)}

    ma, mb = measure(a), measure(b)
    opts.timings["metrics"] = time.perf_counter() - t
    adapt_html = ""
    if opts.adapt_neighbours:
        from ferlab.adapt.report import adaptability_section

        t = time.perf_counter()
        names = [_name(a, "A"), _name(b, "B")]

        def export(i, fig):
            if opts.figures_dir is not None:
                write_with(opts.figures_dir / f"adapt_{'ab'[i]}_{_slug(names[i])}.{opts.figure_format}",
                           lambda tmp: fig.savefig(tmp, dpi=150 if opts.figure_format == "png" else None))

        adapt_html = adaptability_section(a, b, res=opts.metrics_res, n=opts.adapt_neighbours,
                                          seed=opts.seed, export=export)
        opts.timings["adapt"] = time.perf_counter() - t
    notes = (f"Metrics at {opts.metrics_res}², defined on the function (non-linear neurons' maps and "
             "pre-activation shifts); genomes are measured as their layerized dense networks; "
             "random_baseline: mean over random LeCun-normal networks of the same architecture. "
             "See ferlab.metrics for formulas.")
    descs = [as_network(a).describe(), as_network(b).describe()]
    page = render_html([_name(a, "A"), _name(b, "B")], descs, figures, ma, mb, notes, adapt_html)
    write_text(path, page)  # atomic: never a half-written report
    return path, dict(opts.timings)


__all__ = ["compare_report", "compare_report_with_timings", "render_html", "ReportOptions", "SECTIONS"]
