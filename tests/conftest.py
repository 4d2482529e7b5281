"""Shared fixtures: the location of ../shared/data and the marker that needs it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SEQ2SEQ_GYM_SHARED_DATA", ROOT.parent / "shared" / "data"))


def pytest_configure(config):
    # The test models are small: one intra-op thread is several times faster than
    # two on a loaded 2-core machine (thread hand-off dominates such small ops).
    import torch

    torch.set_num_threads(int(os.environ.get("SEQ2SEQ_GYM_TEST_THREADS", "1")))


def pytest_collection_modifyitems(config, items):
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"shared data folder not found at {SHARED_DATA}")
    for item in items:
        if "needs_shared_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ``../shared/data`` (tests using it carry ``@pytest.mark.needs_shared_data``)."""
    return SHARED_DATA
