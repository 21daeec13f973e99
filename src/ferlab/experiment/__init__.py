"""Experiments at scale: one TOML config -> a grid of cells (genomes × seeds × grid axes),
run on a local process pool or a Ray cluster, into one results table and an HTML summary.

    from ferlab.experiment import load_plan, run_experiment, ProcessPool
    plan = load_plan("examples/paper_comparison.toml")
    with ProcessPool(workers=2) as pool:
        run_experiment(plan, "out/", pool)

Each cell is a pure function of its config (hash over the genome file's bytes, the seed and
every step setting), so a folder resumes by hash and any executor gives the same table.
"""
from ferlab.experiment.config import Cell, ConfigError, Plan, load_plan, parse_plan
from ferlab.experiment.executors import ProcessPool, RayExecutor
from ferlab.experiment.results import read_rows
from ferlab.experiment.run import (ExperimentInterrupted, RunSummary, run_experiment,
                                   status_report)
from ferlab.experiment.steps import STEPS, Step, register

__all__ = ["Cell", "ConfigError", "ExperimentInterrupted", "Plan", "ProcessPool", "RayExecutor",
           "RunSummary", "STEPS", "Step", "load_plan", "parse_plan", "read_rows", "register",
           "run_experiment", "status_report"]
