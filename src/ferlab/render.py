"""Genome -> image: the engine's single-genome entry points under their original names.

Kept so that ``from ferlab.render import render_genome`` goes on working; the code lives in
:mod:`ferlab.engine`.
"""
from ferlab.engine import Level, Plan, Render, compile_genome, render_genome, weights_fn

__all__ = ["Level", "Plan", "Render", "compile_genome", "render_genome", "weights_fn"]
