"""Breed: Picbreeder as a local web app (``ferlab serve``).

``create_app(db_path)`` builds the FastAPI app; :mod:`ferlab.web.service` holds the actions
without HTTP, :mod:`ferlab.web.imaging` the pictures.
"""
from __future__ import annotations


def create_app(db_path=None):
    """The FastAPI app over the SQLite database at ``db_path`` (default: the user's data dir)."""
    from ferlab.web.app import create_app as _create

    return _create(db_path)


__all__ = ["create_app"]
