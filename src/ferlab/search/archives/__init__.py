"""Archives: what a search keeps (pyribs' role, sized for genomes that are not vectors)."""
from ferlab.search.archives.grid import GridArchive
from ferlab.search.archives.novelty import NoveltyArchive, knn_novelty

__all__ = ["GridArchive", "NoveltyArchive", "knn_novelty"]
