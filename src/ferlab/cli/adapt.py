"""``ferlab adapt``: where the next step can take a network (neighbourhood, learning, continual)."""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from ferlab.cli import CLIError, check_output


def register(sub) -> None:
    p = sub.add_parser(
        "adapt", help="adaptability probes of networks -> self-contained HTML report",
        description="Neighbourhood (filter-normalised random steps: how many neighbours stay "
                    "coherent, how diverse they are), learning (fine-tune toward variants of the "
                    "first network's picture: steps to a target MSE, final MSE) and continual "
                    "(A -> B -> A: forgetting, relearning, dead units, effective rank) probes. "
                    "All networks must share one architecture (genomes are layerized); random "
                    "initialisations of it are added as a control.")
    p.add_argument("nets", nargs="+", metavar="NET", help="genomes or dense networks (.npz); the first gives the base picture")
    p.add_argument("-o", "--output", required=True, help="report .html")
    p.add_argument("--genome", help="CPPN-X genome for label variants (default: the first CPPN-X genome given)")
    p.add_argument("--label", action="append", default=[], metavar="TEXT",
                   help="CPPN-X label whose link is moved by ±delta, e.g. 'Mouth open close' (repeatable)")
    p.add_argument("--delta", type=float, default=0.5, help="label-variant weight change (default 0.5)")
    p.add_argument("--transfer", action="append", default=[], metavar="NET",
                   help="another genome/network whose picture is a transfer target (repeatable)")
    p.add_argument("--random", type=int, default=3, help="random initialisations added (default 3)")
    p.add_argument("--probes", default="neighbourhood,learning,continual",
                   help="comma-separated subset of neighbourhood,learning,continual")
    p.add_argument("--res", type=int, default=64, help="resolution of every probe (default 64)")
    p.add_argument("--steps", type=int, default=None, help="fine-tuning budget (default 300)")
    p.add_argument("--lr", type=float, default=None, help="fine-tuning rate (default 3e-4)")
    p.add_argument("--target-mse", type=float, default=None, help="target MSE (default 5e-3)")
    p.add_argument("--neighbours", type=int, default=16, help="directions per radius (default 16)")
    p.add_argument("--radii", default="0.02,0.05,0.1,0.2,0.5", help="comma-separated step radii")
    p.add_argument("--continual-b", metavar="VARIANT", help="variant name used as B (default: first transfer, else first variant)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="FILE", help="also write the learning/continual rows as JSON")
    p.set_defaults(func=cmd_adapt)


def cmd_adapt(args) -> int:
    from ferlab.adapt import FINETUNE, as_network, check_same_arch, random_network
    from ferlab.adapt.report import adapt_report
    from ferlab.cli.analyse import _load
    from ferlab.network import as_network as network

    probes = tuple(s.strip() for s in args.probes.split(",") if s.strip())
    bad = [s for s in probes if s not in ("neighbourhood", "learning", "continual")]
    if bad or not probes:
        raise CLIError(f"unknown probe {bad[0] if bad else '(none)'!r}: choose from neighbourhood, learning, continual")
    if Path(args.output).suffix.lower() not in (".html", ".htm"):
        raise CLIError(f"report must be an .html file, got {Path(args.output).name!r}")
    if args.json:
        check_output(args.json)  # the -o rule, for the second output too: before any work
    if not 8 <= args.res <= 256:
        raise CLIError(f"--res must be 8..256, got {args.res}")
    if args.random < 0 or args.neighbours < 1:
        raise CLIError("--random must be >= 0 and --neighbours >= 1")
    try:
        radii = tuple(float(r) for r in args.radii.split(","))
    except ValueError:
        raise CLIError(f"bad --radii {args.radii!r}: expected numbers like 0.05,0.1") from None
    objs = [_load(p) for p in args.nets]
    genome = _load(args.genome) if args.genome else next(
        (o for o in objs if network(o).labelled), None)
    if args.label and (genome is None or network(genome).genome is None):
        raise CLIError("--label needs a CPPN-X genome (give one as NET or --genome)")
    transfer = [_load(p) for p in args.transfer]
    groups: dict[str, list] = {}
    for path, obj in zip(args.nets, objs):
        net = as_network(obj)
        net.meta["name"] = Path(path).stem
        groups.setdefault("evolved" if network(obj).from_genome else "trained", []).append(net)
    arch = check_same_arch([n for ms in groups.values() for n in ms])
    if args.random:
        groups["random"] = [random_network(arch, args.seed + s) for s in range(args.random)]
    recipe = dataclasses.replace(FINETUNE, res=args.res,
                                 **({"steps": args.steps} if args.steps is not None else {}),
                                 **({"lr": args.lr} if args.lr is not None else {}))
    kw = {"target_mse": args.target_mse} if args.target_mse is not None else {}
    rows: dict = {}
    path = adapt_report(groups, args.output, genome=genome, labels=args.label, transfer=transfer,
                        delta=args.delta, recipe=recipe, radii=radii, n=args.neighbours,
                        res=args.res, seed=args.seed, continual_b=args.continual_b,
                        probes=probes, progress=True, rows_out=rows, **kw)
    if args.json:
        from ferlab.atomic import write_text

        write_text(args.json, json.dumps(rows, default=str, indent=1))
    print(f"wrote {path}", file=sys.stderr)
    return 0
