"""``ferlab search``: open-ended and objective search without people, stored for Discover."""
from __future__ import annotations

import json
from pathlib import Path

#: Config flags of the command and the SearchConfig field each one sets.
_FIELDS = {"seed": "seed", "res": "res", "batch": "batch", "pop": "pop", "colour": "colour",
           "embedding": "embedding", "measures": "measures", "bins": "bins", "k": "k",
           "crossover": "crossover", "strength": "strength"}


def register(sub) -> None:
    from ferlab.search.config import ARMS
    from ferlab.search.descriptors import MEASURES

    p = sub.add_parser(
        "search", help="run novelty search, MAP-Elites, the target control or random genomes",
        description="Search for CPPN images without people. Arms: novelty (novelty search in a "
                    "pixel or learned embedding), map-elites (quality-diversity over two image "
                    "descriptors, quality = interestingness), target (objective: closeness to "
                    "--target), random (fresh genomes of matched size). Results go to the SQLite "
                    "store that `ferlab serve` shows on its Discover page.")
    p.add_argument("arm", choices=ARMS, help="which search to run")
    p.add_argument("--budget", type=int, default=10_000,
                   help="evaluations (runs whole generations until at least this many; default 10000)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    p.add_argument("--res", type=int, default=None, help="render resolution (default 64)")
    p.add_argument("--batch", type=int, default=None, help="evaluations per generation (default 256)")
    p.add_argument("--pop", type=int, default=None, help="parents kept by novelty/target (default 64)")
    p.add_argument("--colour", action="store_const", const=True, default=None,
                   help="search colour genomes (default greyscale)")
    p.add_argument("--embedding", choices=("pixels", "ae"), default=None,
                   help="novelty space: 8x8 pooled pixels or an autoencoder trained as the search goes")
    p.add_argument("--measures", default=None, metavar="A,B",
                   help=f"the two grid descriptors, of {','.join(MEASURES)} (default symmetry,complexity)")
    p.add_argument("--bins", type=int, default=None, help="grid cells per descriptor (default 32)")
    p.add_argument("--k", type=int, default=None, help="novelty: nearest neighbours (default 15)")
    p.add_argument("--crossover", type=float, default=None, help="chance of two parents (default 0.2)")
    p.add_argument("--strength", type=float, default=None, help="mutation strength (default 1)")
    p.add_argument("--target", metavar="GENOME|IMAGE", default=None,
                   help="target image (genome, .npz or PNG/JPEG): needed by the target arm; "
                        "every arm then records its best distance to it")
    p.add_argument("--checkpoint", metavar="PATH", default=None, help="checkpoint file (.npz)")
    p.add_argument("--checkpoint-every", type=int, default=10, help="generations between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --checkpoint")
    p.add_argument("--db", metavar="PATH", default=None,
                   help="SQLite store for the results (default: the one `ferlab serve` uses)")
    p.add_argument("--no-store", action="store_true", help="do not write the results to the store")
    p.add_argument("-o", "--output", metavar="DIR", default=None,
                   help="also write summary.json, elites.png and curves.png here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=search_cmd)


def _config_from_args(args):
    from ferlab.search import SearchConfig

    given = {}
    for flag, field in _FIELDS.items():
        v = getattr(args, flag)
        if v is not None:
            given[field] = tuple(s.strip() for s in v.split(",")) if flag == "measures" else v
    return given, SearchConfig(args.arm, **given)


def _target(args, res: int):
    if args.target is None:
        return None
    from ferlab.train.targets import load_target

    path = Path(args.target)
    if not path.is_file():
        raise FileNotFoundError(f"no such target file: {path}")
    return load_target(path).image_at(res)


def search_cmd(args) -> int:
    from ferlab.cli import CLIError, check_output
    from ferlab.search import load_checkpoint, run, start

    if args.budget < 1:
        raise CLIError(f"--budget must be a positive number of evaluations, got {args.budget}")
    if args.checkpoint_every < 1:
        raise CLIError(f"--checkpoint-every must be positive, got {args.checkpoint_every}")
    if args.resume and not args.checkpoint:
        raise CLIError("--resume needs --checkpoint PATH")
    if args.checkpoint and not args.resume:
        check_output(args.checkpoint)
    given, config = _config_from_args(args)
    if args.resume:
        st = load_checkpoint(args.checkpoint)
        saved = st.config.to_dict()
        for field, v in {"arm": args.arm, **given}.items():
            want = list(v) if isinstance(v, tuple) else v
            if saved[field] != want:
                raise CLIError(f"--{field} {v} differs from the checkpoint's {saved[field]}")
        config = st.config
    target = _target(args, config.res)
    if not args.no_store:
        _open_store(args.db).close()  # fail before the run, not after it
    if not args.resume:
        st = start(config, target)
    run(st, args.budget, target, checkpoint=args.checkpoint, checkpoint_every=args.checkpoint_every,
        progress=not args.quiet)
    from ferlab.search.results import summary

    summ = summary(st)
    if not args.no_store:
        summ["run"] = store_run(st, args.db)
    if args.output:
        write_outputs(st, summ, Path(args.output))
    print(json.dumps({k: v for k, v in summ.items() if k != "measures"}
                     | {"mean_pairwise": summ["measures"]["mean_pairwise"],
                        "mean_nn": summ["measures"]["mean_nn"]}))
    return 0


def _open_store(db):
    import sqlite3

    from ferlab.cli import CLIError
    from ferlab.store import Store, StoreError

    try:
        return Store(db)
    except (sqlite3.Error, StoreError, OSError) as e:
        raise CLIError(f"cannot open the store {db or '(default)'}: {e}") from None


def store_run(st, db=None) -> str:
    """Put a run's summary, history and elites (with thumbnails) in the store; its key."""
    from ferlab.search.results import clean_history, elites, summary
    from ferlab.store import NewGenome
    from ferlab.web.imaging import thumbnail_pngs

    found = elites(st)
    thumbs = thumbnail_pngs([g for _, g, _ in found], 96)
    store = _open_store(db)
    try:
        return store.add_search_run(st.config.arm, st.config.seed, st.evals, st.config.to_dict(),
                                    summary(st), clean_history(st.history),
                                    [(k, NewGenome(g, t), f) for (k, g, f), t in zip(found, thumbs)])
    finally:
        store.close()


def write_outputs(st, summ: dict, out: Path) -> None:
    """summary.json, elites.png (the grid of elites) and curves.png in ``out``."""
    from ferlab.atomic import write_text
    from ferlab.figures.search import curves_figure, elites_figure
    from ferlab.search.evaluate import render_population
    from ferlab.search.results import clean_history

    out.mkdir(exist_ok=True)  # its parent was checked before the run
    occ = st.grid.occupied
    images = render_population([st.grid.genomes[c] for c in occ], 32)
    c = st.config
    elites_figure(out / "elites.png", images, occ, c.bins, c.measures,
                  f"{c.arm}, seed {c.seed}: {len(occ)} elites after {st.evals} evaluations")
    curves_figure(out / "curves.png", {f"{c.arm} seed {c.seed}": clean_history(st.history)})
    write_text(out / "summary.json", json.dumps(summ, indent=1))
