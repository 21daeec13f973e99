"""The ``ferlab`` command: parse, call one library function, print.

Each area registers its subcommands from its own module (``register(subparsers)``), so the
command grows without one file that everybody edits. Bad input never shows a traceback: the
errors below become one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
import sys

#: Modules under ferlab.cli that add subcommands, in help order.
COMMAND_MODULES = ("backbone", "train", "analyse", "breed", "search")


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _user_errors() -> tuple[type[BaseException], ...]:
    from ferlab.dense import ArchError
    from ferlab.genome import GenomeError

    return (CLIError, GenomeError, ArchError, FileNotFoundError, IsADirectoryError,
            PermissionError, ValueError, KeyError, IndexError, OSError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ferlab",
        description="Breed, train and dissect image-generating networks (CPPNs): Picbreeder "
                    "genomes, dense networks, SGD replicas, FER metrics.")
    from ferlab import __version__
    parser.add_argument("--version", action="version", version=f"ferlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"ferlab.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"ferlab.cli.{name}":
                raise
            continue
        mod.register(sub)
    return parser


def _join_negative_values(argv: list[str]) -> list[str]:
    """`--window -0.5,0.5,-1,1` -> `--window=-0.5,0.5,-1,1`: argparse would read the value as
    an option because it starts with '-' and is not a plain number."""
    out: list[str] = []
    for tok in argv:
        if (out and out[-1].startswith("--") and "=" not in out[-1]
                and re.fullmatch(r"-[\d.][\d.eE+\-]*(,[-+\d.eE]+)+", tok)):
            out[-1] = f"{out[-1]}={tok}"
        else:
            out.append(tok)
    return out


def main(argv=None) -> int:
    parser = build_parser()
    argv = _join_negative_values(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from ferlab.engine import limit_blas_threads

    # ferlab's numpy products are small and many: OpenBLAS's threads only fight over them
    # (`ferlab render` ran 1.8x slower with them).
    limit_blas_threads(1)
    try:
        result = args.func(args)
    except KeyboardInterrupt:
        print("ferlab: interrupted", file=sys.stderr)
        return 130
    except _user_errors() as e:
        if os.environ.get("FERLAB_DEBUG"):
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, KeyError):
            msg = f"not found: {msg}"
        print(f"ferlab {args.command}: error: {msg}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
