"""What the probes hold: dense networks of one architecture (genomes are layerized)."""
from __future__ import annotations

import numpy as np

from ferlab.dense import Arch, ArchError, DenseCPPN
from ferlab.network import as_network as _network


def as_network(obj) -> DenseCPPN:
    """A Genome (layerized), DenseCPPN or Network -> DenseCPPN."""
    return _network(obj).to_dense()


def check_same_arch(nets) -> Arch:
    """The one architecture all ``nets`` share, or ArchError naming the first mismatch."""
    nets = list(nets)
    if not nets:
        raise ValueError("no networks given")
    arch = nets[0].arch
    for n in nets[1:]:
        if str(n.arch) != str(arch):
            raise ArchError(f"networks have different architectures ({arch} vs {n.arch}): the "
                            "probes compare networks of one architecture")
    return arch


def random_network(arch: Arch | str, seed: int = 0) -> DenseCPPN:
    """The training loop's initialisation (LeCun normal) of ``arch``: the untrained control."""
    from ferlab.train import init_kernels

    arch = arch if isinstance(arch, Arch) else Arch.parse(arch)
    kernels = tuple(np.asarray(k, np.float32) for k in init_kernels(arch, int(seed)))
    return DenseCPPN(arch, kernels, meta={"name": f"random-init-{seed}", "seed": str(seed)})
