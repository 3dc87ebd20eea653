"""The main job end to end: input detection, stage caching, report, on real computation."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from raregal.cli import app
from raregal.errors import InputError
from raregal.pipeline import input_kind, run_pipeline
from raregal.synthetic import make_representations

FAST = {"min_samples": 10, "min_cluster_size": 10, "n_neighbors": 15, "n_epochs": 60}
"""Small-sample search parameters: tests run on ~1.5k galaxies, not the paper's 632k."""


@pytest.fixture(scope="module")
def representations(tmp_path_factory) -> Path:
    """1,600 generated galaxies with two planted groups and GZ DESI fractions."""
    df = make_representations(1600, 16, group_sizes=(120, 90), seed=3, morphology=True)
    path = tmp_path_factory.mktemp("reps") / "representations.parquet"
    df.to_parquet(path)
    return path


def test_input_kind_tells_folders_catalogs_and_representation_tables(tmp_path, representations):
    assert input_kind(representations) == "representations"
    assert input_kind(tmp_path) == "images"
    catalog = tmp_path / "catalog.csv"
    pd.DataFrame({"id_str": ["a"], "file_loc": ["a.png"]}).to_csv(catalog, index=False)
    assert input_kind(catalog) == "catalog"
    other = tmp_path / "other.csv"
    pd.DataFrame({"id_str": ["a"], "mag": [19.0]}).to_csv(other, index=False)
    with pytest.raises(InputError, match=r"other\.csv.*neither a representation table"):
        input_kind(other)
    with pytest.raises(InputError, match="input not found"):
        input_kind(tmp_path / "missing.parquet")


def test_pipeline_on_a_table_writes_run_report_and_recovers_planted_groups(
    tmp_path, representations
):
    run_dir = tmp_path / "run"
    result = run_pipeline(representations, run_dir, **FAST)
    assert result.input_kind == "representations"
    for name in ("galaxies", "clusters", "condensed_tree", "embedding", "selection"):
        assert (run_dir / f"{name}.parquet").exists(), name
    assert result.report == run_dir / "report" / "index.html" and result.report.exists()
    record = json.loads((run_dir / "run.json").read_text())
    assert record["stages"]["report"]["index"] == str(result.report)
    assert record["inputs"]["representations"]["checksum"].startswith("sha256:")
    recovery = pd.DataFrame(record["recovery"]).set_index("true_class")
    planted = [c for c in recovery.index if c != "bulk"]
    assert len(planted) == 2
    assert recovery.loc[planted, "recovered"].all(), recovery

    rerun = run_pipeline(representations, run_dir, report=False, **{**FAST, "min_cluster_size": 15})
    record = json.loads((run_dir / "run.json").read_text())
    assert record["stages"]["reduce"]["reused"] is True
    assert rerun.search.params_used_["min_cluster_size"] == 15


def test_run_cli_refuses_a_non_table_with_one_line(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a table")
    result = CliRunner().invoke(app, ["run", str(bad), "--out", str(tmp_path / "run")])
    assert result.exit_code != 0
    assert "notes.txt" in str(result.exception) or "notes.txt" in result.output
