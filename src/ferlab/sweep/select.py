"""Which weights a sweep perturbs, and how its rows are named."""
from __future__ import annotations

import numpy as np

from ferlab.dense import ORIGIN_NAMES, DenseCPPN
from ferlab.genome import Genome, fmt_id


def link_label(genome: Genome, index: int) -> str:
    """'576:224 w=+2.105 Mouth open close:=4' — id, weight and CPPN-X label text if any."""
    link = genome.links[index]
    text = genome.label_text(link.color_label)
    return f"{fmt_id(link.id)} w={link.weight:+.3f}" + (f" {text}" if text else "")


def resolve_links(genome: Genome, links=None) -> list[int]:
    """Link selection -> link indices: None = all; items are indices or 'branch:id' strings."""
    if links is None:
        return list(range(len(genome.links)))
    by_id = {fmt_id(l.id): i for i, l in enumerate(genome.links)}
    out = []
    for item in links:
        if isinstance(item, (int, np.integer)):
            if not 0 <= int(item) < len(genome.links):
                raise IndexError(f"link index {item} out of range 0..{len(genome.links) - 1}")
            out.append(int(item))
        else:
            key = str(item).strip()
            if key not in by_id:
                raise ValueError(f"genome {genome.meta.get('name', '')!s} has no link {key!r}")
            out.append(by_id[key])
    return out



def resolve_weights(net: DenseCPPN, weights=None, flat=None, all_weights: bool = False):
    """Dense weight selection -> list of (kernel, row, col).

    ``weights``: (k, r, c) tuples or "k,r,c" strings; ``flat``: the paper's flat indices;
    ``all_weights``: every weight in kernel order. Out-of-range choices raise IndexError.
    """
    out: list[tuple[int, int, int]] = []
    if all_weights:
        for k, (a, b) in enumerate(net.arch.kernel_shapes()):
            out += [(k, r, c) for r in range(a) for c in range(b)]
        return out
    for w in weights or ():
        if isinstance(w, str):
            try:
                k, r, c = (int(v) for v in w.replace(":", ",").split(","))
            except ValueError:
                raise ValueError(f"bad weight {w!r}: expected 'kernel,row,col'") from None
        else:
            k, r, c = (int(v) for v in w)
        net.arch.lrc_to_flat(k, r, c)  # range check with a clear message
        out.append((k, r, c))
    for i in flat or ():
        out.append(net.arch.flat_to_lrc(int(i)))
    return out


def weight_label(net: DenseCPPN, lrc, genome: Genome | None = None, matches=None) -> str:
    """'k7[15,15] #4371 w=+2.105 -> 576:224 Mouth open close:=4' (genome part when known)."""
    k, r, c = lrc
    w = float(net.kernels[k][r, c])
    text = f"k{k}[{r},{c}] #{net.arch.lrc_to_flat(k, r, c)} w={w:+.3f}"
    src = dense_origin(net, lrc, genome, matches)
    if src is None:
        return text
    if isinstance(src, str):
        return f"{text} ({src})"
    if genome is not None and 0 <= src < len(genome.links):
        link = genome.links[src]
        note = genome.label_text(link.color_label)
        return f"{text} -> {fmt_id(link.id)}" + (f" {note}" if note else "")
    return f"{text} -> link #{src}"


def dense_origin(net: DenseCPPN, lrc, genome: Genome | None = None, matches=None):
    """Genome link index (or 'zero'/'cache'/...) a dense weight stands for; None if unknown."""
    k, r, c = lrc
    if net.origin is not None:
        code = int(net.origin[k][r, c])
        return code if code >= 0 else ORIGIN_NAMES[code]
    if genome is not None:
        from ferlab.layerize import trace_weight

        return trace_weight(net, genome, k, r, c, matches=matches)
    return None



def existing_weights(net: DenseCPPN) -> list[tuple[int, int, int]]:
    """(kernel, row, col) of the weights that exist: genome links for a layerized network
    (its origin map), otherwise the non-zero weights. A sweep of an absent link (w = 0 into a
    neuron the genome never wired) shows a glitch the network never had, not a feature of it.
    """
    out = []
    for k, kern in enumerate(net.kernels):
        keep = (net.origin[k] >= 0) if net.origin is not None else (np.asarray(kern) != 0)
        out += [(k, int(r), int(c)) for r, c in zip(*np.nonzero(keep))]
    return out
