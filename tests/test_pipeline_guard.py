"""The pipeline records which model made the representations and what the domain guard found."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd

from raregal.io.runfolder import RunFolder
from raregal.io.tables import write_table
from raregal.pipeline import guard_stage, table_model
from raregal.schema import FRACTION_COLUMNS


def _degenerate_table(path, n=100):
    """Every image gets the same answers, most of them edge-on: what a lost encoder gives."""
    frame = pd.DataFrame(np.full((n, len(FRACTION_COLUMNS)), 0.3), columns=FRACTION_COLUMNS)
    frame["disk-edge-on_yes_fraction"] = 0.7
    frame.insert(0, "id_str", [f"g{i}" for i in range(n)])
    for j in range(4):
        frame[f"feat_{j}"] = np.linspace(0, 1, n)
    write_table(frame, path, metadata={"model": {"name": "demo", "arch": "convnext_atto"}})
    return path


def test_guard_stage_warns_once_and_records_model_and_figures(tmp_path, caplog):
    run = RunFolder(tmp_path / "run")
    table = _degenerate_table(tmp_path / "reps.parquet")
    with caplog.at_level(logging.WARNING, logger="raregal.pipeline"):
        guard_stage(run, table, "demo", keep_artifacts=False)
    run.save()
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    guard = record["domain_guard"]
    assert guard["warned"] and "removal_edge_on" in guard["failed"]
    assert guard["figures"]["removed_share"]["edge_on"] > 0.99
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0] and "100% would be removed" in warnings[0]
    model = record["model"]
    assert model["name"] == "demo" and model["arch"] == "convnext_atto"
    assert "simulated galaxies" in model["trained_on"] and "reference" not in model


def test_a_representation_table_names_the_model_its_metadata_records(tmp_path):
    table = _degenerate_table(tmp_path / "reps.parquet")
    assert table_model(table)["name"] == "demo"
    plain = tmp_path / "plain.csv"
    pd.DataFrame({"id_str": ["a"], "feat_0": [1.0]}).to_csv(plain, index=False)
    assert table_model(plain)["name"].startswith("unknown")
