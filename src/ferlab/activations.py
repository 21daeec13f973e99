"""The one table of activation functions, with Picbreeder's (bipolar) conventions.

Each function takes the array module ``xp`` (numpy or jax.numpy) so that numpy rendering,
JAX training and batched JAX sweeps share exactly the same formulas.
"""
from __future__ import annotations

from typing import Callable

Activation = Callable[[object, object], object]


def identity(z, xp):
    return z


def sin(z, xp):
    return xp.sin(z)


def cos(z, xp):
    return xp.cos(z)


def tanh(z, xp):
    return xp.tanh(z)


def gaussian(z, xp):
    """Picbreeder's bipolar gaussian, 2·exp(−z²) − 1, in [−1, 1]."""
    return 2.0 * xp.exp(-z * z) - 1.0


def sigmoid(z, xp):
    """Picbreeder's bipolar sigmoid, 2/(1 + exp(−z)) − 1, in [−1, 1].

    Computed as the identical tanh(z/2): its gradient stays finite where exp(−z) overflows
    float32 (z < −88), which otherwise turns a training step into NaN.
    """
    return xp.tanh(0.5 * z)


def relu(z, xp):
    """Not a Picbreeder activation: for the paper's ReLU control networks."""
    return xp.maximum(z, 0.0)


ACTIVATIONS: dict[str, Activation] = {
    "identity": identity,
    "sin": sin,
    "cos": cos,
    "tanh": tanh,
    "gaussian": gaussian,
    "sigmoid": sigmoid,
    "relu": relu,
}

#: Activations a Picbreeder genome may use (relu is for dense controls only).
GENOME_ACTIVATIONS = ("identity", "sin", "cos", "tanh", "gaussian", "sigmoid")


def parse_activation(text: str) -> str:
    """'gaussian(x)' or 'gaussian' -> 'gaussian'; raises KeyError for an unknown name."""
    name = text.strip()
    if name.endswith("(x)"):
        name = name[:-3]
    name = name.strip().lower()
    if name not in ACTIVATIONS:
        raise KeyError(text)
    return name


def apply(name: str, z, xp):
    return ACTIVATIONS[name](z, xp)
