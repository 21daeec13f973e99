"""Data flows one way: core -> io -> engine -> analysis -> apps. Walk every import (ast) and
fail on a module that reaches up a layer, on an app that imports a sibling app it sits beside
(demo and web never import cli), and on any reach into another unit's private names."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ferlab"

#: Unit (first name under ferlab) -> layer. A new unit must be placed here.
LAYERS = {
    "core": ("activations", "canvas", "colour", "genome", "graph", "dense", "layerize",
             "atomic", "limits", "npzfile"),
    "io": ("io", "picbreeder", "files", "store"),
    "engine": ("engine", "render", "network"),
    "analysis": ("sweep", "metrics", "figures", "report", "train", "evolve",
                 "search", "adapt", "experiment"),
    "apps": ("cli", "web", "demo", "__main__"),
}
RANK = {unit: i for i, names in enumerate(LAYERS.values()) for unit in names}
#: Apps that must not import another app (the CLI sits on top and may import both).
APP_FORBIDDEN = {"demo": {"cli", "web"}, "web": {"cli", "demo"}}


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(tree: ast.AST, module: str, is_pkg: bool):
    """(line, imported module, imported name or None) for every ferlab import, and the aliases
    bound to ferlab modules (for attribute access checks)."""
    pkg = module if is_pkg else module.rpartition(".")[0]
    out, aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "ferlab":
                    out.append((node.lineno, a.name, None))
                    if a.asname:
                        aliases[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = pkg.split(".")
                up = up[: len(up) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            if base.split(".")[0] != "ferlab":
                continue
            for a in node.names:
                out.append((node.lineno, base, a.name))
                aliases[a.asname or a.name] = f"{base}.{a.name}"
    return out, aliases


def _unit(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def violations(root: Path) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root)
        unit = _unit(module)
        if unit is None:  # the package root re-exports the public API; it sits above all
            continue
        if unit not in RANK:
            bad.append(f"{module}: unit {unit!r} is in no layer (add it to LAYERS)")
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        found, aliases = _imports(tree, module, path.name == "__init__.py")
        for line, target, name in found:
            where = f"{module}:{line}"
            full = f"{target}.{name}" if name else target
            tunit = _unit(target) or (_unit(full) if name else None)
            if tunit is None:
                if RANK[unit] < RANK["cli"]:
                    bad.append(f"{where} imports the ferlab package root from below the apps")
                continue
            if tunit not in RANK:
                continue  # reported where that unit is defined
            if RANK[tunit] > RANK[unit] and LAYERS_OF[tunit] != LAYERS_OF[unit]:
                bad.append(f"{where} ({LAYERS_OF[unit]}) reaches up into {full} ({LAYERS_OF[tunit]})")
            if tunit in APP_FORBIDDEN.get(unit, ()):
                bad.append(f"{where}: app {unit} imports app {tunit}")
            private = [p for p in full.split(".")[1:] if p.startswith("_") and not p.startswith("__")]
            if private and tunit != unit:
                bad.append(f"{where} uses {full}, a private name of another unit")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and _unit(aliases[node.value.id]) not in (None, unit)):
                bad.append(f"{module}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}, "
                           "a private name of another unit")
    return bad


LAYERS_OF = {unit: layer for layer, names in LAYERS.items() for unit in names}


def test_every_import_flows_one_way():
    bad = violations(SRC)
    assert not bad, "layering violations:\n" + "\n".join(bad)


@pytest.mark.parametrize("files, expected", [
    ({"genome.py": "from ferlab.engine import render\n"}, "reaches up"),
    ({"engine/__init__.py": "", "engine/x.py": "from ferlab.sweep import frames\n"}, "reaches up"),
    ({"demo.py": "from ferlab.cli.backbone import save_png\n"}, "app demo imports app cli"),
    ({"metrics.py": "from ferlab.sweep import _structure\n"}, "private name"),
    ({"report.py": "from ferlab import sweep as S\nS._cache.clear()\n"}, "private name"),
    ({"web/__init__.py": "", "web/imaging.py": "from ..evolve.batch import _pool\n"}, "private name"),
    ({"widgets.py": "import numpy\n"}, "in no layer"),
])
def test_the_checker_catches_each_kind_of_leak(tmp_path, files, expected):
    root = tmp_path / "ferlab"
    for name, text in {"__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    bad = violations(root)
    assert any(expected in b for b in bad), bad


def test_the_checker_allows_downward_and_same_unit_imports(tmp_path):
    root = tmp_path / "ferlab"
    files = {"__init__.py": "", "engine/__init__.py": "from ferlab.engine.plan import _helper\n",
             "engine/plan.py": "from ferlab.genome import Genome\n",
             "cli/__init__.py": "from ferlab import __version__\nfrom ferlab.web import app\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert violations(root) == []
