"""``ferlab sweep``, ``ferlab metrics``, ``ferlab compare``: look inside networks and measure them."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from ferlab.cli import CLIError
from ferlab.metrics.labels import DEFAULT_SIMILARITY, SIMILARITIES

SIMILARITY_CHOICES = tuple(SIMILARITIES)

#: Networks the random-init baseline may draw (controls.BaselineCache: at most 3 x 3 seeds).
BASELINE_DRAWS = 9


def register(sub) -> None:
    p = sub.add_parser(
        "sweep", help="weight-sweep sheet of a genome or dense network (PNG/PDF/NPZ)",
        description="Add δ in [-span, +span] to single weights (one row each, the original in "
                    "the middle) or along seeded random directions. Genomes sweep links (all by "
                    "default); dense networks sweep (kernel,row,col) weights, flat indices, or all; "
                    "a layerized network by default sweeps the weights that carry genome links.")
    p.add_argument("net", help="genome (.zip/.xml/.json) or dense network (.npz)")
    p.add_argument("-o", "--output", required=True, help="figure (.png/.pdf) or frames (.npz)")
    p.add_argument("--links", help="comma-separated link ids, e.g. 576:224,576:31 (genomes)")
    p.add_argument("--weights", nargs="+", metavar="K,R,C", help="dense weights by kernel,row,col")
    p.add_argument("--flat", nargs="+", type=int, metavar="I", help="dense weights by the paper's flat index")
    p.add_argument("--all", action="store_true", help="every weight of a dense network")
    p.add_argument("--genome", help="genome the dense network was layerized from (labels rows with link ids)")
    p.add_argument("--random", type=int, metavar="N", help="N random-direction sweeps instead")
    p.add_argument("--seed", type=int, default=0, help="first random direction's seed")
    p.add_argument("--direction", choices=("filter", "unit"), default="filter",
                   help="random directions: filter-normalised (default, Li et al. 2018) or unit")
    p.add_argument("--nonzero", action="store_true", help="unit random directions over non-zero weights only")
    p.add_argument("--span", type=float, default=1.0, help="largest |δ| (default 1)")
    p.add_argument("--count", type=int, default=5, help="frames per row (default 5)")
    p.add_argument("--res", type=int, default=64, help="frame resolution (default 64)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "metrics", help="FER metrics of a network (or label agreement of CPPN-X genomes)",
        description="Fractured/entangled measures defined on the function (see ferlab.metrics) and "
                    "fer_score in [0, 1] (higher = more FER), beside the random-init baseline of the "
                    "network's architecture (cached in --baseline-cache). A network whose image is "
                    "(near-)constant is refused. With --label-auc: how well link-effect similarity "
                    "predicts CPPN-X human labels (ROC AUC per genome and pooled).")
    p.add_argument("net", nargs="?", help="genome or dense network")
    p.add_argument("--label-auc", nargs="+", metavar="GENOME", help="CPPN-X genomes with link labels")
    p.add_argument("--similarity", choices=SIMILARITY_CHOICES, default=DEFAULT_SIMILARITY,
                   help=f"link similarity for --label-auc (default: {DEFAULT_SIMILARITY})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--res", type=int, default=None, help="resolution (default 32; 64 for --label-auc)")
    p.add_argument("--baseline-cache", metavar="FILE", default=None,
                   help="JSON file keeping random-init baselines (default: "
                        "$XDG_CACHE_HOME/ferlab/baselines.json)")
    p.add_argument("--no-baseline", action="store_true", help="skip the random-init baseline")
    p.add_argument("-o", "--output", help="also write the JSON object to this file")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser(
        "compare", help="side-by-side HTML report of two networks",
        description="Images, feature maps, PCA maps, sweep sheets, random-direction sweeps and the "
                    "metrics table of A and B in one self-contained HTML file.")
    p.add_argument("a", help="genome or dense network")
    p.add_argument("b", help="genome or dense network")
    p.add_argument("-o", "--output", required=True, help="report .html")
    p.add_argument("--figures", metavar="DIR", help="also export every figure into DIR")
    p.add_argument("--format", choices=("png", "pdf"), default="png", help="format for --figures")
    p.add_argument("--sweep-res", type=int, default=40, help="sweep frame resolution (default 40)")
    p.add_argument("--feature-res", type=int, default=40)
    p.add_argument("--metrics-res", type=int, default=32)
    p.add_argument("--rows", type=int, default=48, help="most rows per sweep sheet (default 48)")
    p.add_argument("--random", type=int, default=4, help="random directions shown")
    p.add_argument("--max-weights", type=int, default=512,
                   help="weights sampled when sheet rows are picked by effect")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_compare)


def _load(path):
    from ferlab.files import load_any
    from ferlab.limits import check_compiled
    from ferlab.network import as_network

    if not Path(path).exists():
        raise CLIError(f"no such file: {path}")
    obj = load_any(path)
    if as_network(obj).kind == "genome":  # graph limits: dense shapes are checked on load
        check_compiled(obj)
    return obj


def _check_res(res, lo=4, hi=1024):
    if not lo <= res <= hi:
        raise CLIError(f"--res must be {lo}..{hi}, got {res}")


def _sweep_rows(obj, args) -> int:
    """How many rows the sweep will have, from the arguments alone (nothing rendered)."""
    from ferlab.network import as_network

    if args.random is not None:
        return args.random
    net = as_network(obj)
    if net.kind == "genome":
        return len([s for s in args.links.split(",") if s.strip()]) if args.links else net.n_weights
    chosen = len(args.weights or ()) + len(args.flat or ())
    origin = net.dense.origin
    if args.all or (not chosen and origin is None):
        return net.n_weights
    return chosen or sum(int((o >= 0).sum()) for o in origin)


def check_metrics_cost(obj, res: int, baseline: bool = True) -> None:
    """Refuse metrics whose probes would exceed limits.MAX_METRICS_OPS (checked before any render).

    The probe shifts each neuron's pre-activation by each of NEURON_OFFSETS and renders the
    change (a frame through the network's weights); the random-init baseline repeats that for
    up to BASELINE_DRAWS networks of the same architecture.
    """
    from ferlab.limits import FRAME_OVERHEAD, MAX_METRICS_OPS, CostError
    from ferlab.metrics import as_dense
    from ferlab.metrics.terms import NEURON_OFFSETS

    net = as_dense(obj)
    frames = net.arch.width * net.arch.depth * len(NEURON_OFFSETS) * (1 + BASELINE_DRAWS * baseline)
    ops = frames * res * res * (net.arch.n_params + FRAME_OVERHEAD)
    if ops > MAX_METRICS_OPS:
        raise CostError(f"metrics would take {ops / 1e9:.1f}G multiply-adds ({frames} frames at "
                        f"{res}x{res}); the limit is {MAX_METRICS_OPS / 1e9:.0f}G: lower --res"
                        + (" or use --no-baseline" if baseline else ""))


def cmd_sweep(args) -> int:
    from ferlab.limits import check_frames, check_render
    from ferlab.network import as_network
    from ferlab.sweep import deltas, sweep, sweep_random

    _check_res(args.res)
    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix not in (".png", ".pdf", ".npz"):
        raise CLIError(f"output must end in .png, .pdf or .npz, got {out.name!r}")
    offsets = deltas(args.span, args.count)
    if args.random is not None and not 1 <= args.random <= 64:
        raise CLIError(f"--random must be 1..64, got {args.random}")
    obj = _load(args.net)
    net = as_network(obj)
    frames = _sweep_rows(obj, args) * args.count
    streamed = net.kind == "dense" and suffix == ".npz" and args.random is None
    check_frames(frames, args.res * args.res, streamed=streamed)  # streamed: one chunk held at a time
    if net.kind == "genome":  # dense sweeps propagate changes in low rank: memory bounds them
        check_render(obj, args.res * args.res, frames=frames, what="sweep", engine="gather")
    if streamed:
        # Every weight of a big network is gigabytes of frames: straight to disk, chunk by chunk.
        import shutil

        from ferlab.sweep import stream

        size = frames * args.res * args.res * 3 * 4
        free = shutil.disk_usage(out.parent).free
        if size > free:
            raise CLIError(f"the frames need {size / 2**30:.1f} GiB and {out.parent} has "
                           f"{free / 2**30:.1f} GiB free: choose fewer weights, frames or a "
                           "lower resolution")
        st = stream(obj, links=_links(args), weights=args.weights, flat=args.flat,
                    all_weights=args.all, offsets=offsets, res=args.res, genome=_genome(args),
                    progress=sys.stderr.isatty())
        _write_frames(out, st.shape, st.chunks, st.deltas, st.labels)
        rows = len(st.labels)
    else:
        if args.random is not None:
            sheet = sweep_random(obj, args.random, args.seed, args.nonzero, offsets, args.res,
                                 kind=args.direction)
        else:
            if net.kind == "dense" and suffix != ".npz":
                from ferlab.figures.sweeps import MAX_FIGURE_ROWS

                chosen = len(args.weights or ()) + len(args.flat or ())
                implicit_all = not chosen and net.dense.origin is None
                if (args.all or implicit_all) and net.n_weights > MAX_FIGURE_ROWS:
                    raise CLIError(f"all {net.n_weights} weights do not fit one figure: choose "
                                   "--weights/--flat, or write the frames to a .npz")
            sheet = sweep(obj, links=_links(args), weights=args.weights, flat=args.flat,
                          all_weights=args.all, offsets=offsets, res=args.res, genome=_genome(args),
                          progress=sys.stderr.isatty())
        if suffix == ".npz":
            _write_frames(out, sheet.frames.shape, [(0, sheet.frames)], sheet.deltas, sheet.labels)
        else:
            from ferlab.figures.sweeps import save_sweep_sheet

            save_sweep_sheet(sheet, out)
        rows = len(sheet.labels)
    print(f"{out}: {rows} rows x {len(offsets)} frames at {args.res}x{args.res}")
    return 0


def _links(args):
    return [s for s in args.links.split(",") if s.strip()] if args.links else None


def _genome(args):
    from ferlab.network import as_network

    genome = _load(args.genome) if args.genome else None
    if genome is not None and as_network(genome).kind != "genome":
        raise CLIError(f"--genome must be a genome file, got a dense network: {args.genome}")
    return genome


def _write_frames(out, shape, chunks, offsets, labels) -> None:
    """Frames (float32), deltas and labels as one .npz, frames written chunk by chunk as they come."""
    from ferlab.io import write_npz

    with write_npz(out) as npz:
        with npz.array("frames", shape, np.float32) as frames:
            for _, chunk in chunks:
                frames.write(chunk.astype(np.float32, copy=False))
        npz.add("deltas", offsets)
        npz.add("labels", np.array(labels))


def default_baseline_cache() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "ferlab" / "baselines.json"


def cmd_metrics(args) -> int:
    from ferlab.metrics import METRIC_NOTES, BaselineCache, fer_metrics, label_auc

    if args.label_auc:
        if args.net:
            raise CLIError("give either NET or --label-auc GENOME..., not both")
        res = args.res or 64
        _check_res(res, 8, 256)
        from ferlab.network import as_network

        genomes = []
        for path in args.label_auc:
            g = _load(path)
            if as_network(g).kind != "genome":
                raise CLIError(f"--label-auc needs genome files with CPPN-X labels, got {path}")
            genomes.append(g)
        result = label_auc(genomes, args.similarity, res)
        _emit(args, result, lambda r: "\n".join(
            [f"{name:28s} AUC {auc:.3f}" for name, auc in r["per_genome"].items()]
            + [f"{'pooled':28s} AUC {r['pooled']:.3f}   ({args.similarity} similarity, {res}x{res})"]))
        return 0
    if not args.net:
        raise CLIError("give a network file, or --label-auc GENOME...")
    res = args.res or 32
    _check_res(res, 8, 256)
    obj = _load(args.net)
    check_metrics_cost(obj, res, baseline=not args.no_baseline)
    baseline = None if args.no_baseline else BaselineCache(args.baseline_cache or default_baseline_cache())
    m = fer_metrics(obj, res=res, baseline=baseline)
    _emit(args, m, lambda r: "\n".join(
        f"{k:22s} {v:8.4f}  {METRIC_NOTES.get(k, '')}" if isinstance(v, float) else f"{k:22s} {v:8d}  {METRIC_NOTES.get(k, '')}"
        for k, v in r.items()))
    return 0


def _emit(args, obj, text) -> None:
    if args.output:
        from ferlab.atomic import write_text

        write_text(args.output, json.dumps(obj, indent=2) + "\n")
    print(json.dumps(obj) if args.json else text(obj))


def cmd_compare(args) -> int:
    from ferlab.report import compare_report

    for v, name in ((args.sweep_res, "--sweep-res"), (args.feature_res, "--feature-res"), (args.metrics_res, "--metrics-res")):
        if not 8 <= v <= 512:
            raise CLIError(f"{name} must be 8..512, got {v}")
    if not 1 <= args.rows <= 400 or not 1 <= args.random <= 32:
        raise CLIError("--rows must be 1..400 and --random 1..32")
    if args.max_weights < 1:
        raise CLIError("--max-weights must be at least 1")
    out = Path(args.output)
    if out.suffix.lower() not in (".html", ".htm"):
        raise CLIError(f"report must be an .html file, got {out.name!r}")
    a, b = _load(args.a), _load(args.b)
    for obj in (a, b):
        check_metrics_cost(obj, args.metrics_res)
    compare_report(a, b, out, progress=sys.stderr.isatty(), sweep_res=args.sweep_res,
                   feature_res=args.feature_res, metrics_res=args.metrics_res, sheet_rows=args.rows,
                   n_random=args.random, seed=args.seed, max_weights=args.max_weights,
                   figures_dir=Path(args.figures) if args.figures else None, figure_format=args.format)
    print(f"{out}: report of {args.a} vs {args.b}")
    return 0
