"""The steps a cell can run, in one registry: a config table ``[name]`` turns a step on.

A step is its settings (name -> default and type), the steps it needs, and
``run(ctx, settings) -> {figure: number}``. Adding one (adapt probes, search arms) is a
function and a :func:`register` call; the config parser, the hash, the table and the summary
pick it up from here. Steps run in registration order, so a step comes after those it needs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable


class StepError(ValueError):
    """A bad step setting (one line)."""


@dataclass
class CellContext:
    """What a cell's steps share: the genome, the seed, earlier steps' products, files to keep."""

    genome: Any
    seed: int
    products: dict = field(default_factory=dict)  # e.g. "replica": the trained DenseCPPN
    files: dict = field(default_factory=dict)  # name -> bytes, written next to the cell's row


#: setting types: a Python type, or a tuple of them (None: the setting may be left out)
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[CellContext, dict], dict]
    defaults: dict  # setting -> (default, type)
    requires: tuple[str, ...] = ()
    check: Callable[[dict], dict] | None = None  # full settings -> normalised settings
    doc: str = ""

    def settings(self, given: dict) -> dict:
        """Defaults filled in, types checked, then the step's own check; StepError on a fault."""
        out = {}
        for key in given:
            if key not in self.defaults:
                raise StepError(f"unknown setting {key!r} (known: {', '.join(self.defaults)})")
        for key, (default, typ) in self.defaults.items():
            value = given.get(key, default)
            if value is not None:
                value = _typed(key, value, typ)
            out[key] = value
        return self.check(out) if self.check else out


def _typed(key, value, typ):
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if typ is int and isinstance(value, bool) or not isinstance(value, typ):
        raise StepError(f"{key} must be {_TYPE_NAMES.get(typ, typ.__name__)}, got {value!r}")
    if typ is float and not math.isfinite(value):
        raise StepError(f"{key} must be finite, got {value!r}")
    return value


STEPS: dict[str, Step] = {}


def register(step: Step) -> Step:
    STEPS[step.name] = step
    return step


# ---------------------------------------------------------------------------------- train
def _check_train(s: dict) -> dict:
    from ferlab.train import get_recipe

    try:
        recipe = get_recipe(s["recipe"] if isinstance(s["recipe"], str) else _recipe_from(s["recipe"]))
        recipe = recipe.with_overrides(steps=s.pop("steps"), res=s.pop("res"), lr=s.pop("lr"),
                                       batch=s.pop("batch"))
    except (ValueError, TypeError) as e:
        raise StepError(str(e)) from None
    from ferlab.train import DEFAULT_MAX_ATTEMPTS, DEFAULT_TARGET_MSE

    if s["stop_mse"] is not None and not s["stop_mse"] > 0:
        raise StepError(f"stop_mse must be positive, got {s['stop_mse']}")
    # train's defaults written into the cell, like the recipe: a later default is a new cell.
    s["target_mse"] = DEFAULT_TARGET_MSE if s["target_mse"] is None else s["target_mse"]
    s["max_attempts"] = DEFAULT_MAX_ATTEMPTS if s["max_attempts"] is None else s["max_attempts"]
    if not s["target_mse"] > 0:
        raise StepError(f"target_mse must be positive, got {s['target_mse']}")
    if s["max_attempts"] < 1:
        raise StepError(f"max_attempts must be at least 1, got {s['max_attempts']}")
    if s["arch"] is not None:
        from ferlab.dense import Arch, ArchError

        try:
            Arch.parse(s["arch"])
        except ArchError as e:
            raise StepError(str(e)) from None
    # The whole recipe goes into the cell (and its hash): a recipe redefined in a later
    # ferlab makes new cells instead of silently matching old rows.
    s["recipe"] = recipe.to_dict()
    return s


def _recipe_from(d):
    from ferlab.train import Recipe

    return Recipe.from_dict(d)


def _run_train(ctx: CellContext, s: dict) -> dict:
    from ferlab.train import train

    result = train(ctx.genome, _recipe_from(s["recipe"]), seed=ctx.seed, arch=s["arch"],
                   activation=s["activation"], stop_mse=s["stop_mse"],
                   target_mse=s["target_mse"], max_attempts=s["max_attempts"], progress=False)
    ctx.products["replica"] = result.net
    if s["save_net"]:
        ctx.files["replica.npz"] = npz_bytes(result.net)
    # A replica that ends dead or colourless is still a result (its status says so); the
    # seed it came from is the cell's seed plus the restarts before it.
    return {"final_mse": result.final_mse, "steps": result.steps, "stopped": result.stopped,
            "status": result.status, "attempts": len(result.attempts),
            "replica_seed": int(result.attempts[-1]["seed"]) if result.attempts else ctx.seed,
            "n_params": int(result.arch.n_params), "arch": str(result.arch)}


