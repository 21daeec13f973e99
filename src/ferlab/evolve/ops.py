"""Picbreeder's evolution operators over :class:`ferlab.genome.Genome`, as pure functions.

Every operator takes a ``numpy.random.Generator`` and an :class:`Innovations` counter and
returns the new genome with the advanced counter, so a whole lineage replays exactly from a
seed. New genes get ids ``(branch, n)`` from the counter: a branch is owned by one breeding
series, so ids stay unique across everything bred from it (Picbreeder's scheme), and a bred
genome saves as Picbreeder XML that other tools load.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from ferlab.activations import GENOME_ACTIVATIONS
from ferlab.graph import reaches, successors
from ferlab.genome import (COLOUR_OUTPUTS, GREY_OUTPUTS, INPUT_LABELS, GeneId, Genome,
                           GenomeError, Link, Node)

#: Weights live in Picbreeder's range.
WEIGHT_LIMIT = 3.0
#: Chance that weight mutation touches a given link.
PERTURB_RATE = 0.2
#: Standard deviation of a weight change at mutation strength 1.
PERTURB_SCALE = 1.0
#: Mutation kinds and their relative weights (Picbreeder's proportions).
MUTATIONS = (("weights", 10.0), ("add_link", 6.0), ("add_node", 4.0), ("activation", 1.0))
#: Largest accepted user mutation strength.
MAX_STRENGTH = 2.0
#: Activations a new or re-drawn node may get; identity adds nothing to a picture.
NEW_ACTIVATIONS = tuple(a for a in GENOME_ACTIVATIONS if a != "identity")


@dataclass(frozen=True)
class Innovations:
    """Where the next new gene id of a breeding series comes from."""

    branch: int
    next_id: int = 1

    def take(self, n: int = 1) -> tuple[list[GeneId], "Innovations"]:
        ids = [(self.branch, self.next_id + k) for k in range(n)]
        return ids, replace(self, next_id=self.next_id + n)

    @classmethod
    def after(cls, genomes: Sequence[Genome], branch: int) -> "Innovations":
        """A counter for ``branch`` that cannot collide with any id already in ``genomes``."""
        used = [g[1] for gen in genomes for g in _all_ids(gen) if g[0] == branch]
        return cls(branch, max(used, default=0) + 1)


def _all_ids(genome: Genome):
    yield from (n.id for n in genome.nodes)
    yield from (l.id for l in genome.links)
    if genome.id is not None:
        yield genome.id


def max_branch(genome: Genome) -> int:
    """The largest branch number used by any gene of ``genome`` (0 if none)."""
    return max((g[0] for g in _all_ids(genome)), default=0)


def rebranch(genome: Genome, old: int, new: int) -> Genome:
    """Rename every gene id of branch ``old`` to branch ``new`` (same numbers, same graph).

    Lets a screen be bred before its branch number is final: the store claims the branch
    at commit time and the ids are relabelled then, with no re-rendering.
    """
    if old == new:
        return genome

    def f(g):
        return (new, g[1]) if g is not None and g[0] == old else g

    nodes = tuple(replace(n, id=f(n.id)) for n in genome.nodes)
    links = tuple(replace(l, id=f(l.id), source=f(l.source), target=f(l.target)) for l in genome.links)
    return replace(genome, nodes=nodes, links=links, id=f(genome.id),
                   parents=tuple(f(p) for p in genome.parents))


def _age(genomes: Sequence[Genome]) -> int:
    ages = []
    for g in genomes:
        try:
            ages.append(int(g.meta.get("age", 0)))
        except (TypeError, ValueError):
            ages.append(0)
    return max(ages, default=0)


def _clamp(w: float) -> float:
    return float(min(WEIGHT_LIMIT, max(-WEIGHT_LIMIT, w)))


def _finish(genome: Genome, parents: Sequence[Genome], innov: Innovations) -> tuple[Genome, Innovations]:
    """Stamp a child with its own id, its parents' ids and its age."""
    (gid,), innov = innov.take(1)
    meta = {"age": str(_age(parents) + 1)}
    if "phenotype" in parents[0].meta:
        meta["phenotype"] = parents[0].meta["phenotype"]
    pids = tuple(p.id for p in parents if p.id is not None)
    return replace(genome, id=gid, parents=pids, meta=meta), innov


