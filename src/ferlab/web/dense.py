"""The explorer over dense networks: the paper's layer grid of a layerized genome or an .npz.

A dense network is shown as its layers of neurons (each neuron a map); a weight is picked by
(kernel, row, column), edited, swept, and every neuron's change against the unedited network
is reported, so one can see which neurons a weight moves. Edits are plain lists
``[kernel, row, column, value]``; nothing here is stored.
"""
from __future__ import annotations

import base64
import io
import zipfile

import numpy as np

from ferlab.dense import ORIGIN_NAMES, Arch, ArchError, DenseCPPN
from ferlab.genome import Genome, GenomeError, fmt_id
from ferlab.npzfile import NpzError, check_npz
from ferlab.web.imaging import SWEEP_DELTAS, encode_png, strip_png

#: Largest network the web explorer takes (the paper's are ~6,000 weights).
MAX_PARAMS = 200_000
#: Largest uncompressed .npz content read (checked before any array is inflated).
MAX_NPZ_BYTES = 8 * 1024 * 1024


def check_size(net):
    """``net`` (a DenseCPPN or an Arch) if the explorer can take it, else GenomeError."""
    arch = getattr(net, "arch", net)
    if arch.n_params > MAX_PARAMS:
        raise GenomeError(f"network has {arch.n_params} weights; the explorer takes at most {MAX_PARAMS}")
    return net


def parse_npz(data: bytes) -> DenseCPPN:
    """A dense CPPN from .npz bytes in the paper's layout; GenomeError (one line) if not."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise GenomeError("not an .npz file (expected the paper's dense network layout)") from None
    if total > MAX_NPZ_BYTES:
        raise GenomeError(f".npz holds {total} bytes uncompressed; the limit is {MAX_NPZ_BYTES}")
    try:
        check_npz(data, MAX_NPZ_BYTES)  # array headers that claim more than their data, pickles
    except NpzError as e:
        raise GenomeError(str(e)) from None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            if "arch" not in z.files:
                raise GenomeError(".npz has no 'arch' entry: not a dense CPPN")
            arch = check_size(Arch.parse(str(z["arch"])))
            kernels = []
            for k in range(arch.depth + 1):
                if f"kernel_{k}" not in z.files:
                    raise GenomeError(f".npz lacks kernel_{k} for architecture {arch}")
                kernels.append(np.asarray(z[f"kernel_{k}"], np.float32))
        return DenseCPPN(arch, tuple(kernels))
    except GenomeError:
        raise
    except (ArchError, ValueError, OSError, EOFError, KeyError) as e:
        raise GenomeError(f"bad .npz network: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


def with_edits(net: DenseCPPN, edits) -> DenseCPPN:
    """A copy of ``net`` with weights (kernel, row, column) set to new values."""
    if not edits:
        return net
    kernels = [np.array(k, np.float32) for k in net.kernels]
    for k, r, c, v in edits:
        if not (0 <= k < len(kernels) and 0 <= r < kernels[k].shape[0] and 0 <= c < kernels[k].shape[1]):
            raise GenomeError(f"weight ({k}, {r}, {c}) is outside the network {net.arch}")
        if not np.isfinite(v):
            raise GenomeError(f"weight ({k}, {r}, {c}) must be finite")
        kernels[k][r, c] = v
    return net.with_kernels(kernels)


def layer_names(arch: Arch) -> list[list[str]]:
    """Each neuron's activation, per layer: inputs, hidden layers, outputs."""
    hidden = [("cache" if n == "cache" else n) for n, c in arch.groups for _ in range(c)]
    return [["x", "y", "d", "bias"]] + [hidden] * arch.depth + [["h", "s", "v"]]


def grid(net: DenseCPPN, genome: Genome | None = None) -> dict:
    """What the page draws: the layers, every kernel, and (for a layerized genome) where each
    weight came from, with the CPPN-X label of its link."""
    origin = None
    if net.origin is not None:
        origin = []
        for o in net.origin:
            rows = []
            for row in np.asarray(o).tolist():
                cells = []
                for code in row:
                    if code >= 0 and genome is not None and code < len(genome.links):
                        link = genome.links[code]
                        cells.append(fmt_id(link.id))
                    else:
                        cells.append(ORIGIN_NAMES.get(code, "zero") if code < 0 else str(code))
                rows.append(cells)
            origin.append(rows)
    return {"arch": str(net.arch), "layers": layer_names(net.arch),
            "kernels": [np.round(np.asarray(k, np.float64), 5).tolist() for k in net.kernels],
            "origin": origin}


def _grey(m: np.ndarray) -> np.ndarray:
    return np.clip((m + 1.0) * 127.5, 0.0, 255.0).astype(np.uint8)


def _rgb8(net: DenseCPPN, res: int) -> np.ndarray:
    return np.clip(net.render(res).image * 255.0, 0, 255).astype(np.uint8)


def image_png(net: DenseCPPN, res: int) -> bytes:
    return encode_png(_rgb8(net, res))


def neurons(net: DenseCPPN, edits, res: int = 24) -> dict:
    """Every neuron's map (data URIs, per layer) and, with edits, how much each one changed
    (mean |Δ| against the unedited network, in activation units)."""
    edited = with_edits(net, edits)
    layers = edited.render(res, features=True).layers
    maps = [["data:image/png;base64," + base64.b64encode(encode_png(_grey(m))).decode() for m in layer]
            for layer in layers]
    change = None
    if edits:
        base = net.render(res, features=True).layers
        change = [np.round(np.mean(np.abs(a - b), axis=(1, 2)).astype(np.float64), 5).tolist()
                  for a, b in zip(layers, base)]
    return {"maps": maps, "change": change}


def sweep_strip(net: DenseCPPN, k: int, r: int, c: int, res: int = 96, deltas=SWEEP_DELTAS) -> bytes:
    """Images with weight (k, r, c) at w + delta, side by side (as the genome explorer's)."""
    with_edits(net, [(k, r, c, 0.0)])  # names an out-of-range weight first
    w = float(net.kernels[k][r, c])
    return strip_png([_rgb8(with_edits(net, [(k, r, c, w + d)]), res) for d in deltas])
