"""An experiment config (TOML) -> a plan: the list of cells, each a pure function of its config.

    [experiment]
    name = "paper comparison"
    genomes = ["../shared/picbreeder/cppnx/*.xml"]   # paths or globs, relative to this file
    seeds = [0, 1, 2]                                # or a count: seeds = 3

    [train]                                          # one table per step (see steps.STEPS)
    recipe = "fast"
    res = 64

    [metrics]
    res = 32

    [grid]                                           # optional extra axes: "step.setting" = [values]
    "train.lr" = [0.01, 0.02]

A cell is (genome, seed, one value of every grid axis) with every step's settings filled in.
Its hash covers the genome file's *content*, the seed and the settings, so renaming a file or
reordering a config does not re-run anything, while any change that can alter a result does.
"""
from __future__ import annotations

import glob
import hashlib
import itertools
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ferlab.experiment.steps import STEPS, StepError

#: Bumped when a cell's meaning changes (a step computes something else): old rows then no
#: longer count as done.
CELL_FORMAT = 1
#: Refuse grids that are surely a typo (a glob over a home folder, a seed range of 10^6).
MAX_CELLS = 100_000
MAX_CONFIG_BYTES = 1 << 20


class ConfigError(ValueError):
    """A bad experiment config; the message is one line naming the setting at fault."""


@dataclass(frozen=True)
class Cell:
    """One unit of work: plain data, picklable, the same on every executor."""

    hash: str
    genome: str  # display name (file stem)
    genome_path: str
    genome_sha256: str
    seed: int
    steps: tuple[tuple[str, dict], ...]  # (step name, full settings) in run order
    vary: dict = field(default_factory=dict)  # this cell's value of every grid axis

    def config(self) -> dict:
        """What the hash covers."""
        return {"format": CELL_FORMAT, "genome_sha256": self.genome_sha256, "seed": self.seed,
                "steps": [[name, params] for name, params in self.steps]}

    def to_dict(self) -> dict:
        return {"hash": self.hash, "genome": self.genome, "genome_path": self.genome_path,
                "genome_sha256": self.genome_sha256, "seed": self.seed,
                "steps": [[n, p] for n, p in self.steps], "vary": self.vary}

    @classmethod
    def from_dict(cls, d: dict) -> "Cell":
        return cls(d["hash"], d["genome"], d["genome_path"], d["genome_sha256"], int(d["seed"]),
                   tuple((n, dict(p)) for n, p in d["steps"]), dict(d.get("vary", {})))


@dataclass(frozen=True)
class Plan:
    name: str
    cells: tuple[Cell, ...]
    source: str  # the config text, kept with the results
    axes: tuple[str, ...] = ()  # grid axis names ("train.lr", ...)


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def cell_hash(config: dict) -> str:
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------ parsing
def load_plan(path) -> Plan:
    """Read and validate a config file; every problem is a one-line :class:`ConfigError`."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path.name} is {size} bytes: not an experiment config")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name} is not UTF-8 text") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder, not a config file") from None
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}") from None
    return parse_plan(text, base=path.resolve().parent)


def parse_plan(text: str, base=".") -> Plan:
    """A config's text -> :class:`Plan`; relative genome paths are taken from ``base``."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not valid TOML: {e}") from None
    known = ("experiment", "grid", *STEPS)
    for key, value in doc.items():
        if key not in known:
            raise ConfigError(f"unknown section [{key}] (known: {', '.join(known)})")
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table ([{key}]), got {type(value).__name__}")
    exp = doc.get("experiment")
    if exp is None:
        raise ConfigError("missing [experiment] table (with genomes and seeds)")
    unknown = set(exp) - {"name", "genomes", "seeds"}
    if unknown:
        raise ConfigError(f"[experiment]: unknown setting {sorted(unknown)[0]!r} "
                          "(known: name, genomes, seeds)")
    name = exp.get("name", "experiment")
    if not isinstance(name, str):
        raise ConfigError("[experiment] name must be a string")
    genomes = _genome_files(exp.get("genomes"), Path(base))
    seeds = _seeds(exp.get("seeds"))

    step_names = [s for s in STEPS if s in doc]
    if not step_names:
        raise ConfigError(f"no steps: add at least one of [{'], ['.join(STEPS)}]")
    settings = {}
    for s in step_names:
        try:
            settings[s] = STEPS[s].settings(doc[s])
        except StepError as e:
            raise ConfigError(f"[{s}] {e}") from None
    for s in step_names:
        missing = [r for r in STEPS[s].requires if r not in settings]
        if missing:
            raise ConfigError(f"[{s}] needs the [{missing[0]}] step")

    axes = _axes(doc.get("grid", {}), settings)
    combos = [dict(zip(axes, values)) for values in itertools.product(*axes.values())]
    n = len(genomes) * len(seeds) * len(combos)
    if n > MAX_CELLS:
        raise ConfigError(f"{n} cells: more than the limit of {MAX_CELLS}")

    # Settings are checked once per grid value (the raw table plus that value's overrides).
    combo_steps = []
    for combo in combos:
        steps = []
        for s in step_names:
            over = {k.split(".", 1)[1]: v for k, v in combo.items() if k.split(".", 1)[0] == s}
            try:
                steps.append((s, STEPS[s].settings({**doc[s], **over})))
            except StepError as e:
                raise ConfigError(f"[grid] {s}: {e}") from None
        combo_steps.append((combo, tuple(steps)))
    cells, seen = [], set()
    for (gname, gpath, gsha), seed, (combo, steps) in itertools.product(genomes, seeds, combo_steps):
        h = cell_hash(Cell("", gname, gpath, gsha, seed, steps, combo).config())
        if h in seen:  # the same file reached twice (two globs, or a copy): one cell
            continue
        seen.add(h)
        cells.append(Cell(h, gname, gpath, gsha, seed, steps, combo))
    return Plan(name, tuple(cells), text, tuple(axes))


