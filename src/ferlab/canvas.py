"""The input planes a CPPN sees: x, y, d and bias for every pixel."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The paper's code scales the distance input by 1.4 (Picbreeder itself used sqrt(2)).
D_SCALE = 1.4
INPUT_LABELS = ("x", "y", "d", "bias")


@dataclass(frozen=True)
class Canvas:
    """A pixel grid over a rectangle of the plane.

    ``window`` is (xmin, xmax, ymin, ymax); row i has y = linspace(ymin, ymax, height)[i] and
    column j has x = linspace(xmin, xmax, width)[j], as the paper's code does for (-1, 1).
    """

    width: int = 256
    height: int = 256
    window: tuple[float, float, float, float] = (-1.0, 1.0, -1.0, 1.0)

    def __post_init__(self):
        if int(self.width) < 1 or int(self.height) < 1:
            raise ValueError(f"canvas must be at least 1x1, got {self.width}x{self.height}")
        if int(self.width) * int(self.height) > 4096 * 4096:
            raise ValueError(f"canvas {self.width}x{self.height} is larger than 4096x4096")
        xmin, xmax, ymin, ymax = (float(v) for v in self.window)
        if not all(np.isfinite([xmin, xmax, ymin, ymax])) or xmin == xmax or ymin == ymax:
            raise ValueError(f"bad window {self.window}: need finite xmin != xmax, ymin != ymax")

    @classmethod
    def square(cls, res: int, window=(-1.0, 1.0, -1.0, 1.0)) -> "Canvas":
        return cls(int(res), int(res), tuple(float(v) for v in window))

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    def planes(self, dtype=np.float64) -> np.ndarray:
        """(4, height, width): x, y, d, bias — the order of a dense network's inputs."""
        xmin, xmax, ymin, ymax = self.window
        xs = np.linspace(xmin, xmax, self.width)
        ys = np.linspace(ymin, ymax, self.height)
        x, y = np.meshgrid(xs, ys)  # x varies along columns, y along rows
        d = D_SCALE * np.sqrt(x * x + y * y)
        return np.stack([x, y, d, np.ones_like(x)]).astype(dtype)


def as_canvas(res=256, window=None) -> Canvas:
    """Accept a Canvas, an int resolution or (height, width), plus an optional window."""
    if isinstance(res, Canvas):
        return res if window is None else Canvas(res.width, res.height, tuple(window))
    if isinstance(res, (tuple, list)):
        h, w = (int(v) for v in res)
    else:
        h = w = int(res)
    return Canvas(w, h, tuple(window) if window is not None else (-1.0, 1.0, -1.0, 1.0))
