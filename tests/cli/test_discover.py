"""``raregal rank`` and ``raregal find`` in-process, on a small run folder."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from raregal.cli import app

runner = CliRunner()


@pytest.fixture
def run_dir(tmp_path, gz_examples):
    from runfolders import build_discovery_run

    return build_discovery_run(tmp_path, gz_examples)


def test_rank_writes_the_queue_and_prints_the_ranked_clusters(run_dir):
    result = runner.invoke(app, ["rank", str(run_dir), "--rare-fraction", "0.1", "--no-gallery"])
    assert result.exit_code == 0, result.output
    assert (run_dir / "candidates.parquet").exists()
    clusters = pd.read_parquet(run_dir / "clusters.parquet").sort_values("interest_rank")
    first = clusters.iloc[0]
    assert f"{first['letter']:>3} {first['size']:6d} galaxies  {first['description']}" in (
        result.output)
    assert "main population: 1 cluster(s)" in result.output
    assert "weirdest first, 788 galaxies (630 selected)" in result.output
    assert "removed by the selection" in result.output or "cluster " in result.output


def test_rank_refuses_a_bad_parameter_in_one_line(run_dir):
    result = runner.invoke(app, ["rank", str(run_dir), "--rare-fraction", "3"])
    assert result.exit_code != 0
    assert "'rare_fraction' must be float in [1e-06, 0.5]; got 3.0" in str(result.exception)


def test_find_writes_every_ranked_galaxy_best_first(run_dir, tmp_path):
    reps = pd.read_parquet(run_dir / "representations.parquet", columns=["id_str", "true_class"])
    merger = reps.loc[reps["true_class"] == "merger", "id_str"].tolist()
    out = tmp_path / "found.csv"
    positives = [word for i in merger[:3] for word in ("--positive", i)]
    args = ["find", str(run_dir), *positives, "--negative", reps.loc[0, "id_str"], "--out",
            str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    found = pd.read_csv(out)
    assert len(found) == 788 and found["rank"].tolist() == list(range(1, 789))
    assert found.head(len(merger))["id_str"].isin(merger).mean() >= 0.9
    assert found.iloc[-1]["id_str"] == reps.loc[0, "id_str"]
    assert f"found: {out}" in result.output
    unknown = runner.invoke(app, ["find", str(run_dir), "--positive", "nope"])
    assert unknown.exit_code != 0 and "1 positive id(s) not among" in str(unknown.exception)
