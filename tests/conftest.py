"""Shared fixtures: the real reference data lives in FERLAB_SHARED (default ../shared)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    return Path(os.environ.get("FERLAB_SHARED", ROOT.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared data folder; a missing folder fails under CI=true and skips elsewhere."""
    path = shared_dir()
    if not (path / "reference").is_dir():
        msg = f"shared data not found at {path} (set FERLAB_SHARED)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


CPPNX_NAMES = [
    "1009_ButterflyGreyscale", "121_ShortSDCoif", "4376_ButterflyColor", "542_GhostFaceSpooky",
    "576_Skull", "613_SadFace", "745_LetterG", "765_PlaneOnRunway",
]
