"""SGD replicas of CPPNs: the FER paper's training recipe and a much faster one.

    from ferlab.train import train
    result = train(genome, recipe="fast", seed=0, target_mse=1e-3, max_attempts=3)
    result.status, result.attempts, result.final_mse   # 'converged', [{seed, status, ...}], ...
    result.net.save("replica.npz")
"""
from ferlab.train.checkpoint import TrainState, load_checkpoint, save_checkpoint
from ferlab.train.health import STATUSES, diagnose
from ferlab.train.loop import (DEFAULT_MAX_ATTEMPTS, DEFAULT_TARGET_MSE, SNAPSHOT_STEPS,
                               TrainingInterrupted, TrainResult, grid_inputs, init_kernels,
                               make_optimizer, mse_loss, train)
from ferlab.train.outputs import save_outputs
from ferlab.train.recipes import FAST, PAPER, RECIPES, Recipe, Stage, get_recipe
from ferlab.train.targets import DEFAULT_IMAGE_ARCH, Target, load_target, read_image, resolve_arch

__all__ = [
    "DEFAULT_IMAGE_ARCH", "DEFAULT_MAX_ATTEMPTS", "DEFAULT_TARGET_MSE", "FAST", "PAPER",
    "RECIPES", "Recipe", "SNAPSHOT_STEPS", "STATUSES", "Stage", "Target", "TrainResult",
    "TrainState", "TrainingInterrupted", "diagnose", "get_recipe", "grid_inputs",
    "init_kernels", "load_checkpoint", "load_target", "make_optimizer", "mse_loss",
    "read_image", "resolve_arch", "save_checkpoint", "save_outputs", "train",
]