def npz_bytes(net) -> bytes:
    """The network's .npz (DenseCPPN.save's layout) as bytes: the driver writes the file, so
    workers on other machines need no shared disk."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="ferlab-cell-") as tmp:
        return net.save(Path(tmp) / "net.npz").read_bytes()


register(Step(
    "train", _run_train, requires=(), check=_check_train,
    doc="an SGD replica of the genome (ferlab.train); settings override the recipe",
    defaults={"recipe": ("fast", str), "steps": (None, int), "res": (None, int),
              "lr": (None, float), "batch": (None, int), "arch": (None, str),
              "activation": (None, str), "stop_mse": (None, float), "target_mse": (None, float),
              "max_attempts": (None, int), "save_net": (True, bool)}))


# -------------------------------------------------------------------------------- metrics
def _check_metrics(s: dict) -> dict:
    if not 8 <= s["res"] <= 256:
        raise StepError(f"res must be 8..256, got {s['res']}")
    return s


def _run_metrics(ctx: CellContext, s: dict) -> dict:
    from ferlab.metrics import BaselineCache, ConstantImageError, fer_metrics

    nets = {"evolved": ctx.genome}
    if "replica" in ctx.products:
        nets["sgd"] = ctx.products["replica"]
    baseline = BaselineCache(None) if s["baseline"] else None
    out = {}
    for who, net in nets.items():
        try:
            m = fer_metrics(net, res=s["res"], baseline=baseline)
        except ConstantImageError as e:  # e.g. a dead replica: the other network still counts
            out[f"{who}.skipped"] = str(e).splitlines()[0]
            continue
        out.update({f"{who}.{k}": v for k, v in m.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)})
    return out


register(Step(
    "metrics", _run_metrics, check=_check_metrics,
    doc="FER metrics and fer_score of the evolved genome (and of the SGD replica after train); "
        "baseline adds the random-init fer_score of the architecture",
    defaults={"res": (32, int), "baseline": (False, bool)}))


# --------------------------------------------------------------------------------- search
def _search_config(s: dict, seed: int):
    from ferlab.search import SearchConfig

    return SearchConfig(s["arm"], seed=seed, res=s["res"], batch=s["batch"])


def _check_search(s: dict) -> dict:
    try:
        _search_config(s, 0)
    except (ValueError, TypeError) as e:
        raise StepError(str(e)) from None
    if s["budget"] < 1:
        raise StepError(f"budget must be a positive number of evaluations, got {s['budget']}")
    return s


def _run_search(ctx: CellContext, s: dict) -> dict:
    from ferlab.search import run_search
    from ferlab.train import load_target

    # The cell's genome is the target: how close each arm comes to it, and what it covers.
    cfg = _search_config(s, ctx.seed)
    st = run_search(cfg, s["budget"], load_target(ctx.genome).image_at(cfg.res))
    return {k: v for k, v in st.history[-1].items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


register(Step(
    "search", _run_search, check=_check_search,
    doc="an open-ended search arm (ferlab.search: novelty, map-elites, target, random) seeded "
        "by the cell, with the genome's image as its target: coverage, best distance",
    defaults={"arm": ("novelty", str), "budget": (2048, int), "res": (64, int),
              "batch": (256, int)}))


# ---------------------------------------------------------------------------------- adapt
def _check_adapt(s: dict) -> dict:
    if not (s["radius"] >= 0 and s["n"] >= 1 and 8 <= s["res"] <= 256):
        raise StepError("adapt needs radius ≥ 0, n ≥ 1 and res 8..256")
    return s


def _run_adapt(ctx: CellContext, s: dict) -> dict:
    from ferlab.adapt import neighbourhood

    nets = {"evolved": ctx.genome}
    if "replica" in ctx.products:
        nets["sgd"] = ctx.products["replica"]
    out = {}
    for who, net in nets.items():
        nb = neighbourhood(net, radii=(s["radius"],), n=s["n"], res=s["res"], seed=ctx.seed)
        out.update({f"{who}.coherent_fraction": float(nb.coherent_fraction[0]),
                    f"{who}.diversity": float(nb.diversity[0]),
                    f"{who}.diversity_all": float(nb.diversity_all[0])})
    return out


register(Step(
    "adapt", _run_adapt, check=_check_adapt,
    doc="neighbourhood probe (ferlab.adapt): coherent fraction and diversity of images one "
        "filter-normalised step of this radius away, for the genome (and the replica)",
    defaults={"radius": (0.1, float), "n": (16, int), "res": (32, int)}))
