"""The fault-injection suite: kills, races and full disks never leave a mixed run folder.

``raregal.bench.faults`` breaks three searches (a first search, a re-clustering that reuses the
UMAP, a new input with new UMAP parameters) at every point where they change the folder: a copy
as ``kill -9`` leaves it, the stopped writer's own folder, real ``kill -9`` of child processes, a
second writer refused or waiting, ENOSPC half way through each write and a real full tmpfs
(where one can be mounted). The figures are printed; ``python -m raregal.bench.faults --out
benchmarks/results`` writes them to ``faults.json`` and ``faults.md``.
"""

from __future__ import annotations

import json

import pytest

from raregal.bench.faults import run_faults, write_results


@pytest.mark.slow
def test_no_fault_leaves_a_mixed_run_folder(tmp_path, capsys):
    figures = run_faults(tmp_path / "work", real_kills=True, tmpfs=True, races_every=2)
    json_path, _ = write_results(figures, tmp_path / "results", "pytest tests/bench/test_faults.py")
    with capsys.disabled():
        print(f"\nfault injection ({figures.seconds} s): {figures.summary()}")
    assert figures.problems == []
    assert figures.inconsistent == 0 and figures.unclean_reruns == 0
    assert figures.kills >= 55 and figures.interrupts >= 55 and figures.real_kills >= 6
    assert figures.races_refused >= 25 and figures.races_waited >= 25
    assert figures.disk_full >= 20
    record = json.loads(json_path.read_text())
    assert record["figures"]["inconsistent"] == 0 and "kills tried" in record["summary"]
