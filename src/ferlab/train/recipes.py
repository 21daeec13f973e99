"""Training recipes as plain data: the paper's, and a fast one for CPUs.

A :class:`Recipe` says everything that decides the weights a run ends with, given the target,
the architecture and the seed. Stage boundaries and warmup are fractions of ``steps`` so that
``--steps`` rescales a recipe instead of breaking it.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace


@dataclass(frozen=True)
class Stage:
    """One phase of a curriculum, running until ``until`` × steps.

    The stage trains on the target rendered at ``res // scale`` pixels a side, on ``batch``
    random pixels per step (None: the whole image at that resolution).
    """

    until: float = 1.0
    scale: int = 1
    batch: int | None = None


@dataclass(frozen=True)
class Recipe:
    """Hyperparameters of one training run (see RECIPES)."""

    name: str
    steps: int
    lr: float
    res: int = 256  # resolution of the full image the loss is measured on (the last stage's)
    batch: int | None = None  # pixels per step for stages that do not set their own; None: all
    stages: tuple[Stage, ...] = (Stage(),)
    optimizer: str = "adam"
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    #: 'unit': each step's gradient divided by its global L2 norm (the paper);
    #: 'clip': rescaled only when its norm exceeds ``clip``; 'none': raw gradients.
    grad_norm: str = "unit"
    clip: float = 1.0
    #: 'constant', or 'cosine' (linear warmup over ``warmup`` × steps, then cosine decay to
    #: ``final_lr`` × lr).
    schedule: str = "constant"
    warmup: float = 0.0
    #: ... but at least this many warmup steps (at most a quarter of the run): a peak rate
    #: reached in a handful of steps can saturate every output (|v| > 1: zero gradient).
    min_warmup: int = 0
    final_lr: float = 1.0
    init: str = "lecun_normal"  # truncated normal, variance 1/fan_in
    #: Surrogate gradient through the colour clips: outside [0, 1] a clipped saturation or
    #: value passes ``leak`` × the gradient instead of zero. The loss value is unchanged (still
    #: the paper's MSE); only the direction of the step is. 0: the exact gradient.
    leak: float = 0.0
    #: Each restart (see train's max_attempts) runs at this factor times the previous peak
    #: rate: a run that died or blew up at one rate is retried lower, not only reseeded.
    retry_lr: float = 1.0
    chunk: int = 100  # steps per compiled call (lax.scan); does not change the result
    eval_every: int = 1000  # full-image MSE every this many steps (and at the end)
    #: A run whose picture is dead, colourless or blown up (see train.health) at this many
    #: evaluations in a row is given up.
    patience: int = 3

    def __post_init__(self):
        check_recipe(self)

    def with_overrides(self, steps=None, res=None, lr=None, batch=None) -> "Recipe":
        """This recipe with command-line style overrides (None keeps the recipe's value).

        ``batch`` sets the pixels per step of every stage (0 or 'full': whole images).
        """
        changes = {}
        if steps is not None:
            changes["steps"] = int(steps)
        if res is not None:
            changes["res"] = int(res)
        if lr is not None:
            changes["lr"] = float(lr)
        if batch is not None:
            b = None if batch in (0, "0", "full") else int(batch)
            changes["batch"] = b
            changes["stages"] = tuple(replace(s, batch=None) for s in self.stages)
        return replace(self, **changes) if changes else self

    # -- derived ---------------------------------------------------------------------------
    def stage_bounds(self) -> list[tuple[int, int, Stage]]:
        """(first step, end step, stage) for every stage that gets at least one step."""
        out, start = [], 0
        for i, st in enumerate(self.stages):
            end = self.steps if i == len(self.stages) - 1 else min(self.steps, round(st.until * self.steps))
            if end > start:
                out.append((start, end, st))
            start = max(start, end)
        return out

    def stage_res(self, stage: Stage) -> int:
        return max(4, self.res // stage.scale)

    def stage_batch(self, stage: Stage) -> int | None:
        b = stage.batch if stage.batch is not None else self.batch
        if b is None or b >= self.stage_res(stage) ** 2:
            return None
        return b

    def lr_at(self, step):
        """The learning rate of step ``step`` (0-based); works on numbers and jax arrays."""
        if self.schedule == "constant":
            return self.lr * (step * 0 + 1.0)
        import jax.numpy as jnp

        warm = max(1, round(self.warmup * self.steps), min(self.min_warmup, self.steps // 4))
        t = jnp.clip((step - warm) / max(1, self.steps - warm), 0.0, 1.0)
        decay = self.final_lr + (1.0 - self.final_lr) * 0.5 * (1.0 + jnp.cos(jnp.pi * t))
        ramp = jnp.minimum(1.0, (step + 1.0) / warm)
        return self.lr * jnp.where(step < warm, ramp, decay)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stages"] = [asdict(s) for s in self.stages]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Recipe":
        d = dict(d)
        d["stages"] = tuple(Stage(**s) for s in d.get("stages", [{}]))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def check_recipe(r: Recipe) -> None:
    """Raise ValueError naming the first bad hyperparameter."""
    if not isinstance(r.steps, int) or r.steps < 1:
        raise ValueError(f"steps must be a positive integer, got {r.steps!r}")
    if not (isinstance(r.lr, (int, float)) and math.isfinite(r.lr) and r.lr > 0):
        raise ValueError(f"learning rate must be a positive number, got {r.lr!r}")
    if not isinstance(r.res, int) or not 4 <= r.res <= 2048:
        raise ValueError(f"resolution must be 4..2048 pixels, got {r.res!r}")
    if r.batch is not None and (not isinstance(r.batch, int) or r.batch < 1):
        raise ValueError(f"batch must be a positive number of pixels, got {r.batch!r}")
    if not r.stages:
        raise ValueError("a recipe needs at least one stage")
    for s in r.stages:
        if s.scale < 1 or (s.batch is not None and s.batch < 1) or not 0 < s.until <= 1:
            raise ValueError(f"bad stage {s}")
    if r.optimizer != "adam":
        raise ValueError(f"unknown optimizer {r.optimizer!r} (only 'adam')")
    if r.grad_norm not in ("unit", "clip", "none"):
        raise ValueError(f"grad_norm must be 'unit', 'clip' or 'none', got {r.grad_norm!r}")
    if r.schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {r.schedule!r}")
    if r.init != "lecun_normal":
        raise ValueError(f"unknown init {r.init!r}")
    if not (isinstance(r.leak, (int, float)) and 0 <= r.leak <= 1):
        raise ValueError(f"leak must be in [0, 1], got {r.leak!r}")
    if not (isinstance(r.retry_lr, (int, float)) and 0 < r.retry_lr <= 1):
        raise ValueError(f"retry_lr must be in (0, 1], got {r.retry_lr!r}")
    if r.chunk < 1 or r.eval_every < 1 or r.patience < 1:
        raise ValueError("chunk, eval_every and patience must be positive")


#: The FER paper's SGD replica: Adam 3e-3, unit-norm gradients, 100k full 256² images.
#: (20-step chunks: a 256² step takes ~0.1 s, and Ctrl-C is seen between chunks.)
PAPER = Recipe(name="paper", steps=100_000, lr=3e-3, res=256, batch=None, grad_norm="unit",
               schedule="constant", chunk=20, eval_every=1000)

#: Same architecture and loss, ~40x fewer pixel-steps: random 2048-pixel minibatches of the
#: 256² image, a 5% warmup to a peak rate above the paper's and a cosine decay to 1% that
#: does the polishing a constant rate cannot, and a gradient through the colour clips.
#: Why the leak: LeCun-normal weights already put most pixels' saturation and value outside
#: [0, 1], where the clip passes no gradient; within a few hundred steps every pixel can end
#: there (a flat white or red picture, or the shape in grey) and the exact gradient is then
#: zero for good, at the paper's rate as well as at higher ones. With the leak such runs
#: come back. On targets that are mostly saturated (mostly white) the outputs can still run
#: away at a high rate, where the clip has no error to pull them back: such a run is caught
#: (worse than a flat picture) and retried with the next seed at half the rate.
FAST = Recipe(name="fast", steps=9000, lr=1e-2, res=256, batch=2048, grad_norm="unit",
              schedule="cosine", warmup=0.05, min_warmup=100, final_lr=0.01, chunk=250,
              eval_every=250, patience=4, leak=0.1, retry_lr=0.5)

RECIPES: dict[str, Recipe] = {"paper": PAPER, "fast": FAST}


def get_recipe(recipe: str | Recipe) -> Recipe:
    if isinstance(recipe, Recipe):
        return recipe
    try:
        return RECIPES[str(recipe)]
    except KeyError:
        raise ValueError(f"unknown recipe {recipe!r}: choose from {', '.join(RECIPES)}") from None
