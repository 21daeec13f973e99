"""The NEAT graph of a CPPN as immutable data: nodes, links, human labels, provenance.

Gene ids are Picbreeder's (branch, id) pairs: a gene's branch is the published image series in
which it first appeared, so ids stay unique across a lineage. Everything here is pure; files
live in :mod:`ferlab.picbreeder`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from ferlab.activations import GENOME_ACTIVATIONS

GeneId = tuple[int, int]

INPUT_LABELS = ("x", "y", "d", "bias")
GREY_OUTPUTS = ("ink",)
COLOUR_OUTPUTS = ("hue", "saturation", "brightness")
KINDS = ("in", "hidden", "out")

#: Documented size limits: larger genomes are rejected before any work is done.
MAX_NODES = 5_000
MAX_LINKS = 50_000


class GenomeError(ValueError):
    """A genome that cannot be rendered; the message names the node or link at fault."""


def fmt_id(gid: GeneId) -> str:
    return f"{gid[0]}:{gid[1]}"


def parse_id(text: str) -> GeneId:
    """'576:30' -> (576, 30)."""
    try:
        branch, ident = str(text).split(":")
        return (int(branch), int(ident))
    except ValueError:
        raise GenomeError(f"bad gene id {text!r}: expected 'branch:id' with integers") from None


@dataclass(frozen=True)
class Node:
    id: GeneId
    kind: str  # 'in' | 'hidden' | 'out'
    activation: str = "identity"
    label: str = ""  # x, y, d, bias, ink, hue, saturation, brightness, or ''
    color_label: int = 0  # CPPN-X annotation: id of a Button, 0 = none
    position: tuple[float, float] | None = None
    text: str = ""


@dataclass(frozen=True)
class Link:
    id: GeneId
    source: GeneId
    target: GeneId
    weight: float
    color_label: int = 0
    original_weight: float | None = None
    bookends: tuple[float, float, float] | None = None  # CPPN-X sweep range: start, end, step
    text: str = ""


@dataclass(frozen=True)
class Button:
    """A CPPN-X human label: what researchers found a group of genes to control."""

    id: int
    text: str
    color: tuple[int, int, int] = (0, 0, 0)


@dataclass(frozen=True)
class Genome:
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    buttons: tuple[Button, ...] = ()
    id: GeneId | None = None
    parents: tuple[GeneId, ...] = ()
    meta: Mapping[str, str] = field(default_factory=dict)  # e.g. age, phenotype, source flavour

    # -- lookups -------------------------------------------------------------------------
    def node(self, gid: GeneId) -> Node:
        for n in self.nodes:
            if n.id == gid:
                return n
        raise KeyError(gid)

    def input_ids(self) -> dict[str, GeneId]:
        return {n.label: n.id for n in self.nodes if n.kind == "in"}

    def output_ids(self) -> dict[str, GeneId]:
        return {n.label: n.id for n in self.nodes if n.kind == "out"}

    @property
    def is_colour(self) -> bool:
        return "ink" not in self.output_ids()

    def label_text(self, label_id: int) -> str:
        for b in self.buttons:
            if b.id == label_id:
                return b.text
        return ""

    @property
    def weights(self) -> list[float]:
        return [l.weight for l in self.links]

    def with_weights(self, weights: Iterable[float]) -> "Genome":
        ws = list(weights)
        if len(ws) != len(self.links):
            raise GenomeError(f"expected {len(self.links)} weights, got {len(ws)}")
        return replace(self, links=tuple(replace(l, weight=float(w)) for l, w in zip(self.links, ws)))

    # -- validity ------------------------------------------------------------------------
    def validate(self) -> "Genome":
        """Check everything a renderer relies on; return self, or raise GenomeError."""
        if len(self.nodes) > MAX_NODES:
            raise GenomeError(f"genome has {len(self.nodes)} nodes; the limit is {MAX_NODES}")
        if len(self.links) > MAX_LINKS:
            raise GenomeError(f"genome has {len(self.links)} links; the limit is {MAX_LINKS}")
        seen: set[GeneId] = set()
        for n in self.nodes:
            if n.id in seen:
                raise GenomeError(f"duplicate node id {fmt_id(n.id)}")
            seen.add(n.id)
            if n.kind not in KINDS:
                raise GenomeError(f"node {fmt_id(n.id)} has unknown type {n.kind!r}")
            if n.activation not in GENOME_ACTIVATIONS:
                raise GenomeError(f"node {fmt_id(n.id)} has unknown activation {n.activation!r}")
        inputs = [n for n in self.nodes if n.kind == "in"]
        labels = sorted(n.label for n in inputs)
        if labels != sorted(INPUT_LABELS):
            raise GenomeError(f"inputs must be exactly x, y, d, bias; found {labels}")
        outs = sorted(n.label for n in self.nodes if n.kind == "out")
        if outs not in (list(GREY_OUTPUTS), sorted(COLOUR_OUTPUTS)):
            raise GenomeError(
                f"outputs must be 'ink' or 'hue', 'saturation', 'brightness'; found {outs or 'none'}")
        kinds = {n.id: n.kind for n in self.nodes}
        link_ids: set[GeneId] = set()
        for l in self.links:
            if l.id in link_ids:
                raise GenomeError(f"duplicate link id {fmt_id(l.id)}")
            link_ids.add(l.id)
            for end, gid in (("source", l.source), ("target", l.target)):
                if gid not in seen:
                    raise GenomeError(f"link {fmt_id(l.id)} has dangling {end} {fmt_id(gid)}")
            if not math.isfinite(l.weight):
                raise GenomeError(f"link {fmt_id(l.id)} has non-finite weight {l.weight}")
            if kinds[l.target] == "in":
                raise GenomeError(f"link {fmt_id(l.id)} feeds input node {fmt_id(l.target)}")
        self.topological_order()
        return self

    # The walks live in ferlab.graph (imported late: it builds on this module).
    def sources(self) -> dict[GeneId, list[int]]:
        """node id -> indices of its incoming links."""
        from ferlab.graph import incoming

        return incoming(self)

    def topological_order(self) -> list[GeneId]:
        """Nodes ordered so every link goes forward; inputs first. Raises on a cycle."""
        from ferlab.graph import topological_order

        return topological_order(self)

    def depths(self) -> dict[GeneId, int]:
        """Layer of each node: inputs 0, else 1 + the deepest source (1 with no sources)."""
        from ferlab.graph import depths

        return depths(self)
