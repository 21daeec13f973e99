"""The one table of activation functions, with Picbreeder's (bipolar) conventions.

Each function takes the array module ``xp`` (numpy or jax.numpy) so that numpy rendering,
JAX training and batched JAX sweeps share exactly the same formulas. One variant table,
:data:`XLA_CPU_ACTIVATIONS`, swaps in vectorisable sin and cos for compiled CPU renders.
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


#: π/2 in three parts (Cody–Waite): the first two have few enough bits that k·part is exact for
#: the quadrant counts float32 reaches before its own spacing exceeds the result's accuracy.
_PIO2 = (1.5703125, 4.837512969970703125e-4, 7.54978995489188216e-8)


def _sin_quadrant(z, quarter: float, xp):
    """sin(z + quarter·π/2) in float32 from elementwise ops only: a three-part π/2 reduction,
    then Cephes' sinf/cosf minimax polynomials on [−π/4, π/4].

    XLA CPU lowers ``sin``/``cos`` to one scalar libm call per vector lane; this vectorises.
    Within 2e-7 of sin of the same float32 for |z| ≤ 1e6 (about numpy's own float32 error);
    beyond ~1e7 a float32 z is itself a whole radian or more off, and the result is only kept
    inside [−1, 1].
    """
    k = xp.floor(z * 0.636619772367581343 + 0.5)
    r = ((z - k * _PIO2[0]) - k * _PIO2[1]) - k * _PIO2[2]
    r2 = r * r
    s = r + r * r2 * (-1.6666654611e-1 + r2 * (8.3321608736e-3 + r2 * -1.9515295891e-4))
    c = 1.0 - 0.5 * r2 + r2 * r2 * (4.166664568298827e-2
                                    + r2 * (-1.388731625493765e-3 + r2 * 2.443315711809948e-5))
    q = k + quarter
    q = q - 4.0 * xp.floor(q * 0.25)  # quadrant 0..3
    v = xp.where((q == 1.0) | (q == 3.0), c, s)
    return xp.clip(xp.where(q >= 2.0, -v, v), -1.0, 1.0)


def sin_poly(z, xp):
    """:func:`sin` for compiled float32 code (see :func:`_sin_quadrant`); other dtypes: ``xp.sin``."""
    return _sin_quadrant(z, 0.0, xp) if z.dtype == "float32" else xp.sin(z)


def cos_poly(z, xp):
    """:func:`cos` for compiled float32 code (see :func:`_sin_quadrant`); other dtypes: ``xp.cos``."""
    return _sin_quadrant(z, 1.0, xp) if z.dtype == "float32" else xp.cos(z)


#: The table for XLA CPU (the JAX backend's renders): the same functions, with sin and cos as
#: polynomials, since XLA CPU's own are not vectorised.
XLA_CPU_ACTIVATIONS: dict[str, Activation] = {**ACTIVATIONS, "sin": sin_poly, "cos": cos_poly}


def parse_activation(text: str) -> str:
    """'gaussian(x)' or 'gaussian' -> 'gaussian'; raises KeyError for an unknown name."""
    name = text.strip()
    if name.endswith("(x)"):
        name = name[:-3]
    name = name.strip().lower()
    if name not in ACTIVATIONS:
        raise KeyError(text)
    return name


def apply(name: str, z, xp, table: dict[str, Activation] = ACTIVATIONS):
    return table[name](z, xp)
