"""SGD replicas of CPPNs: the FER paper's training recipe and a much faster one.

    from ferlab.train import train
    result = train(genome, recipe="fast")          # or "paper", or a Recipe
    result.net.save("replica.npz"); result.final_mse
"""
from ferlab.train.checkpoint import TrainState, load_checkpoint, save_checkpoint
from ferlab.train.loop import (SNAPSHOT_STEPS, TrainingDiverged, TrainingInterrupted, TrainResult,
                               grid_inputs, init_kernels, make_optimizer, mse_loss, train)
from ferlab.train.outputs import save_outputs
from ferlab.train.recipes import FAST, PAPER, RECIPES, Recipe, Stage, get_recipe
from ferlab.train.targets import DEFAULT_IMAGE_ARCH, Target, load_target, read_image, resolve_arch

__all__ = [
    "DEFAULT_IMAGE_ARCH", "FAST", "PAPER", "RECIPES", "Recipe", "SNAPSHOT_STEPS", "Stage",
    "Target", "TrainResult", "TrainState", "TrainingDiverged", "TrainingInterrupted",
    "get_recipe", "grid_inputs", "init_kernels", "load_checkpoint", "load_target",
    "make_optimizer", "mse_loss", "read_image", "resolve_arch", "save_checkpoint",
    "save_outputs", "train",
]
