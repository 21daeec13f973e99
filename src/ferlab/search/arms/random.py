"""The floor: fresh random genomes with no selection, sized like a lineage of the same age.

A genome of generation g gets Binomial(g + 1, 4/21) hidden nodes and Binomial(g + 1, 6/21)
extra links, what g + 1 mutations drawn by Picbreeder's weights (10/6/4/1) add in
expectation, wired as a random DAG with every hidden node on a path from an input to an
output, and all weights uniform in [-3, 3].
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ferlab.evolve import Innovations, initial_genome
from ferlab.evolve.ops import MUTATIONS, NEW_ACTIVATIONS, WEIGHT_LIMIT
from ferlab.genome import Genome, Link, Node
from ferlab.search.state import SearchState

_W = dict(MUTATIONS)
P_NODE = _W["add_node"] / sum(_W.values())
P_LINK = _W["add_link"] / sum(_W.values())


def random_genome(rng: np.random.Generator, innov: Innovations, n_hidden: int, n_extra: int,
                  colour: bool = False) -> tuple[Genome, Innovations]:
    base, innov = initial_genome(rng, innov, colour)
    ins = [n.id for n in base.nodes if n.kind == "in"]
    outs = [n.id for n in base.nodes if n.kind == "out"]
    ids, innov = innov.take(n_hidden)
    hidden = [Node(i, "hidden", NEW_ACTIVATIONS[int(rng.integers(len(NEW_ACTIVATIONS)))]) for i in ids]
    order = ins + [n.id for n in hidden] + outs  # a topological order: links only go forward
    pos = {g: k for k, g in enumerate(order)}
    pairs = {(l.source, l.target) for l in base.links}
    new: list[tuple] = []
    n_in = len(ins)
    for k, h in enumerate(hidden):
        at = n_in + k
        src = order[int(rng.integers(at))]
        dst = order[int(rng.integers(at + 1, len(order)))]
        new += [(src, h.id), (h.id, dst)]
    for _ in range(3 * n_extra):
        if len(new) >= 2 * n_hidden + n_extra:
            break
        a, b = sorted(rng.integers(len(order), size=2).tolist())
        if a == b or a >= len(order) - len(outs) or b < n_in:
            continue
        new.append((order[a], order[b]))
    links = list(base.links)
    for s, t in new:
        if (s, t) in pairs:
            continue
        pairs.add((s, t))
        (lid,), innov = innov.take(1)
        links.append(Link(lid, s, t, 0.0))
    ws = rng.uniform(-WEIGHT_LIMIT, WEIGHT_LIMIT, len(links))
    links = tuple(replace(l, weight=float(w)) for l, w in zip(links, ws))
    assert all(pos[l.source] < pos[l.target] for l in links)
    return replace(base, nodes=base.nodes + tuple(hidden), links=links), innov


def propose(st: SearchState):
    g = st.generation + 1
    out = []
    for _ in range(st.config.batch):
        nh = int(st.rng.binomial(g, P_NODE))
        ne = int(st.rng.binomial(g, P_LINK))
        genome, st.innov = random_genome(st.rng, st.innov, nh, ne, st.config.colour)
        out.append(genome)
    return out