# ---------------------------------------------------------------------------- starting genome
def initial_genome(rng: np.random.Generator, innov: Innovations,
                   colour: bool = False) -> tuple[Genome, Innovations]:
    """Picbreeder's starting point: x, y, d, bias wired straight to the outputs.

    Weights are uniform in [-3, 3]; outputs get a random non-identity activation so that a
    screen of fresh genomes already differs in kind, not only in weights.
    """
    outs = COLOUR_OUTPUTS if colour else GREY_OUTPUTS
    ids, innov = innov.take(len(INPUT_LABELS) + len(outs))
    nodes = [Node(ids[i], "in", "identity", lab) for i, lab in enumerate(INPUT_LABELS)]
    for j, lab in enumerate(outs):
        act = NEW_ACTIVATIONS[int(rng.integers(len(NEW_ACTIVATIONS)))]
        nodes.append(Node(ids[len(INPUT_LABELS) + j], "out", act, lab))
    pairs = [(s, t) for t in nodes[len(INPUT_LABELS):] for s in nodes[:len(INPUT_LABELS)]]
    link_ids, innov = innov.take(len(pairs))
    ws = rng.uniform(-WEIGHT_LIMIT, WEIGHT_LIMIT, len(pairs))
    links = [Link(lid, s.id, t.id, float(w)) for lid, (s, t), w in zip(link_ids, pairs, ws)]
    meta = {"age": "0", "phenotype": "color" if colour else "grey"}
    (gid,), innov = innov.take(1)
    return Genome(tuple(nodes), tuple(links), (), gid, (), meta), innov


def _redraw(genome: Genome, rng: np.random.Generator, gid: GeneId) -> Genome:
    """The same starting structure with fresh weights and output activations."""
    nodes = tuple(replace(n, activation=NEW_ACTIVATIONS[int(rng.integers(len(NEW_ACTIVATIONS)))])
                  if n.kind == "out" else n for n in genome.nodes)
    ws = rng.uniform(-WEIGHT_LIMIT, WEIGHT_LIMIT, len(genome.links))
    links = tuple(replace(l, weight=float(w)) for l, w in zip(genome.links, ws))
    return replace(genome, nodes=nodes, links=links, id=gid)


# -------------------------------------------------------------------------------- graph helpers
def _reaches(genome: Genome, start: GeneId, goal: GeneId) -> bool:
    """True if a directed path leads from ``start`` to ``goal`` (start == goal counts)."""
    return reaches(successors(genome), start, goal)


def _can_link(genome: Genome, kinds: dict, linked: set, s: GeneId, t: GeneId) -> bool:
    return (s != t and kinds[s] != "out" and kinds[t] != "in" and (s, t) not in linked
            and not _reaches(genome, t, s))


# ------------------------------------------------------------------------------------ mutations
def perturb_weights(genome: Genome, rng: np.random.Generator, strength: float = 1.0) -> Genome:
    """Move each link's weight with probability 0.2 by N(0, strength), clamped to [-3, 3].

    At least one link moves, so a child never silently equals its parent.
    """
    n = len(genome.links)
    if n == 0:
        return genome
    hit = rng.random(n) < PERTURB_RATE
    if not hit.any():
        hit[int(rng.integers(n))] = True
    deltas = rng.normal(0.0, PERTURB_SCALE * float(strength), n)
    links = tuple(replace(l, weight=_clamp(l.weight + d)) if h else l
                  for l, h, d in zip(genome.links, hit, deltas))
    return replace(genome, links=links)


def add_link(genome: Genome, rng: np.random.Generator, innov: Innovations,
             strength: float = 1.0) -> tuple[Genome, Innovations] | None:
    """Connect two unconnected nodes without making a cycle; None if the graph is full."""
    kinds = {n.id: n.kind for n in genome.nodes}
    linked = {(l.source, l.target) for l in genome.links}
    sources = [n.id for n in genome.nodes if n.kind != "out"]
    targets = [n.id for n in genome.nodes if n.kind != "in"]
    pair = None
    for _ in range(32):  # cheap random probes first; dense graphs fall through to a full scan
        s, t = sources[int(rng.integers(len(sources)))], targets[int(rng.integers(len(targets)))]
        if _can_link(genome, kinds, linked, s, t):
            pair = (s, t)
            break
    if pair is None:
        ok = [(s, t) for s in sources for t in targets if _can_link(genome, kinds, linked, s, t)]
        if not ok:
            return None
        pair = ok[int(rng.integers(len(ok)))]
    (lid,), innov = innov.take(1)
    w = _clamp(rng.uniform(-1.0, 1.0) * WEIGHT_LIMIT * float(strength) / 2.0)
    return replace(genome, links=genome.links + (Link(lid, pair[0], pair[1], w),)), innov


