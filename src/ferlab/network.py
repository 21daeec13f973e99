"""What callers hold: one :class:`Network` protocol over genomes and dense networks.

A network renders, shows its feature maps layer by layer, exposes a flat weight vector (and
rebuilds itself from one), and says where each weight came from. Code that needs an image,
maps or weights takes a Network (or anything :func:`as_network` accepts) and never asks which
kind it holds; the few places that need the graph itself read ``network.genome``.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ferlab.dense import ORIGIN_NAMES, ArchError, DenseCPPN
from ferlab.engine import render, render_genome
from ferlab.genome import Genome, fmt_id
from ferlab.graph import depths
from ferlab.layerize import layerize


@runtime_checkable
class Network(Protocol):
    kind: str  # "genome" | "dense"

    @property
    def name(self) -> str: ...

    @property
    def n_weights(self) -> int: ...

    def render(self, res=256, window=None, dtype=None) -> np.ndarray:
        """(H, W, 3) RGB in [0, 1]; ``dtype`` None is the network's own precision."""

    def features(self, res=64, window=None) -> list[tuple[str, np.ndarray]]:
        """(layer name, maps (n, H, W)) per layer, inputs first, raw outputs last."""

    def weights(self) -> np.ndarray:
        """The flat weight vector, float64 (genome: link order; dense: kernel order)."""

    def with_weights(self, weights) -> "Network":
        """The same structure with another weight vector (same order as :meth:`weights`)."""

    def provenance(self, i: int) -> str:
        """Where weight ``i`` came from, in words (its link, or its kernel entry and origin)."""

    @property
    def from_genome(self) -> bool:
        """Whether every weight traces back to a genome link (a genome, or a dense network
        layerized from one and carrying its origin map): an evolved network, not a trained one."""

    @property
    def labelled(self) -> bool:
        """Whether it carries CPPN-X link labels (only a labelled genome does)."""

    def describe(self) -> str:
        """One line for a caption: kind and size."""

    def facts(self) -> dict:
        """What ``ferlab info`` prints, as plain data."""

    def to_dense(self) -> DenseCPPN:
        """The dense form: a dense network itself, a genome layerized (ArchError if it cannot be)."""


@dataclass(frozen=True, eq=False)
class GenomeNetwork:
    genome: Genome
    kind: str = "genome"

    @property
    def name(self) -> str:
        return str(self.genome.meta.get("name", "genome"))

    @property
    def n_weights(self) -> int:
        return len(self.genome.links)

    def render(self, res=256, window=None, dtype=None) -> np.ndarray:
        return render(self.genome, res, window, dtype)

    def features(self, res=64, window=None) -> list[tuple[str, np.ndarray]]:
        maps = render_genome(self.genome, res, window, nodes=True, dtype=np.float32).node_maps
        depth = depths(self.genome)
        levels: dict[int, list] = {}
        for n in self.genome.nodes:
            levels.setdefault(depth[n.id], []).append(maps[n.id])
        return [(f"depth {d}", np.stack(levels[d])) for d in sorted(levels)]

    def weights(self) -> np.ndarray:
        return np.asarray(self.genome.weights, np.float64)

    def with_weights(self, weights) -> "GenomeNetwork":
        return GenomeNetwork(self.genome.with_weights(np.asarray(weights, np.float64).tolist()))

    def provenance(self, i: int) -> str:
        l = self.genome.links[i]
        return f"link {fmt_id(l.id)} ({fmt_id(l.source)} -> {fmt_id(l.target)})"

    from_genome = True

    @property
    def labelled(self) -> bool:
        return any(l.color_label for l in self.genome.links)

    def describe(self) -> str:
        return f"genome, {len(self.genome.nodes)} nodes, {len(self.genome.links)} links"

    def facts(self) -> dict:
        g = self.genome
        try:
            dense_arch = str(self.to_dense().arch)
        except ArchError as e:  # describable, though too deep or wide for the dense form
            dense_arch = f"none ({e})"
        return {
            "kind": "genome", "name": g.meta.get("name", ""), "flavour": g.meta.get("flavour", ""),
            "id": fmt_id(g.id) if g.id else None, "parents": [fmt_id(p) for p in g.parents],
            "colour": g.is_colour, "nodes": len(g.nodes), "links": len(g.links),
            "hidden": sum(n.kind == "hidden" for n in g.nodes),
            "activations": dict(sorted(Counter(n.activation for n in g.nodes if n.kind != "in").items())),
            "depth": max(g.depths().values()), "layerized_arch": dense_arch,
            "labels": [b.text for b in g.buttons],
            "labelled_links": sum(l.color_label != 0 for l in g.links),
        }

    def to_dense(self) -> DenseCPPN:
        return layerize(self.genome)


