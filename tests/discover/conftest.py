"""Fixtures of the discovery loop's tests: one small run folder (``build_discovery_run``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def discovery_source(tmp_path_factory, gz_examples) -> Path:
    """The run folder, built once; tests that write into a run copy it (``discovery_run``)."""
    from runfolders import build_discovery_run

    return build_discovery_run(tmp_path_factory.mktemp("discovery"), gz_examples)


@pytest.fixture
def discovery_run(discovery_source, tmp_path) -> Path:
    """A fresh copy of the run folder for a test that writes into it."""
    target = tmp_path / "run"
    shutil.copytree(discovery_source, target)
    return target
