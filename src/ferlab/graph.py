"""Traversals of a genome's graph: incoming links, topological order, depths, ancestors.

The one place that walks a NEAT graph; the genome, the engine, layerize and the operators
call these instead of keeping their own walks. Pure functions over a :class:`Genome`.
"""
from __future__ import annotations

from typing import Iterable

from ferlab.genome import GeneId, Genome, GenomeError, fmt_id


def incoming(genome: Genome) -> dict[GeneId, list[int]]:
    """node id -> indices of its incoming links."""
    inc: dict[GeneId, list[int]] = {n.id: [] for n in genome.nodes}
    for i, l in enumerate(genome.links):
        inc[l.target].append(i)
    return inc


def successors(genome: Genome) -> dict[GeneId, list[GeneId]]:
    """node id -> target node ids of its outgoing links."""
    out: dict[GeneId, list[GeneId]] = {n.id: [] for n in genome.nodes}
    for l in genome.links:
        out.setdefault(l.source, []).append(l.target)
    return out


def topological_order(genome: Genome) -> list[GeneId]:
    """Nodes ordered so every link goes forward; inputs first. Raises GenomeError on a cycle."""
    indeg = {n.id: 0 for n in genome.nodes}
    out: dict[GeneId, list[GeneId]] = {n.id: [] for n in genome.nodes}
    for l in genome.links:
        indeg[l.target] += 1
        out[l.source].append(l.target)
    order = [n.id for n in genome.nodes if n.kind == "in"]
    order += [n.id for n in genome.nodes if n.kind != "in" and indeg[n.id] == 0]
    i = 0
    while i < len(order):
        for t in out[order[i]]:
            indeg[t] -= 1
            if indeg[t] == 0:
                order.append(t)
        i += 1
    if len(order) != len(genome.nodes):
        stuck = [fmt_id(g) for g, d in indeg.items() if d > 0]
        raise GenomeError(f"genome has a cycle through node(s) {', '.join(stuck[:5])}")
    return order


def depths(genome: Genome) -> dict[GeneId, int]:
    """Layer of each node: inputs 0, else 1 + the deepest source (1 with no sources)."""
    inc = incoming(genome)
    kinds = {n.id: n.kind for n in genome.nodes}
    depth: dict[GeneId, int] = {}
    for gid in topological_order(genome):
        if kinds[gid] == "in":
            depth[gid] = 0
        else:
            depth[gid] = 1 + max((depth[genome.links[i].source] for i in inc[gid]), default=0)
    return depth


def ancestors(genome: Genome, roots: Iterable[GeneId]) -> set[GeneId]:
    """The roots and every node with a path to one of them."""
    inc = incoming(genome)
    seen: set[GeneId] = set()
    stack = list(roots)
    while stack:
        t = stack.pop()
        if t not in seen:
            seen.add(t)
            stack.extend(genome.links[i].source for i in inc[t])
    return seen


def reaches(out: dict[GeneId, list[GeneId]], start: GeneId, goal: GeneId) -> bool:
    """True if a directed path leads from ``start`` to ``goal`` over an adjacency map
    (node -> targets, e.g. :func:`successors`); start == goal counts."""
    seen, stack = {start}, [start]
    while stack:
        n = stack.pop()
        if n == goal:
            return True
        for t in out.get(n, ()):
            if t not in seen:
                seen.add(t)
                stack.append(t)
    return False


def structure_key(genome: Genome) -> tuple:
    """A hashable key of the graph without its weights: equal keys compile to the same plan."""
    return (tuple((n.id, n.kind, n.activation, n.label) for n in genome.nodes),
            tuple((l.source, l.target) for l in genome.links))