@dataclass(frozen=True, eq=False)
class DenseNetwork:
    dense: DenseCPPN
    kind: str = "dense"

    @property
    def genome(self) -> None:
        return None

    @property
    def name(self) -> str:
        return str(self.dense.meta.get("name", "dense"))

    @property
    def n_weights(self) -> int:
        return self.dense.arch.n_params

    def render(self, res=256, window=None, dtype=None) -> np.ndarray:
        return render(self.dense, res, window, dtype)

    def features(self, res=64, window=None) -> list[tuple[str, np.ndarray]]:
        layers = self.dense.render(res, window, features=True).layers
        names = ["inputs"] + [f"layer {i}" for i in range(1, len(layers) - 1)] + ["outputs"]
        return [(n, np.asarray(l)) for n, l in zip(names, layers)]

    def weights(self) -> np.ndarray:
        return self.dense.kernel_weights().astype(np.float64)

    def with_weights(self, weights) -> "DenseNetwork":
        return DenseNetwork(self.dense.with_kernel_weights(np.asarray(weights, np.float32)))

    def provenance(self, i: int) -> str:
        shapes = self.dense.arch.kernel_shapes()
        if not 0 <= int(i) < self.n_weights:
            raise IndexError(f"weight {i} out of range 0..{self.n_weights - 1}")
        k, rest = 0, int(i)
        while rest >= shapes[k][0] * shapes[k][1]:
            rest -= shapes[k][0] * shapes[k][1]
            k += 1
        r, c = divmod(rest, shapes[k][1])
        text = f"kernel {k} [{r}, {c}], paper index {self.dense.arch.lrc_to_flat(k, r, c)}"
        if self.dense.origin is not None:
            code = int(self.dense.origin[k][r, c])
            text += f", from {'link index ' + str(code) if code >= 0 else ORIGIN_NAMES[code]}"
        return text

    @property
    def from_genome(self) -> bool:
        return self.dense.origin is not None

    labelled = False

    def describe(self) -> str:
        extra = ", layerized" if self.from_genome else ""
        return f"dense {self.dense.arch}, {self.dense.arch.n_params} weights{extra}"

    def facts(self) -> dict:
        d = self.dense
        nz = sum(int((abs(k) > 0).sum()) for k in d.kernels)
        return {"kind": "dense", "name": d.meta.get("name", ""), "arch": str(d.arch),
                "depth": d.arch.depth, "width": d.arch.width, "params": d.arch.n_params,
                "nonzero_params": nz}

    def to_dense(self) -> DenseCPPN:
        return self.dense


def load_network(path) -> Network:
    """Open a genome file (zip/xml/json) or a dense .npz as a Network."""
    from ferlab.files import load_any

    return as_network(load_any(path))


def as_network(obj) -> Network:
    """A Network for a Genome, a DenseCPPN, or a Network (returned as it is)."""
    if isinstance(obj, (GenomeNetwork, DenseNetwork)):
        return obj
    if isinstance(obj, Genome):
        return GenomeNetwork(obj)
    if isinstance(obj, DenseCPPN):
        return DenseNetwork(obj)
    raise TypeError(f"not a network: {type(obj).__name__} (give a Genome or a DenseCPPN)")


__all__ = ["DenseNetwork", "GenomeNetwork", "Network", "as_network", "load_network"]
