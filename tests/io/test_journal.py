"""The commit of a run folder: a kill at any step leaves the old or the new result."""

from __future__ import annotations

import shutil

import pytest

from raregal.bench.fault_points import FaultInjector, Killed, snapshot_and_stop
from raregal.io import journal


def old_folder(root):
    root.mkdir()
    (root / "run.json").write_text("old record")
    for name in ("galaxies.parquet", "clusters.parquet", "stale.csv"):
        (root / name).write_text(f"old {name}")
    return root


def stage_new(root):
    pending = journal.pending_dir(root)
    pending.mkdir(parents=True)
    for name in ("galaxies.parquet", "clusters.parquet", "leftover.parquet"):
        (pending / name).write_text(f"new {name}")


def view(root, through=True):
    """What a reader sees: through an unfinished commit, or after finishing it."""
    if not through:
        journal.roll_forward(root)
    names = ("run.json", "galaxies.parquet", "clusters.parquet", "stale.csv")
    return {n: (journal.resolve(root, n).read_text() if journal.resolve(root, n).exists()
                else None) for n in names}  # fmt: skip


OLD = {"run.json": "old record", "galaxies.parquet": "old galaxies.parquet",
       "clusters.parquet": "old clusters.parquet", "stale.csv": "old stale.csv"}  # fmt: skip
NEW = {"run.json": "new record", "galaxies.parquet": "new galaxies.parquet",
       "clusters.parquet": "new clusters.parquet", "stale.csv": None}  # fmt: skip


def commit(root):
    journal.commit(root, ["galaxies.parquet", "clusters.parquet"], ["stale.csv"], "new record")


def test_a_commit_moves_the_tables_removes_the_stale_and_writes_the_record_last(tmp_path):
    root = old_folder(tmp_path / "run")
    stage_new(root)
    commit(root)
    assert view(root) == NEW
    assert not journal.pending_dir(root).exists() and not journal.commit_dir(root).exists()


def test_a_kill_at_each_step_of_a_commit_leaves_the_old_or_the_new_result(tmp_path):
    root = old_folder(tmp_path / "run")
    stage_new(root)
    count = shutil.copytree(root, tmp_path / "count")
    with FaultInjector(count).active() as counted:
        commit(count)
    points = counted.points
    assert [p.kind for p in points].count("rename") == 1  # the commit point
    seen = []
    for point in points:
        work, killed = tmp_path / f"w{point.index}", tmp_path / f"k{point.index}"
        shutil.copytree(root, work)
        with pytest.raises(Killed), FaultInjector(work, point.index,
                                                  snapshot_and_stop(killed)).active():  # fmt: skip
            commit(work)
        through, finished = view(killed), view(killed, through=False)
        assert through in (OLD, NEW), point.label
        assert finished == through, point.label
        seen.append("new" if through == NEW else "old")
    commit_point = next(p.index for p in points if p.kind == "rename")
    assert seen == ["old"] * (commit_point + 1) + ["new"] * (len(points) - commit_point - 1)