def add_node(genome: Genome, rng: np.random.Generator, innov: Innovations,
             strength: float = 1.0) -> tuple[Genome, Innovations] | None:
    """Split a link s -> t with a new node n (s -> n -> t); Picbreeder keeps the old link.

    s -> n gets weight 1 so n sees what t saw; n -> t starts small so the picture changes
    by a step the user's strength controls.
    """
    if not genome.links:
        return None
    old = genome.links[int(rng.integers(len(genome.links)))]
    (nid, l1, l2), innov = innov.take(3)
    act = NEW_ACTIVATIONS[int(rng.integers(len(NEW_ACTIVATIONS)))]
    w2 = _clamp(rng.normal(0.0, float(strength)))
    node = Node(nid, "hidden", act)
    links = genome.links + (Link(l1, old.source, nid, 1.0), Link(l2, nid, old.target, w2))
    return replace(genome, nodes=genome.nodes + (node,), links=links), innov


def change_activation(genome: Genome, rng: np.random.Generator) -> Genome | None:
    """Give one hidden or output node a different activation function."""
    cands = [i for i, n in enumerate(genome.nodes) if n.kind != "in"]
    if not cands:
        return None
    i = cands[int(rng.integers(len(cands)))]
    old = genome.nodes[i]
    choices = [a for a in NEW_ACTIVATIONS if a != old.activation]
    new = replace(old, activation=choices[int(rng.integers(len(choices)))])
    return replace(genome, nodes=genome.nodes[:i] + (new,) + genome.nodes[i + 1:])


def mutate(genome: Genome, rng: np.random.Generator, innov: Innovations,
           strength: float = 1.0) -> tuple[Genome, Innovations, str]:
    """One mutation drawn by Picbreeder's weights; returns (child, counter, kind used).

    A structural mutation that cannot apply (e.g. no link left to add) falls back to a
    weight change, so every call yields a changed child. Strength 0 means no mutation at
    all (kind ``"none"``): with several parents the screen is then crossover only.
    """
    if float(strength) == 0.0:
        return genome, innov, "none"
    names = [m for m, _ in MUTATIONS]
    p = np.array([w for _, w in MUTATIONS])
    kind = names[int(rng.choice(len(names), p=p / p.sum()))]
    out = None
    if kind == "add_link":
        out = add_link(genome, rng, innov, strength)
    elif kind == "add_node":
        out = add_node(genome, rng, innov, strength)
    elif kind == "activation":
        g = change_activation(genome, rng)
        out = None if g is None else (g, innov)
    if out is None:
        kind = "weights"
        out = (perturb_weights(genome, rng, float(strength)), innov)
    return out[0], out[1], kind


# ------------------------------------------------------------------------------------ crossover
def _align_io(base: Genome, other: Genome) -> Genome:
    """Rename ``other``'s input/output nodes to ``base``'s ids (matched by label)."""
    if base.is_colour != other.is_colour:
        raise GenomeError("cannot cross a colour genome with a greyscale one")
    want = {**base.input_ids(), **{"out:" + k: v for k, v in base.output_ids().items()}}
    have = {**other.input_ids(), **{"out:" + k: v for k, v in other.output_ids().items()}}
    ren = {have[k]: want[k] for k in want if have[k] != want[k]}
    if not ren:
        return other
    clash = {n.id for n in other.nodes if n.kind == "hidden"} & set(ren.values())
    if clash:
        raise GenomeError("cannot cross genomes whose input/output ids clash with hidden nodes")
    nodes = tuple(replace(n, id=ren.get(n.id, n.id)) for n in other.nodes)
    links = tuple(replace(l, source=ren.get(l.source, l.source), target=ren.get(l.target, l.target))
                  for l in other.links)
    return replace(other, nodes=nodes, links=links)


