"""The padded population strategy: fixed-shape tensors under ``jit`` + ``vmap`` (JAX)."""
from __future__ import annotations


def render_padded(genomes, res, window, dtype):
    raise NotImplementedError
