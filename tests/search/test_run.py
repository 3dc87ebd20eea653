"""run_search into a run folder that is killed, raced and misused: the old result or the new.

A search from an old result (A) to a new one is stopped at a named fault point; the folder is
copied as ``kill -9`` there leaves it (``raregal.bench.fault_points``) and read as the report and
the explorer read it. Everything runs on one thread, where the UMAP layout is reproducible, so
that a re-run can be compared with the clean result.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading

import pandas as pd
import pytest

from raregal.bench.fault_points import FaultInjector, Killed, hold, snapshot_and_stop
from raregal.errors import RaregalError
from raregal.io.runfolder import RunFolder, file_checksum
from raregal.search import run_search
from threads import numba_threads

FAST = {"n_neighbors": 10, "n_epochs": 20, "min_samples": 10, "min_cluster_size": 10}
RESULT = ("selection", "embedding", "galaxies", "clusters", "condensed_tree")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with pytest.MonkeyPatch.context() as mp, numba_threads(1):
        mp.setenv("RAREGAL_NUM_THREADS", "1")
        yield


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from raregal.synthetic import make_representations

    root = tmp_path_factory.mktemp("inputs")
    paths = []
    for seed in (5, 6):
        df = make_representations(400, n_features=16, seed=seed, morphology=True,
                                  group_sizes=(60, 45))  # fmt: skip
        df.to_parquet(root / f"reps_{seed}.parquet")
        paths.append(root / f"reps_{seed}.parquet")
    return paths


@pytest.fixture(scope="module")
def folder_a(inputs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("a") / "run"
    run_search(inputs[0], folder, **FAST)
    return folder


def tables(folder) -> dict[str, pd.DataFrame]:
    run = RunFolder.open(folder)
    return {name: run.read_table(name) for name in RESULT}


def assert_same_result(folder, reference) -> None:
    found, expected = tables(folder), tables(reference)
    for name in RESULT:
        pd.testing.assert_frame_equal(found[name], expected[name], obj=name)


def killed_copy(folder, command, label, tmp_path):
    """Run ``command`` on a copy of ``folder``, killed at the first fault point ``label``."""
    count = shutil.copytree(folder, tmp_path / "count")
    with FaultInjector(count).active() as counted:
        command(count)
    index = next(p.index for p in counted.points if p.label == label)
    work, killed = shutil.copytree(folder, tmp_path / "work"), tmp_path / "killed"
    with pytest.raises(Killed), FaultInjector(work, index, snapshot_and_stop(killed)).active():
        command(work)
    return killed


def test_a_kill_between_two_table_writes_leaves_the_old_result(folder_a, inputs, tmp_path):
    """Issue 16, case 1: killed after galaxies.parquet was replaced and before clusters.parquet;
    readers then took galaxies of one run with the clusters of another."""

    def recluster(out):
        run_search(inputs[0], out, **{**FAST, "min_cluster_size": 25})

    killed = killed_copy(folder_a, recluster, "write:clusters.parquet", tmp_path)
    assert_same_result(killed, folder_a)  # the old result, whole
    run_search(inputs[0], killed, **FAST)  # the first command again: exit 0, the clean result
    assert_same_result(killed, folder_a)
    assert not list(killed.glob(".*.tmp"))  # the half-written table is gone


def test_a_kill_mid_umap_into_an_existing_run_keeps_its_inputs_and_tables(
    folder_a, inputs, tmp_path
):
    """Issue 16, case 4: run.json and selection.parquet described the new input while galaxies
    and clusters were the old run's, and the report showed them under the new input's name."""

    def new_input(out):
        run_search(inputs[1], out, **{**FAST, "n_neighbors": 12})

    killed = killed_copy(folder_a, new_input, "stage:reduce", tmp_path)
    record = RunFolder.open(killed).record
    assert record["inputs"]["representations"]["checksum"] == file_checksum(inputs[0])
    assert record["search"]["params"]["n_neighbors"] == FAST["n_neighbors"]
    assert_same_result(killed, folder_a)
    new_input(killed)
    record = RunFolder.open(killed).record
    assert record["inputs"]["representations"]["checksum"] == file_checksum(inputs[1])
    assert record["stages"]["reduce"]["params"]["n_neighbors"] == 12


def test_a_second_search_into_a_folder_being_written_is_refused(folder_a, inputs, tmp_path):
    """Issue 16, case 2: two searches into one --out interleaved (galaxies from one, clusters
    and tree from the other). Now the second is refused, naming the first."""
    folder = shutil.copytree(folder_a, tmp_path / "run")
    reference = tmp_path / "reference"
    run_search(inputs[0], reference, **{**FAST, "min_cluster_size": 25})
    reached, go_on = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first():
        try:
            with FaultInjector(folder, 3, hold(reached, go_on)).active() as injector:
                run_search(inputs[0], folder, **{**FAST, "min_cluster_size": 25})
            assert injector.points[3].label == "write:galaxies.parquet"
        except BaseException as exc:
            errors.append(exc)
            reached.set()

    writer = threading.Thread(target=first)
    writer.start()
    assert reached.wait(120)
    refusal = None
    try:
        run_search(inputs[1], folder, **FAST)
    except RaregalError as exc:
        refusal = str(exc)
    finally:
        go_on.set()
        writer.join()
    assert refusal is not None, "the second writer was not refused"
    assert re.search(rf"being written by pid {os.getpid()} on .* since .* \(command: ", refusal)
    assert not errors, errors
    assert_same_result(folder, reference)


def run_cli(monkeypatch, capsys, *args) -> tuple[int, list[str]]:
    from raregal.cli import main

    monkeypatch.setattr(sys, "argv", ["raregal", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        main()
    return info.value.code, capsys.readouterr().err.strip().splitlines()


def test_an_input_inside_the_run_folder_under_a_table_name_is_refused(
    folder_a, tmp_path, monkeypatch, capsys
):
    """Issue 16, case 3: `raregal search D/galaxies.parquet --out D` replaced the input."""
    folder = shutil.copytree(folder_a, tmp_path / "D")
    before = (folder / "galaxies.parquet").read_bytes()
    code, err = run_cli(monkeypatch, capsys, "search", folder / "galaxies.parquet", "--out",
                        folder, "--features", r"umap_\d+", "--n-neighbors", "10",
                        "--n-epochs", "20", "--min-samples", "10")  # fmt: skip
    assert code == 2 and len(err) == 1
    assert "the representations input is this run folder's own galaxies.parquet" in err[0]
    assert (folder / "galaxies.parquet").read_bytes() == before


def test_a_failed_search_leaves_no_empty_out_folder(inputs, tmp_path, monkeypatch, capsys):
    """Issue 16, case 12: a failed search left an empty --out folder."""
    code, err = run_cli(monkeypatch, capsys, "search", inputs[0], "--out", tmp_path / "new",
                        "--min-samples", "5000")  # fmt: skip
    assert code == 2 and "min_samples=5000 needs more than 5000 galaxies" in err[-1]
    assert not (tmp_path / "new").exists()
