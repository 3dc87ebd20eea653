"""``raregal search`` in-process: the run folder, reuse of the stored UMAP, one-line errors."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from raregal.cli import app, main
from raregal.synthetic import make_representations

runner = CliRunner()
FAST = ["--n-neighbors", "15", "--n-epochs", "30", "--min-samples", "15"]


@pytest.fixture(scope="module")
def reps_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "reps.parquet"
    df = make_representations(1200, n_features=12, seed=5, morphology=True, group_sizes=(120, 80))
    df.to_parquet(path)
    return path


def test_search_writes_the_run_folder_then_reuses_the_umap(reps_path, tmp_path):
    out = tmp_path / "run"
    first = runner.invoke(app, ["search", str(reps_path), "--out", str(out), *FAST])
    assert first.exit_code == 0, first.output
    assert "embedding computed" in first.output and f"run folder: {out}" in first.output
    for name in ("run.json", "selection.parquet", "embedding.parquet", "galaxies.parquet",
                 "clusters.parquet", "condensed_tree.parquet", "recovery.csv"):  # fmt: skip
        assert (out / name).exists(), name
    record = json.loads((out / "run.json").read_text())
    n_clusters = record["search"]["summary"]["clusters"]
    assert f"{n_clusters} clusters" in first.output
    second = runner.invoke(
        app, ["search", str(reps_path), "--out", str(out), *FAST, "--min-cluster-size", "40"]
    )
    assert second.exit_code == 0, second.output
    assert "embedding reused from the run folder" in second.output
    record = json.loads((out / "run.json").read_text())
    assert record["stages"]["reduce"]["reused"] is True
    assert record["stages"]["cluster"]["params"]["min_cluster_size"] == 40
    sizes = record["search"]["summary"]["sizes"]
    assert all(size >= 40 for size in sizes)


def test_scale_to_sample_and_engine_choice(reps_path, tmp_path):
    out = tmp_path / "run"
    args = ["search", str(reps_path), "--out", str(out), "--n-neighbors", "15", "--n-epochs",
            "30", "--scale-to-sample", "--engine", "hdbscan"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    used = record["search"]["params_used"]
    n = record["counts"]["selected"]
    assert used["min_samples"] == max(5, round(300 * n / 632_000))
    assert record["stages"]["cluster"]["engine"] == "hdbscan"


def test_help_explains_each_parameter_with_the_papers_value():
    result = runner.invoke(app, ["search", "--help"], env={"COLUMNS": "240"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for phrase in ("(default: 300)", "(default: 10)", "(default: 50)", "(default: 5)",
                   "(default: 0.5)", "(default: 0.3)", "--morphology",
                   "--scale-to-sample", "--drop-invalid", "--keep-artifacts", "--edge-on-rule",
                   "fast_hdbscan", "--seed", "--id-column", "--morphology-id-column"):  # fmt: skip
        assert phrase in text, phrase


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-samples", "5000"], "min_samples=5000 needs more than 5000 galaxies; 765 were"),
        (["--engine", "dbscan"], "parameter 'engine' must be one of"),
        (["--n-neighbors", "1"], "parameter 'n_neighbors' must be int in [2, inf]; got 1"),
        (["--edge-on-rule", "both"], "parameter 'edge_on_rule' must be one of"),
    ],
)
def test_bad_input_is_one_line_with_exit_2(reps_path, tmp_path, monkeypatch, capsys, args, message):
    argv = ["raregal", "search", str(reps_path), "--out", str(tmp_path / "run"), *args]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1]
    assert "Traceback" not in "\n".join(err)


def test_not_a_table_names_the_file(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "reps.csv"
    bad.write_bytes(b"\x00\x00\x00")
    monkeypatch.setattr(sys, "argv", ["raregal", "search", str(bad), "--out", str(tmp_path / "r")])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    assert str(bad) in capsys.readouterr().err


def test_drop_invalid_counts_what_it_drops(reps_path, tmp_path):
    import pandas as pd

    df = pd.read_parquet(reps_path)
    df.loc[[3, 8], "feat_0"] = np.nan
    path = tmp_path / "bad.parquet"
    df.to_parquet(path)
    refused = runner.invoke(app, ["search", str(path), "--out", str(tmp_path / "r"), *FAST])
    assert refused.exit_code != 0 and "2 row(s) have NaN or inf" in str(refused.exception)
    result = runner.invoke(
        app, ["search", str(path), "--out", str(tmp_path / "r"), *FAST, "--drop-invalid"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "r" / "run.json").read_text())
    assert record["counts"]["invalid_features"] == 2
    selection = pd.read_parquet(tmp_path / "r" / "selection.parquet")
    assert (selection["removed_by"] == "invalid_features").sum() == 2
