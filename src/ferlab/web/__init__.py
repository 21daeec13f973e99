"""Breed: Picbreeder as a local web app (``ferlab serve``).

``create_app(db_path)`` builds the FastAPI app; :mod:`ferlab.web.service` holds the actions
without HTTP, :mod:`ferlab.web.imaging` the pictures.
"""
from __future__ import annotations


def create_app(db_path=None, **options):
    """The FastAPI app over the SQLite database at ``db_path`` (default: the user's data dir);
    ``options`` go to :func:`ferlab.web.app.create_app` (e.g. ``allowed_hosts``)."""
    from ferlab.web.app import create_app as _create

    return _create(db_path, **options)


__all__ = ["create_app"]