def crossover(parents: Sequence[Genome], rng: np.random.Generator) -> Genome:
    """Union of the parents' genes by id.

    A link several parents share gets the mean of their weights; a shared node takes its
    activation from a random one of them. Links only one parent has come along unless they
    would close a cycle with the rest (parents bred apart can disagree on direction).
    """
    if not parents:
        raise ValueError("crossover needs at least one parent")
    base = parents[0]
    others = [_align_io(base, p) for p in parents[1:]]
    ps = [base, *others]
    node_order: list[GeneId] = []
    node_versions: dict[GeneId, list[Node]] = {}
    for p in ps:
        for n in p.nodes:
            if n.id not in node_versions:
                node_order.append(n.id)
                node_versions[n.id] = []
            node_versions[n.id].append(n)
    nodes = []
    for nid in node_order:
        vs = node_versions[nid]
        pick = vs[int(rng.integers(len(vs)))] if len(vs) > 1 else vs[0]
        # Kind and label must agree with the first parent's copy; only the activation varies.
        nodes.append(replace(vs[0], activation=pick.activation))
    link_order: list[GeneId] = []
    link_versions: dict[GeneId, list[Link]] = {}
    for p in ps:
        for l in p.links:
            if l.id not in link_versions:
                link_order.append(l.id)
                link_versions[l.id] = []
            link_versions[l.id].append(l)
    first = {l.id for l in base.links}
    links: list[Link] = []
    out: dict[GeneId, list[GeneId]] = {}
    pairs: set = set()

    kinds = {n.id: n.kind for n in nodes}
    for lid in link_order:
        vs = link_versions[lid]
        l0 = vs[0]
        same = [v for v in vs if (v.source, v.target) == (l0.source, l0.target)]
        w = float(np.mean([v.weight for v in same]))
        link = replace(l0, weight=_clamp(w))
        if lid not in first:
            # Links unique to other parents must not duplicate an edge or close a cycle.
            if ((link.source, link.target) in pairs or kinds[link.target] == "in"
                    or reaches(out, link.target, link.source)):
                continue
        links.append(link)
        pairs.add((link.source, link.target))
        out.setdefault(link.source, []).append(link.target)
    buttons = {b.id: b for p in ps for b in reversed(p.buttons)}
    return Genome(tuple(nodes), tuple(links), tuple(sorted(buttons.values(), key=lambda b: b.id)),
                  base.id, base.parents, dict(base.meta))


# -------------------------------------------------------------------------------------- breeding
def child(parents: Sequence[Genome], rng: np.random.Generator, innov: Innovations,
          strength: float = 1.0) -> tuple[Genome, Innovations]:
    """One child: crossover of two random selected parents (if several), then one mutation."""
    if len(parents) > 1:
        i, j = rng.choice(len(parents), size=2, replace=False)
        pair = [parents[int(i)], parents[int(j)]]
        base = crossover(pair, rng)
    else:
        pair = [parents[0]]
        base = parents[0]
    g, innov, _ = mutate(base, rng, innov, strength)
    return _finish(g, pair, innov)


def breed(parents: Sequence[Genome], n: int, seed, innov: Innovations,
          strength: float = 1.0) -> tuple[list[Genome], Innovations]:
    """The next screen: ``n`` children of the selected ``parents``, reproducible from ``seed``."""
    if not parents:
        raise ValueError("select at least one parent")
    if not 0.0 <= float(strength) <= MAX_STRENGTH:
        raise ValueError(f"mutation strength must be in [0, {MAX_STRENGTH}], got {strength}")
    rng = np.random.default_rng(seed)
    kids = []
    for _ in range(int(n)):
        g, innov = child(parents, rng, innov, strength)
        kids.append(g)
    return kids, innov


def first_screen(n: int, seed, innov: Innovations, colour: bool = False,
                 root: Genome | None = None, strength: float = 1.0) -> tuple[list[Genome], Innovations]:
    """A starting screen: ``n`` fresh genomes, or ``root`` followed by ``n - 1`` of its children
    (Picbreeder's branching from a published or imported image)."""
    rng = np.random.default_rng(seed)
    if root is None:
        # One set of gene ids for the whole screen (NEAT's shared starting innovations), so
        # the same id names the same gene in every genome that crossover may later combine.
        first, innov = initial_genome(rng, innov, colour)
        out = [first]
        for _ in range(int(n) - 1):
            (gid,), innov = innov.take(1)
            out.append(_redraw(first, rng, gid))
        return out, innov
    kids = [root]
    for _ in range(int(n) - 1):
        g, innov = child([root], rng, innov, strength)
        kids.append(g)
    return kids, innov
