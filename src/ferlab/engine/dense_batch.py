"""Many dense networks of one architecture at once: jit(vmap(forward -> RGB)) over kernel stacks.

Random-direction sweeps and the adaptability neighbourhood render B weight variants of one
network. Every call is padded to one batch size, so an architecture compiles once per canvas
shape and batch size however many variants come.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ferlab.canvas import as_canvas
from ferlab.dense import Arch, forward, rgb_from_outputs

#: Networks per compiled call are capped so that one call's activations stay within about
#: this many floats (a few hundred MB), whatever the resolution.
BATCH_FLOATS = 48_000_000


@lru_cache(maxsize=32)
def _program(arch: Arch):
    import jax
    import jax.numpy as jnp

    def one(kernels, x):
        out, _ = forward(arch, kernels, x, jnp)
        return rgb_from_outputs(out, jnp)

    return jax.jit(jax.vmap(one, in_axes=(0, None)))


def render_dense_batch(arch: Arch, kernel_stacks, res=64, window=None, chunk: int = 16) -> np.ndarray:
    """Images (B, H, W, 3) float32 of B networks given as per-kernel stacks [(B, *shape), ...].

    ``res``: an int, (height, width) or a Canvas, as everywhere. Calls take ``chunk`` networks
    (fewer at resolutions where that many would exceed BATCH_FLOATS), the last one padded.
    """
    canvas = as_canvas(res, window)
    shapes = arch.kernel_shapes()
    if len(kernel_stacks) != len(shapes):
        raise ValueError(f"{len(kernel_stacks)} kernel stacks for an architecture of {len(shapes)} kernels")
    b = len(kernel_stacks[0])
    for stack, shape in zip(kernel_stacks, shapes):
        if np.shape(stack) != (b,) + tuple(shape):
            raise ValueError(f"kernel stack of shape {np.shape(stack)}, expected {(b,) + tuple(shape)}")
    pixels = canvas.shape[0] * canvas.shape[1]
    size = max(1, min(int(chunk), BATCH_FLOATS // (pixels * 3 * arch.width)))
    x = canvas.planes(np.float32).reshape(4, -1).T
    fn = _program(arch)
    out = np.empty((b, pixels, 3), np.float32)
    for s in range(0, b, size):
        part = [np.asarray(k[s:s + size], np.float32) for k in kernel_stacks]
        n = len(part[0])
        if n < size:  # pad to one shape: one compiled program per architecture and canvas
            part = [np.concatenate([p, np.repeat(p[-1:], size - n, axis=0)]) for p in part]
        out[s:s + n] = np.asarray(fn(part, x))[:n]
    return out.reshape((b,) + canvas.shape + (3,))
