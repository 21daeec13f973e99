"""``ferlab train TARGET -o DIR``: an SGD replica of a genome, dense network or image."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

CHECKPOINT_NAME = "checkpoint.npz"


def register(sub) -> None:
    p = sub.add_parser(
        "train", help="train a dense CPPN by SGD to draw a genome, network or image",
        description="Train a dense CPPN by SGD towards TARGET (a genome .zip/.xml/.json, a dense "
                    ".npz or a PNG/JPEG) and write net.npz, final.png, losses.npy/.png, "
                    "snapshots.png and summary.json into -o DIR. Recipe 'paper' is the FER "
                    "paper's (Adam 3e-3, unit-norm gradients, 100k full 256² steps); 'fast' "
                    "(default) reaches the same loss far sooner. Ctrl-C saves a checkpoint; "
                    "--resume continues it to the same weights as an uninterrupted run. summary.json "
                    "gives the status (converged, below-target, dead, colour-lost, diverged) and "
                    "every attempt: a dead, colourless or diverged run retries the next seed; "
                    "exit code 1 when the target MSE is not met.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("target", help="genome (.zip/.xml/.json), dense network (.npz) or image")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--recipe", choices=("fast", "paper"), default=None,
                   help="training recipe (default fast, or the checkpoint's with --resume)")
    p.add_argument("--steps", type=int, default=None, help="number of steps (recipe's default)")
    p.add_argument("--res", type=int, default=None, help="image resolution (default 256)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate")
    p.add_argument("--batch", type=int, default=None,
                   help="random pixels per step (0: whole images)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    p.add_argument("--arch", default=None,
                   help="architecture, e.g. '12;cache:15,gaussian:4,identity:2,sin:1' "
                        "(default: the target genome's layerized one)")
    p.add_argument("--activation", default=None,
                   help="one activation for every neuron, e.g. relu (the paper's control)")
    p.add_argument("--init", choices=("lecun_normal", "target"), default=None,
                   help="start from LeCun-normal weights or from the target's own weights")
    p.add_argument("--checkpoint-every", type=int, default=1000, metavar="N",
                   help="write DIR/checkpoint.npz every N steps")
    p.add_argument("--resume", action="store_true",
                   help="continue from DIR/checkpoint.npz with its settings")
    p.add_argument("--force", action="store_true",
                   help="start afresh in a folder that already holds a run, replacing it")
    p.add_argument("--stop-mse", type=float, default=None,
                   help="stop once the full-image MSE is at most this")
    p.add_argument("--target-mse", type=float, default=1e-3,
                   help="the full-image MSE a replica must reach to count as converged")
    p.add_argument("--max-attempts", type=int, default=3,
                   help="seeds to try (seed, seed+1, ...) when a run goes dead, loses a colour "
                        "or diverges")
    p.add_argument("--reference", default=None,
                   help="a .npy loss curve to draw behind ours (e.g. sgd_skull_losses.npy)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


#: Longest reference loss curve accepted (the paper's runs have 100k steps).
MAX_REFERENCE = 10_000_000


def read_reference(path):
    """A 1-D finite loss curve from a .npy file, checked before any training."""
    import numpy as np

    from ferlab.cli import CLIError

    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)  # header only: no allocation yet
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "iuf":
            raise ValueError(f"expected a numeric .npy array, got {getattr(arr, 'dtype', type(arr).__name__)}")
        if not 1 <= arr.size <= MAX_REFERENCE:
            raise ValueError(f"expected 1..{MAX_REFERENCE} values, got {arr.size}")
        curve = np.asarray(arr, np.float64).ravel()
    except (OSError, ValueError, EOFError) as e:
        raise CLIError(f"cannot read reference curve {path}: {str(e)[:150]}") from None
    if not np.all(np.isfinite(curve)):
        raise CLIError(f"reference curve {path} has NaN or infinite values")
    return curve


def run(args) -> int:
    from ferlab.cli import CLIError
    from ferlab.train import (Recipe, TrainingInterrupted, get_recipe, load_checkpoint,
                              save_outputs, train)
    from ferlab.train.outputs import OUTPUT_FILES

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise CLIError(f"output {out} exists and is not a folder")
    ckpt = out / CHECKPOINT_NAME
    if args.resume and args.force:
        raise CLIError("give --resume or --force, not both")
    held = [n for n in (CHECKPOINT_NAME, *OUTPUT_FILES) if (out / n).exists()]
    if held and not (args.resume or args.force):
        raise CLIError(f"{out} already holds a run ({held[0]}): --resume it or --force a new one")
    reference = read_reference(args.reference) if args.reference else None

    recipe: str | Recipe = args.recipe or "fast"
    seed, arch, activation, init = args.seed, args.arch, args.activation, args.init
    if args.resume:
        saved = load_checkpoint(ckpt).meta.get("settings", {})
        if not saved:
            raise CLIError(f"{ckpt} has no run settings: cannot resume")
        stored = Recipe.from_dict(saved["recipe"])
        if args.recipe and args.recipe != stored.name:
            raise CLIError(f"checkpoint was made with recipe {stored.name!r}, not {args.recipe!r}")
        recipe = stored
        seed = saved["seed"] if seed is None else seed
        if activation is None:
            arch = saved["arch"] if arch is None else arch
        init = saved.get("init", "lecun_normal") if init is None else init
    else:
        get_recipe(recipe)

    try:
        result = train(args.target, recipe, steps=args.steps, res=args.res, lr=args.lr,
                       batch=args.batch, seed=0 if seed is None else seed, arch=arch,
                       activation=activation, init=init or "lecun_normal", checkpoint=ckpt,
                       checkpoint_every=args.checkpoint_every, resume=args.resume,
                       stop_mse=args.stop_mse, target_mse=args.target_mse,
                       max_attempts=args.max_attempts, progress=not args.quiet)
    except TrainingInterrupted as e:
        again = " ".join(shlex.quote(a) for a in ["ferlab", "train",
                                                  args.target, "-o", str(out), "--resume"])
        print(f"ferlab train: {e}\n  resume with: {again}", file=sys.stderr)
        return 130
    paths = save_outputs(result, out, reference)
    tries = len(result.attempts)
    said = (f"{result.target_name}: {result.status}, final MSE {result.final_mse:.3e} after "
            f"{result.steps} steps of seed {result.seed} ({tries} attempt{'s' * (tries > 1)}, "
            f"{result.recipe.name}, {result.wall_seconds:.1f} s) -> {paths['net.npz'].parent}")
    if result.status == "converged":
        print(said)
        return 0
    print(f"ferlab train: target MSE {args.target_mse:g} not met: {said}; "
          f"{result.attempts[-1]['reason']}", file=sys.stderr)
    return 1
