"""What a replica is trained towards, and the architecture it is trained with.

A target is a function of resolution: genomes and dense networks are rendered at exactly the
pixels asked for (so a low-resolution curriculum stage sees the same function on a coarser
grid); image files are resampled (alpha dropped).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from ferlab.activations import ACTIVATIONS
from ferlab.dense import Arch, ArchError, DenseCPPN
from ferlab.genome import Genome
from ferlab.network import as_network

#: Architecture for image-file targets with no --arch: the skull's layerized shape, which
#: the paper shows can draw a Picbreeder-level picture.
DEFAULT_IMAGE_ARCH = "12;cache:15,gaussian:4,identity:2,sin:1"
GENOME_SUFFIXES = (".zip", ".xml", ".json")
#: Largest target image (pixels), the largest canvas ferlab renders.
MAX_IMAGE_PIXELS = 4096 * 4096


@dataclass(frozen=True, eq=False)
class Target:
    name: str
    kind: str  # 'genome' | 'dense' | 'image'
    image_at: Callable[[int], np.ndarray] = field(repr=False)  # res -> (res, res, 3) float32
    arch: Arch  # the architecture that matches it (layerized genome, the net's own, default)
    net: DenseCPPN | None = field(default=None, repr=False)  # its dense form, when it has one

    def fingerprint(self, res: int) -> str:
        """Hash of the target image at ``res``: a resumed run must train towards the same."""
        img = np.ascontiguousarray(self.image_at(res), np.float32)
        return hashlib.sha256(img.tobytes()).hexdigest()[:16]


def load_target(target) -> Target:
    """A Genome, DenseCPPN, path (genome / .npz / PNG / JPEG) or (H, W, 3) array -> Target."""
    if isinstance(target, Target):
        return target
    if isinstance(target, (str, Path)):
        return _path_target(Path(target))
    if isinstance(target, np.ndarray) or hasattr(target, "__array__"):
        return _array_target(np.asarray(target), "array")
    try:
        net = as_network(target)
    except TypeError:
        raise TypeError(f"cannot train towards a {type(target).__name__}: give a Genome, DenseCPPN, "
                        "path or (H, W, 3) array") from None
    return _genome_target(net.genome) if net.kind == "genome" else _dense_target(net.dense)


def _genome_target(genome: Genome) -> Target:
    from ferlab.layerize import layerize
    from ferlab.render import render_genome

    net = layerize(genome)  # validates

    @lru_cache(maxsize=4)
    def image_at(res):
        return render_genome(genome, res).image.astype(np.float32)

    return Target(str(genome.meta.get("name", "genome")), "genome", image_at, net.arch, net)


def _dense_target(net: DenseCPPN) -> Target:
    @lru_cache(maxsize=4)
    def image_at(res):
        return net.render(res, dtype=np.float64).image.astype(np.float32)

    return Target(str(net.meta.get("name", "network")), "dense", image_at, net.arch, net)


def _path_target(path: Path) -> Target:
    if not path.exists():
        raise FileNotFoundError(f"no such target file: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"target {path} is a directory, not a genome, .npz or image")
    suffix = path.suffix.lower()
    if suffix in GENOME_SUFFIXES:
        from ferlab.picbreeder import load_genome

        return _genome_target(load_genome(path))
    if suffix == ".npz":
        net = DenseCPPN.load(path)
        return _dense_target(net)
    return _array_target(read_image(path), path.stem)


def read_image(path) -> np.ndarray:
    """An image file as (H, W, 3) float32 RGB in [0, 1] (alpha dropped, greyscale expanded)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:  # reads the header only: size is checked before decoding
            w, h = im.size
            if w < 1 or h < 1:
                raise ValueError(f"image {path.name} is empty ({w}x{h})")
            if w * h > MAX_IMAGE_PIXELS:
                raise ValueError(f"image {path.name} is {w}x{h}; the limit is {MAX_IMAGE_PIXELS} pixels")
            rgb = np.asarray(im.convert("RGB"), np.float32) / 255.0
    except Image.DecompressionBombError as e:
        raise ValueError(f"image {path.name} is too large: {e}") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path.name} is not a genome (.zip/.xml/.json), network (.npz) or "
                         "readable image (PNG/JPEG)") from None
    except (OSError, SyntaxError) as e:  # truncated / corrupt image data
        raise ValueError(f"cannot read image {path.name}: {e}") from None
    return rgb


def _array_target(img: np.ndarray, name: str) -> Target:
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"target image must be (H, W, 3) RGB, got shape {img.shape}")
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f"target image is empty ({img.shape[1]}x{img.shape[0]})")
    img = img[:, :, :3]
    if img.dtype == np.uint8:
        img = img.astype(np.float32) / 255.0
    img = img.astype(np.float32)
    if not np.all(np.isfinite(img)):
        raise ValueError("target image has NaN or infinite values")
    if img.min() < 0 or img.max() > 1:
        raise ValueError(f"target image values must lie in [0, 1], got {img.min():.3g}..{img.max():.3g}")
    cache: dict[int, np.ndarray] = {}

    def image_at(res):
        if res not in cache:
            cache[res] = resample(img, res)
        return cache[res]

    return Target(name, "image", image_at, Arch.parse(DEFAULT_IMAGE_ARCH))


def resample(img: np.ndarray, res: int) -> np.ndarray:
    """(H, W, 3) floats -> (res, res, 3), area-averaged down / bicubic up, per channel."""
    from PIL import Image

    if img.shape[:2] == (res, res):
        return img.astype(np.float32)
    chans = [np.asarray(Image.fromarray(img[:, :, c].astype(np.float32), mode="F")
                        .resize((res, res), Image.Resampling.BOX if res < min(img.shape[:2])
                                else Image.Resampling.BICUBIC)) for c in range(3)]
    return np.clip(np.stack(chans, axis=2), 0.0, 1.0).astype(np.float32)


def resolve_arch(target: Target, arch=None, activation: str | None = None) -> Arch:
    """The architecture to train: ``arch`` (string or Arch) or the target's, with
    ``activation`` (e.g. 'relu') replacing every group — same depth and width."""
    if arch is None:
        a = target.arch
    elif isinstance(arch, Arch):
        a = arch
        a.check()
    else:
        a = Arch.parse(arch)
    if activation is not None:
        if activation not in ACTIVATIONS:
            raise ArchError(f"unknown activation {activation!r}: choose from {', '.join(ACTIVATIONS)}")
        a = Arch(a.depth, ((activation, a.width),))
    return a


def check_init_from_target(target: Target, arch: Arch) -> DenseCPPN:
    """The target's own dense weights, to start from; the arch must be the target's."""
    if target.net is None:
        raise ArchError(f"target {target.name} is an image: it has no weights to start from")
    if str(arch) != str(target.net.arch):
        raise ArchError(f"architecture {arch} cannot hold {target.name}, which needs "
                        f"{target.net.arch} to start from its weights")
    return target.net