def _genome_files(spec, base: Path) -> list[tuple[str, str, str]]:
    """(name, absolute path, sha256 of the bytes) of every genome file, in config order."""
    if spec is None:
        raise ConfigError("[experiment] needs genomes = [paths or globs]")
    if isinstance(spec, str):
        spec = [spec]
    if not isinstance(spec, list) or not spec or not all(isinstance(s, str) and s for s in spec):
        raise ConfigError("[experiment] genomes must be a non-empty list of paths or globs")
    out, seen = [], set()
    for pattern in spec:
        full = os.path.join(base, os.path.expanduser(pattern))
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(full))
            if not matches:
                raise ConfigError(f"genomes: {pattern!r} matches no file")
        else:
            matches = [full]
        for m in matches:
            p = Path(m).resolve()
            if p in seen:
                continue
            if not p.is_file():
                raise ConfigError(f"genomes: {pattern!r}: {p} is not a file")
            seen.add(p)
            try:
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
            except OSError as e:
                raise ConfigError(f"genomes: cannot read {p}: {e.strerror or e}") from None
            out.append((p.stem, str(p), digest))
    # Names label rows and plot groups: two files with one stem get their folder too.
    stems = [name for name, _, _ in out]
    return [(f"{Path(path).parent.name}/{name}" if stems.count(name) > 1 else name, path, digest)
            for name, path, digest in out]


def _seeds(spec) -> list[int]:
    if spec is None:
        return [0]
    if isinstance(spec, int) and not isinstance(spec, bool):
        if not 1 <= spec <= MAX_CELLS:
            raise ConfigError(f"seeds = {spec}: give a count from 1 or a list of seeds")
        return list(range(spec))
    if (not isinstance(spec, list) or not spec
            or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**31 for s in spec)):
        raise ConfigError("[experiment] seeds must be a count or a non-empty list of integers 0..2^31-1")
    if len(set(spec)) != len(spec):
        raise ConfigError("[experiment] seeds has duplicates")
    return list(spec)


def _axes(grid: dict, settings: dict) -> dict[str, list]:
    axes = {}
    for key, values in grid.items():
        step, _, setting = key.partition(".")
        if not setting:
            raise ConfigError(f"[grid] {key!r}: name an axis as \"step.setting\", e.g. \"train.lr\"")
        if step not in settings:
            raise ConfigError(f"[grid] {key!r}: no [{step}] step in this config")
        if setting not in STEPS[step].defaults:
            raise ConfigError(f"[grid] {key!r}: [{step}] has no setting {setting!r}")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"[grid] {key!r} must be a non-empty list of values")
        try:
            if len({canonical_json(v) for v in values}) != len(values):
                raise ConfigError(f"[grid] {key!r} has duplicate values")
        except (TypeError, ValueError):
            raise ConfigError(f"[grid] {key!r}: values must be numbers, strings or booleans") from None
        axes[key] = values
    return axes
