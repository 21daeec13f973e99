"""Controls that make a score mean something: refuse blank pictures, compare with chance.

* A network whose image is (nearly) constant draws nothing; there is nothing to be fractured
  or unified about, so it is refused (:class:`ConstantImageError`), never scored.
* Every score is read beside its architecture's **random-init baseline**: the mean score of a
  few LeCun-normal networks of the same architecture (the SGD replicas' starting point).
  Random CPPNs of these small sine/gaussian architectures draw smooth blobs and stripes, so
  their neurons' shifts are not noise: the baseline is what "no learning at all" scores, and
  it is kept explicitly in a :class:`BaselineCache` (in memory, optionally a JSON file).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ferlab.dense import Arch, DenseCPPN

#: An image is constant when no RGB channel's standard deviation over the pixels reaches this
#: (about 2.5 grey levels): a blank picture or one faint smudge.
MIN_IMAGE_STD = 0.01
#: LeCun-normal as the trainer draws it: normal truncated at ±2σ, rescaled to variance 1/fan_in.
TRUNC_STD = 0.87962566103423978


class ConstantImageError(ValueError):
    """The network draws a (near-)constant image: there is nothing to measure."""


def check_image(image, name: str = "network") -> None:
    """Raise :class:`ConstantImageError` when every channel of ``image`` is nearly flat."""
    img = np.asarray(image, np.float64).reshape(-1, np.shape(image)[-1])
    sd = float(img.std(axis=0).max())
    if not sd >= MIN_IMAGE_STD:
        raise ConstantImageError(f"{name} draws a near-constant image (largest channel std {sd:.4f} "
                                 f"< {MIN_IMAGE_STD}): nothing to measure")


def random_network(arch: Arch | str, seed: int = 0) -> DenseCPPN:
    """A LeCun-normal network of ``arch`` (truncated normal, variance 1/fan_in), seeded."""
    arch = Arch.parse(arch) if isinstance(arch, str) else arch
    rng = np.random.default_rng(int(seed))
    kernels = []
    for fan_in, fan_out in arch.kernel_shapes():
        z = rng.standard_normal((fan_in, fan_out))
        bad = np.abs(z) > 2
        while bad.any():
            z[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(z) > 2
        kernels.append((z * np.sqrt(1.0 / fan_in) / TRUNC_STD).astype(np.float32))
    return DenseCPPN(arch, tuple(kernels), meta={"name": f"random {arch} seed {seed}"})


class BaselineCache:
    """Random-init baselines per (architecture, resolution), computed once and kept.

    ``path``: a JSON file to read and extend (written atomically); None keeps them in memory.
    A random draw that happens to draw a constant image is skipped, so a baseline averages
    ``seeds`` scored networks out of at most 3 × seeds draws.
    """

    def __init__(self, path=None, seeds: int = 3):
        self.path = Path(path) if path is not None else None
        self.seeds = int(seeds)
        self.entries: dict = {}
        if self.path is not None and self.path.exists():
            try:
                self.entries = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.entries = {}  # a damaged cache is recomputed, never trusted

    def get(self, arch: Arch | str, res: int, score_fn) -> dict:
        """{"mean", "std", "scores"} of ``score_fn(network)`` over random networks of ``arch``."""
        key = f"{arch}@{int(res)}"
        if key not in self.entries:
            scores = []
            for seed in range(3 * self.seeds):
                if len(scores) == self.seeds:
                    break
                try:
                    scores.append(float(score_fn(random_network(str(arch), seed))))
                except ConstantImageError:
                    continue
            if not scores:
                raise ConstantImageError(f"every random network of {arch} draws a constant image")
            self.entries[key] = {"mean": float(np.mean(scores)), "std": float(np.std(scores)),
                                 "scores": scores}
            self._save()
        return self.entries[key]

    def _save(self) -> None:
        if self.path is None:
            return
        from ferlab.atomic import write_text

        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text(self.path, json.dumps(self.entries, indent=1))
