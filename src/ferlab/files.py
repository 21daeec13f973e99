"""Open whatever a user points at: a genome file (zip/xml/json) or a dense network (.npz)."""
from __future__ import annotations

from pathlib import Path

from ferlab.dense import DenseCPPN
from ferlab.genome import Genome
from ferlab.picbreeder import load_genome


def load_any(path) -> Genome | DenseCPPN:
    """A dense CPPN for .npz files, else a validated genome."""
    if Path(path).suffix.lower() == ".npz":
        return DenseCPPN.load(path)
    return load_genome(path)

