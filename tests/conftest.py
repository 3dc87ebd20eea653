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


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, with the flags CI uses (skips where it is not installed)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from raregal.bench.explore import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian chromium is not installed at {CHROMIUM}")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        yield b
        b.close()
