"""Atomic writes: whole or nothing, with the mode the user's umask gives."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from raregal.io.atomic import atomic_path
from raregal.io.runfolder import RunFolder
from raregal.io.tables import write_table


@pytest.fixture
def umask():
    """Set the process umask for a test, then restore it."""
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_get_the_mode_of_the_umask(tmp_path, umask, mask, expected):
    """Every output used to be 0600 whatever the umask (mkstemp's mode stayed with the file), so
    a colleague or a web server could not read a run."""
    umask(mask)
    table = write_table(pd.DataFrame({"id_str": ["a"], "x": [1.0]}), tmp_path / "t.parquet")
    run = RunFolder(tmp_path / "run")
    run.write_table("selection", pd.DataFrame({"id_str": ["a"], "kept": [True],
                                               "removed_by": [""]}))  # fmt: skip
    run.save()
    for path in (table, run.path / "selection.parquet", run.path / "run.json"):
        assert mode(path) == expected, path


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_temporary_names_are_recognised_for_their_target(tmp_path):
    from raregal.io.atomic import is_temporary_of

    with atomic_path(tmp_path / "clusters.parquet") as tmp:
        assert is_temporary_of(tmp.name, "clusters.parquet")
        assert not is_temporary_of(tmp.name, "clusters.parquet.x")
        tmp.write_text("x")
