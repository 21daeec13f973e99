"""The ``ferlab`` command: parse, call one library function, print.

Each area registers its subcommands from its own module (``register(subparsers)``), so the
command grows without one file that everybody edits. Bad input never shows a traceback: the
errors below become one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import errno
import importlib
import os
import re
import sys
from pathlib import Path

#: Modules under ferlab.cli that add subcommands, in help order.
COMMAND_MODULES = ("backbone", "train", "analyse", "breed", "search", "adapt", "experiment")


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _accelerator_oom(e: BaseException) -> bool:
    # XLA reports an allocation failure as a RuntimeError subclass naming RESOURCE_EXHAUSTED.
    return isinstance(e, RuntimeError) and "RESOURCE_EXHAUSTED" in str(e)


def error_message(e: BaseException) -> str | None:
    """The one line a user sees for an exception from bad input or an exhausted resource,
    or None for a bug (which keeps its traceback)."""
    import sqlite3
    import zipfile
    import zlib

    from ferlab.store import StoreError

    text = " ".join(str(e).split())[:300]
    if isinstance(e, MemoryError) or _accelerator_oom(e):
        return "out of memory: the input is too large for this machine; lower --res or its size"
    if isinstance(e, OverflowError):
        return f"a number is too large: {text or 'overflow'}"
    if isinstance(e, RecursionError):
        return "input is nested too deeply"
    if isinstance(e, KeyError):
        return f"not found: {text}"
    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        return f"disk full while writing {e.filename or 'output'}: nothing was replaced"
    if isinstance(e, OSError) and e.strerror and e.filename:
        return f"{e.strerror}: {e.filename}"
    if type(e).__name__ == "DecompressionBombError":
        return f"image is too large: {text}"
    if isinstance(e, (CLIError, ValueError, IndexError, OSError, EOFError, zipfile.BadZipFile,
                      zlib.error, StoreError, sqlite3.Error, UnicodeError)):
        return text or type(e).__name__
    return None


def check_int_args(args) -> None:
    """Every integer option fits a signed 64-bit value and every seed is non-negative: the
    libraries below (numpy, JAX, SQLite) would otherwise fail late with OverflowError."""
    for name, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, int) and not isinstance(v, bool):
                flag = "--" + name.replace("_", "-")
                if not -2**63 < v < 2**63:
                    raise CLIError(f"{flag} {v} is out of range")
                if name == "seed" and not 0 <= v < 2**63:
                    raise CLIError(f"--seed must be 0..{2**63 - 1}, got {v}")


def check_output(path, folder: bool = False) -> Path:
    """The one output rule of every command, checked before any work: the output's folder
    must already exist and be writable; a file output must not name a folder, a folder
    output must not name a file. Outputs are written atomically, so existing files are only
    ever replaced whole."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if folder:
        if path.exists() and not path.is_dir():
            raise CLIError(f"output {path} exists and is not a folder")
        if not path.exists():
            parent = path.parent
    elif path.is_dir():
        raise CLIError(f"output {path} is a folder; give a file name")
    if not folder or not path.exists():
        if not parent.is_dir():
            raise CLIError(f"output folder {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise CLIError(f"output folder {parent} is not writable")
    elif not os.access(path, os.W_OK | os.X_OK):
        raise CLIError(f"output folder {path} is not writable")
    return path


#: Commands whose -o names a folder (the others write one file).
FOLDER_OUTPUTS = ("train", "demo", "search", "experiment")


def _check_outputs(args) -> None:
    if getattr(args, "output", None):
        check_output(args.output, folder=args.command in FOLDER_OUTPUTS)
    if getattr(args, "figures", None):
        check_output(args.figures, folder=True)


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
        check_int_args(args)
        _check_outputs(args)
        result = args.func(args)
    except KeyboardInterrupt:
        print("ferlab: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the one place errors become messages
        msg = error_message(e)
        if msg is None or os.environ.get("FERLAB_DEBUG"):
            raise
        print(f"ferlab {args.command}: error: {msg.splitlines()[0]}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
