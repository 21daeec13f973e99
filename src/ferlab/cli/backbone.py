"""ferlab info | render | layerize | features | demo."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("info", help="describe a genome or dense network",
                       description="Describe a genome (zip/xml/json) or dense network (.npz): "
                                   "nodes, links, activations, depth, layerized architecture, labels.")
    p.add_argument("target", help="genome (.zip/.xml/.json) or dense network (.npz)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("render", help="render a genome or dense network to PNG",
                       description="Render a genome or dense network to a PNG image.")
    p.add_argument("target", help="genome (.zip/.xml/.json) or dense network (.npz)")
    p.add_argument("--res", default="256", help="resolution: N or WxH (default 256)")
    p.add_argument("--window", default=None,
                   help="region of the plane xmin,xmax,ymin,ymax (default -1,1,-1,1); zoom with e.g. -0.5,0.5,-0.5,0.5")
    p.add_argument("-o", "--output", default=None, help="output PNG (default: NAME.png)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("layerize", help="convert a genome into the paper's dense CPPN (.npz)",
                       description="Convert a genome into the minimal dense CPPN MLP of the FER paper "
                                   "and write it in the paper's .npz layout.")
    p.add_argument("target", help="genome (.zip/.xml/.json)")
    p.add_argument("-o", "--output", default=None, help="output .npz (default: NAME.npz)")
    p.set_defaults(func=cmd_layerize)

    p = sub.add_parser("convert", help="write a genome as Picbreeder XML, CPPN-X XML or JSON",
                       description="Convert a genome between formats; the output suffix picks the "
                                   "format (.xml Picbreeder, .json ferlab JSON); --cppnx writes the "
                                   "CPPN-X flavour. Labels and weights are kept exactly.")
    p.add_argument("target", help="genome (.zip/.xml/.json)")
    p.add_argument("-o", "--output", required=True, help="output .xml or .json")
    p.add_argument("--cppnx", action="store_true", help="CPPN-X flavour (XML only)")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("features", help="draw every neuron's map (PNG or PDF)",
                       description="The paper's feature-map figure: one tile per neuron (dense: one row "
                                   "per layer; genome: one row per depth), diverging colormap in [-1, 1].")
    p.add_argument("target", help="genome (.zip/.xml/.json) or dense network (.npz)")
    p.add_argument("--res", type=int, default=48, help="tile resolution (default 48)")
    p.add_argument("--dense", action="store_true", help="for a genome: draw its layerized network")
    p.add_argument("-o", "--output", default=None, help="output .png or .pdf (default: NAME-features.png)")
    p.set_defaults(func=cmd_features)

    p = sub.add_parser("demo", help="run the offline demo on the genome ferlab ships",
                       description="Render, layerize and draw the shipped demo genome, train its SGD "
                                   "replica and compare the two; everything goes to the output folder.")
    p.add_argument("-o", "--output", default="demo-out", help="output folder (default demo-out)")
    p.add_argument("--quick", action="store_true", help="smaller, faster training (for tests)")
    p.set_defaults(func=cmd_demo)


def parse_res(text: str) -> tuple[int, int]:
    """'256' -> (256, 256); '320x200' -> (height 200, width 320)."""
    from ferlab.cli import CLIError

    try:
        if "x" in text.lower():
            w, h = (int(v) for v in text.lower().split("x"))
        else:
            w = h = int(text)
    except ValueError:
        raise CLIError(f"bad --res {text!r}: expected N or WxH") from None
    if not (1 <= w <= 4096 and 1 <= h <= 4096):
        raise CLIError(f"--res {text} out of range 1..4096")
    return h, w


def parse_window(text: str | None):
    from ferlab.cli import CLIError

    if text is None:
        return None
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        vals = ()
    if len(vals) != 4:
        raise CLIError(f"bad --window {text!r}: expected xmin,xmax,ymin,ymax")
    return vals


def _out(args, default_suffix: str) -> Path:
    if args.output:
        return Path(args.output)
    return Path(Path(args.target).stem + default_suffix)


def describe(obj) -> dict:
    """The facts `ferlab info` prints, as plain data."""
    from ferlab.network import as_network

    return as_network(obj).facts()


def cmd_info(args) -> int:
    from ferlab.files import load_any

    facts = describe(load_any(args.target))
    if args.json:
        print(json.dumps(facts))
        return 0
    for key, value in facts.items():
        if isinstance(value, list):
            value = ", ".join(map(str, value)) or "-"
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        print(f"{key:>15}: {value}")
    return 0


def render_any(obj, res, window=None, max_values: int | None = None):
    """RGB image of a genome or dense network, rendered in bands of rows so that at most
    ``max_values`` (default limits.MAX_VALUES) node values are held at once."""
    import numpy as np

    from ferlab.canvas import as_canvas
    from ferlab.limits import MAX_VALUES, render_cost
    from ferlab.network import as_network

    net = as_network(obj)

    def one(r, w):
        return net.render(r, w)

    canvas = as_canvas(res, window)
    h, w = canvas.shape
    per_row = render_cost(obj, w)[0]
    band = max(2, (max_values or MAX_VALUES) // max(per_row, 1))
    if band >= h:
        return one(res, window)
    xmin, xmax, ymin, ymax = canvas.window
    ys = np.linspace(ymin, ymax, h)
    bands = []
    for a in range(0, h, band):
        b = min(h, a + band)
        if b - a < 2:  # a one-row band has no extent: take the last two rows, keep one
            bands.append(one((2, w), (xmin, xmax, ys[b - 2], ys[b - 1]))[1:])
        else:
            bands.append(one((b - a, w), (xmin, xmax, ys[a], ys[b - 1])))
    return np.concatenate(bands, axis=0)


def cmd_render(args) -> int:
    from ferlab.cli import check_output
    from ferlab.files import load_any
    from ferlab.io import save_png
    from ferlab.limits import check_render

    res, window = parse_res(args.res), parse_window(args.window)
    out = check_output(_out(args, ".png"))
    obj = load_any(args.target)
    check_render(obj, res[0] * res[1], max_values=None)  # render_any tiles to bound memory
    out = save_png(render_any(obj, res, window), out)
    print(out)
    return 0


def cmd_layerize(args) -> int:
    from ferlab.cli import CLIError, check_output
    from ferlab.layerize import layerize
    from ferlab.picbreeder import load_genome

    if args.target.lower().endswith(".npz"):
        raise CLIError("layerize takes a genome (.zip/.xml/.json), not a dense .npz")
    out = _out(args, ".npz")
    out = check_output(out if out.suffix == ".npz" else out.with_name(out.name + ".npz"))
    net = layerize(load_genome(args.target))
    out = net.save(out)
    print(f"{out}  arch {net.arch}  ({net.arch.n_params} weights)")
    return 0


def cmd_convert(args) -> int:
    from ferlab.cli import CLIError
    from ferlab.picbreeder import load_genome, save_genome

    out = Path(args.output)
    if out.suffix.lower() not in (".xml", ".json"):
        raise CLIError(f"output must end in .xml or .json, got {out.name}")
    genome = load_genome(args.target)
    print(save_genome(genome, out, flavour="cppnx" if args.cppnx else "picbreeder"))
    return 0


def cmd_features(args) -> int:
    from ferlab.cli import CLIError, check_output
    from ferlab.figures.features import feature_figure, save_figure
    from ferlab.files import load_any
    from ferlab.layerize import layerize
    from ferlab.limits import check_render

    out = check_output(_out(args, "-features.png"))
    if out.suffix.lower() not in (".png", ".pdf"):
        raise CLIError(f"output must end in .png or .pdf, got {out.name}")
    obj = load_any(args.target)
    if args.dense and not hasattr(obj, "arch"):
        obj = layerize(obj)
    res = max(8, min(args.res, 256))
    check_render(obj, 256 * 256, features=True, what="the feature figure")  # its full image
    save_figure(feature_figure(obj, res=res), out)
    print(out)
    return 0


def cmd_demo(args) -> int:
    from ferlab.demo import run_demo

    for path in run_demo(Path(args.output), quick=args.quick, log=lambda m: print(m, file=sys.stderr)):
        print(path)
    return 0
