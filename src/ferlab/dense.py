"""The dense CPPN MLP of the FER paper: architecture strings, kernels, forward pass, .npz.

``12;cache:15,gaussian:4,identity:2,sin:1`` means 12 hidden layers, each 22 neurons wide,
grouped in that order; "cache" neurons are identities that carry values forward. Kernel 0 is
(4, width) for the inputs x, y, d, bias; kernels 1..n-1 are (width, width); kernel n is
(width, 3) for the raw outputs h, s, v. No biases: the constant input carries them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferlab.activations import ACTIVATIONS, apply
from ferlab.canvas import as_canvas
from ferlab.colour import to_rgb


#: Most weights a dense network may have (128 MiB as float32): the same limit for every
#: command, so nothing writes a network that another command then refuses.
MAX_PARAMS = 2**25


class ArchError(ValueError):
    """A malformed architecture string or kernels that do not fit it."""


@dataclass(frozen=True)
class Arch:
    depth: int  # number of hidden layers
    groups: tuple[tuple[str, int], ...]  # (activation or 'cache', count), in column order

    @classmethod
    def parse(cls, text: str) -> "Arch":
        text = str(text).strip()
        try:
            depth_s, groups_s = text.split(";")
            depth = int(depth_s)
            groups = []
            for part in groups_s.split(","):
                name, count = part.split(":")
                groups.append((name.strip(), int(count)))
        except ValueError:
            raise ArchError(f"bad architecture {text!r}: expected e.g. "
                            "'12;cache:15,gaussian:4,identity:2,sin:1'") from None
        arch = cls(depth, tuple(groups))
        arch.check()
        return arch

    def check(self) -> None:
        if not 1 <= self.depth <= 256:
            raise ArchError(f"architecture depth must be 1..256, got {self.depth}")
        for name, count in self.groups:
            if name != "cache" and name not in ACTIVATIONS:
                raise ArchError(f"unknown activation {name!r} in architecture")
            if count < 0:
                raise ArchError(f"negative group size {name}:{count}")
        if not 1 <= self.width <= 4096:
            raise ArchError(f"architecture width must be 1..4096, got {self.width}")
        if self.n_params > MAX_PARAMS:
            raise ArchError(f"architecture {self} has {self.n_params} weights; ferlab takes at most {MAX_PARAMS}")

    def __str__(self) -> str:
        return f"{self.depth};" + ",".join(f"{n}:{c}" for n, c in self.groups)

    @property
    def width(self) -> int:
        return sum(c for _, c in self.groups)

    @property
    def n_cache(self) -> int:
        return sum(c for n, c in self.groups if n == "cache")

    def column_activations(self) -> list[str]:
        """Activation of every column of a hidden layer (cache neurons are identities)."""
        return [("identity" if n == "cache" else n) for n, c in self.groups for _ in range(c)]

    def spans(self) -> list[tuple[str, int, int]]:
        """(activation, start, stop) runs of columns, merging neighbours with one activation."""
        out: list[tuple[str, int, int]] = []
        for i, act in enumerate(self.column_activations()):
            if out and out[-1][0] == act:
                out[-1] = (act, out[-1][1], i + 1)
            else:
                out.append((act, i, i + 1))
        return out

    def kernel_shapes(self) -> list[tuple[int, int]]:
        w = self.width
        return [(4, w)] + [(w, w)] * (self.depth - 1) + [(w, 3)]

    @property
    def n_params(self) -> int:
        return sum(a * b for a, b in self.kernel_shapes())

    # The paper's parameter vector orders kernels by name as strings: kernel_0, 1, 10, 11, ..., 2.
    def flat_order(self) -> list[int]:
        return sorted(range(self.depth + 1), key=lambda k: f"kernel_{k}")

    def flat_to_lrc(self, index: int) -> tuple[int, int, int]:
        """The paper's flat weight index -> (kernel, row, column)."""
        shapes = self.kernel_shapes()
        if not 0 <= int(index) < self.n_params:
            raise IndexError(f"flat index {index} out of range 0..{self.n_params - 1}")
        rest = int(index)
        for k in self.flat_order():
            size = shapes[k][0] * shapes[k][1]
            if rest < size:
                return (k, rest // shapes[k][1], rest % shapes[k][1])
            rest -= size
        raise AssertionError("unreachable")

    def lrc_to_flat(self, layer: int, row: int, col: int) -> int:
        shapes = self.kernel_shapes()
        if not (0 <= layer <= self.depth and 0 <= row < shapes[layer][0] and 0 <= col < shapes[layer][1]):
            raise IndexError(f"weight ({layer}, {row}, {col}) is outside kernels of shapes {shapes}")
        offset = 0
        for k in self.flat_order():
            if k == layer:
                return offset + row * shapes[k][1] + col
            offset += shapes[k][0] * shapes[k][1]
        raise AssertionError("unreachable")


# Where a dense weight came from (see DenseCPPN.origin); values >= 0 are genome link indices.
ZERO, CACHE, OUTPUT, GREY = -1, -2, -3, -4
ORIGIN_NAMES = {ZERO: "zero", CACHE: "cache", OUTPUT: "output", GREY: "grey-hs"}


@dataclass(frozen=True)
class DenseRender:
    image: np.ndarray  # (H, W, 3) RGB in [0, 1]
    layers: list[np.ndarray] | None = None  # [inputs (4,H,W), hidden (width,H,W)..., outputs (3,H,W)]


@dataclass(frozen=True, eq=False)
class DenseCPPN:
    arch: Arch
    kernels: tuple[np.ndarray, ...]
    #: For a layerized genome: per kernel, an int array of link indices / ZERO / CACHE / OUTPUT.
    origin: tuple[np.ndarray, ...] | None = None
    #: For a layerized genome: per layer, the genome node id each neuron carries (or None).
    neurons: tuple[tuple, ...] | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        shapes = self.arch.kernel_shapes()
        if len(self.kernels) != len(shapes):
            raise ArchError(f"architecture {self.arch} needs {len(shapes)} kernels, got {len(self.kernels)}")
        for k, (kern, shape) in enumerate(zip(self.kernels, shapes)):
            if tuple(np.shape(kern)) != shape:
                raise ArchError(f"kernel_{k} has shape {np.shape(kern)}, architecture needs {shape}")
            if not np.all(np.isfinite(kern)):
                raise ArchError(f"kernel_{k} has non-finite weights")

    # -- evaluation ----------------------------------------------------------------------
    def render(self, res=256, window=None, features: bool = False, dtype=np.float32) -> DenseRender:
        canvas = as_canvas(res, window)
        planes = canvas.planes(dtype)
        h, w = canvas.shape
        kernels = [np.asarray(k, dtype) for k in self.kernels]
        outs, layers = forward_rows(self.arch, kernels, planes.reshape(4, -1), keep=features)
        image = rgb_from_outputs(outs.T, np).reshape(h, w, 3)
        maps = [a.reshape(-1, h, w) for a in layers] if features else None
        return DenseRender(image, maps)

    # Two flat orders exist and must not be confused, so each has its own name: the paper's
    # (kernels by string-sorted name, what its "weight 4371" indexes) and plain kernel order.
    def paper_weights(self) -> np.ndarray:
        """The paper's parameter vector: kernels in string-sorted name order (flat index)."""
        return np.concatenate([np.asarray(self.kernels[k]).ravel() for k in self.arch.flat_order()])

    def kernel_weights(self) -> np.ndarray:
        """All weights, kernel 0 first, each kernel row-major (the order of ``with_kernel_weights``)."""
        return np.concatenate([np.asarray(k).ravel() for k in self.kernels])

    def with_kernel_weights(self, flat) -> "DenseCPPN":
        """A copy with the weights of a kernel-order vector (as :meth:`kernel_weights` gives)."""
        flat = np.asarray(flat)
        if flat.shape != (self.arch.n_params,):
            raise ArchError(f"expected {self.arch.n_params} weights, got shape {flat.shape}")
        cuts = np.cumsum([a * b for a, b in self.arch.kernel_shapes()])[:-1]
        return self.with_kernels(tuple(part.reshape(shape) for part, shape
                                       in zip(np.split(flat, cuts), self.arch.kernel_shapes())))

    def with_kernels(self, kernels) -> "DenseCPPN":
        return DenseCPPN(self.arch, tuple(np.asarray(k) for k in kernels), self.origin, self.neurons, dict(self.meta))

    def origin_of(self, layer: int, row: int, col: int) -> int | str:
        """Genome link index a dense weight came from, or 'zero' / 'cache' / 'output'."""
        if self.origin is None:
            raise ValueError("this network was not layerized from a genome: no origin map")
        code = int(self.origin[layer][row, col])
        return code if code >= 0 else ORIGIN_NAMES[code]

    # -- files ---------------------------------------------------------------------------
    def save(self, path) -> Path:
        path = Path(path)
        arrays = {f"kernel_{k}": np.asarray(kern, np.float32) for k, kern in enumerate(self.kernels)}
        if self.origin is not None:  # extra keys: the paper's loaders ignore them
            arrays.update({f"origin_{k}": np.asarray(o, np.int32) for k, o in enumerate(self.origin)})
        from ferlab.atomic import write_with

        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")

        def write(tmp):
            with open(tmp, "wb") as f:  # a file object: numpy would append .npz to a name
                np.savez(f, arch=np.array(str(self.arch)), **arrays)

        return write_with(path, write)

    @classmethod
    def load(cls, path) -> "DenseCPPN":
        """Read a network from an .npz, refusing it before inflating any kernel unless every
        kernel's header matches its architecture (see :mod:`ferlab.npzfile`)."""
        from ferlab.npzfile import CheckedNpz

        name = Path(path).name
        try:
            with CheckedNpz(path) as z:
                if "arch" not in z:
                    raise ArchError(f"{name} has no 'arch' entry: not a dense CPPN .npz")
                try:
                    arch = Arch.parse(str(z["arch"]))
                except TypeError as e:
                    raise ArchError(f"{name}: {e}") from None
                shapes = arch.kernel_shapes()
                for k, shape in enumerate(shapes):
                    if f"kernel_{k}" not in z:
                        raise ArchError(f"{name} lacks kernel_{k} for architecture {arch}")
                    if z.headers[f"kernel_{k}"][0] != tuple(shape):
                        raise ArchError(f"{name}: kernel_{k} has shape {z.headers[f'kernel_{k}'][0]}, "
                                        f"architecture {arch} needs {tuple(shape)}")
                kernels = [np.asarray(z[f"kernel_{k}"], np.float32) for k in range(len(shapes))]
                origin = None
                if all(f"origin_{k}" in z and z.headers[f"origin_{k}"][0] == tuple(s)
                       for k, s in enumerate(shapes)):
                    origin = tuple(np.asarray(z[f"origin_{k}"], np.int64) for k in range(len(shapes)))
        except FileNotFoundError:
            raise
        except ArchError:
            raise
        except (ValueError, TypeError) as e:  # NpzError, or arrays that are not numbers
            raise ArchError(str(e)) from None
        return cls(arch, tuple(kernels), origin, meta={"name": Path(path).stem})


def forward(arch: Arch, kernels, x, xp=np, keep: bool = False):
    """Inputs (P, 4) -> raw outputs (P, 3); with ``keep`` also every layer's (P, n) values."""
    spans = arch.spans()
    h = x
    layers = [x] if keep else []
    for kern in kernels[:-1]:
        z = h @ kern
        if len(spans) == 1:
            h = apply(spans[0][0], z, xp)
        else:
            h = xp.concatenate([apply(act, z[:, a:b], xp) for act, a, b in spans], axis=1)
        if keep:
            layers.append(h)
    out = h @ kernels[-1]
    if keep:
        layers.append(out)
    return out, layers


def forward_rows(arch: Arch, kernels, x, keep: bool = False):
    """numpy-only twin of :func:`forward` in neuron-major layout: inputs (4, P) -> (3, P).

    Each activation group is a contiguous block of rows, activated in place: about twice as
    fast as the pixel-major form under numpy (which JAX prefers for training).
    """
    spans = [s for s in arch.spans() if s[0] != "identity"]
    h = x
    layers = [x] if keep else []
    for kern in kernels[:-1]:
        z = kern.T @ h
        for act, a, b in spans:
            z[a:b] = apply(act, z[a:b], np)
        h = z
        if keep:
            layers.append(h)
    out = kernels[-1].T @ h
    if keep:
        layers.append(out)
    return out, layers


def rgb_from_outputs(out, xp=np):
    """Raw (P, 3) outputs h, s, v -> RGB (P, 3) in [0, 1]."""
    return to_rgb(out[:, 0], out[:, 1], out[:, 2], xp)

