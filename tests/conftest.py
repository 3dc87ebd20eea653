"""Shared fixtures: small seeded data, never downloads, never a global random seed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# numba's OpenMP threads sleep instead of spinning while they wait: on a shared 2-core machine
# spinning made fast_hdbscan 20x slower (docs/benchmarks.md). Set before numba starts threads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".numba_cache"))

GZ_EXAMPLES = Path(__file__).resolve().parent / "data" / "gz_examples"
"""Real Galaxy Zoo cutouts that ship with the tests (see its README and NOTICE)."""


@pytest.fixture
def rng():
    """A fresh seeded generator per test."""
    import numpy as np

    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def gz_examples() -> Path:
    """The real Galaxy Zoo example cutouts in ``tests/data`` (read-only)."""
    return GZ_EXAMPLES
