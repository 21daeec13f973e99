"""ferlab: breed, train and dissect image-generating networks (CPPNs).

The flow is one way: genome -> network -> images/metrics -> figures/report.
"""
from ferlab.genome import Genome, GenomeError, Link, Node
from ferlab.picbreeder import load_genome, save_genome
from ferlab.canvas import Canvas
from ferlab.render import render_genome
from ferlab.dense import Arch, DenseCPPN
from ferlab.layerize import layerize

__all__ = [
    "Arch", "Canvas", "DenseCPPN", "Genome", "GenomeError", "Link", "Node",
    "layerize", "load_genome", "render_genome", "save_genome",
]
__version__ = "0.1.0"
