"""The benchmark harness: a tiny real run of each suite, and the figures it computes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from raregal.bench import BenchParams, run_benchmarks
from raregal.bench.__main__ import parse
from raregal.bench.quality import clustered_ari, jaccard_matching, planted_recovery
from raregal.bench.speed import growth_exponents
from raregal.bench.stability import persistence
from raregal.constants import NOISE
from raregal.errors import InputError


def test_quick_run_writes_json_and_markdown(tmp_path):
    """Speed (one config, its own process) and stability at tiny sizes: real figures."""
    params = BenchParams(
        out=tmp_path / "results", work=tmp_path / "work", only=["speed", "stability"],
        sizes=[1500], seeds=[0, 1], quality_size=1200, configs=["raregal"],
    )  # fmt: skip
    run_benchmarks(params, ["--quick"])
    record = json.loads((tmp_path / "results" / "bench.json").read_text())
    assert record["machine"]["cores"] >= 1 and record["versions"]["umap-learn"]
    assert record["command"] == "python -m raregal.bench --quick"
    speed = record["suites"]["speed"]["sizes"]["1500"]
    ours = speed["configs"]["raregal"]
    assert ours["search_s"] >= ours["hdbscan_s"] > 0 and ours["neighbors_s"] > 0
    assert ours["peak_gib"] > 0
    assert ours["recovery"]["classes"] == 4
    stability = record["suites"]["stability"]["rows"]
    assert {row["pipeline"] for row in stability} == {"raregal", "reference"}
    markdown = (tmp_path / "results" / "bench.md").read_text()
    assert "| 1500 | raregal |" in markdown and "## stability" in markdown
    # a second call resumes: the measured configuration is kept, not re-run
    before = (tmp_path / "work" / "speed" / "n1500_s0" / "raregal.json").stat().st_mtime
    run_benchmarks(BenchParams(**{**params.__dict__, "only": ["speed"]}), [])
    after = (tmp_path / "work" / "speed" / "n1500_s0" / "raregal.json").stat().st_mtime
    assert before == after
    again = json.loads((tmp_path / "results" / "bench.json").read_text())
    assert "stability" in again["suites"]


def test_unknown_suite_is_refused(tmp_path):
    with pytest.raises(InputError, match="unknown suite"):
        run_benchmarks(BenchParams(out=tmp_path, only=["nonsense"]), [])


def test_command_line_flags():
    params = parse(["--quick", "--only", "speed", "--sizes", "100", "200", "--out", "x"])
    assert params.quick and params.only == ["speed"] and params.resolved_sizes() == [100, 200]
    assert parse(["--out", "x"]).resolved_seeds() == [0, 1, 2]


def test_growth_exponent_of_a_power_law():
    sizes = {
        n: {"configs": {"raregal": {"search_s": 2e-6 * n**1.5}, "reference": None}}
        for n in (50_000, 100_000, 200_000)
    }
    assert growth_exponents(sizes) == {"raregal": {"search": 1.5}}


def test_jaccard_and_persistence():
    a = np.array([0, 0, 0, 0, 1, 1, NOISE, NOISE])
    b = np.array([1, 1, 1, NOISE, 0, 0, 0, NOISE])  # cluster 0 of a keeps 3 of 4; 1 gains one
    np.testing.assert_allclose(jaccard_matching(a, b), [3 / 4, 2 / 3])
    kept = persistence([a, b, a], threshold=0.7)
    assert kept["persisting"] == 1 and kept["persisting_members"] == pytest.approx(4 / 6, abs=1e-4)
    assert clustered_ari(a, b) == 1.0


def test_planted_recovery_rule():
    groups = np.array([0] * 10 + [1] * 10 + [-1] * 20)
    labels = np.array([0] * 10 + [NOISE] * 10 + [1] * 20)
    found = planted_recovery(groups, labels)
    assert found["recovered"] == 1 and found["classes"] == 2
    assert found["per_class"]["planted_0"] == {
        "members": 10, "recovered": True, "purity": 1.0, "completeness": 1.0,
        "fraction_held": 1.0,
    }  # fmt: skip


@pytest.mark.slow
def test_seeds_and_predict_suites_at_a_tiny_size(tmp_path):
    """The seeds suite (three seeds sharing the graph), the predict suite (self-consistency,
    held-out recovery, batch check, speed) and the three-seed speed configuration, for real at
    tiny sizes: figures, not targets."""
    params = BenchParams(
        out=tmp_path / "results", work=tmp_path / "work", only=["seeds", "predict", "speed"],
        sizes=[1500], quality_size=1500, configs=["raregal", "raregal-3-seeds"],
        predict_n=500, predict_fit_n=1500, image_n=0,
    )  # fmt: skip
    record = run_benchmarks(params, [])
    seeds = record["suites"]["seeds"]["rows"][0]
    assert seeds["n_seeds"] == 3 and seeds["shared"] == "neighbours, graph and start"
    assert seeds["found_in_3"] + seeds["found_in_2"] + seeds["found_in_1"] == seeds["clusters"]
    assert seeds["all_seeds_s"] > seeds["first_seed_s"] > 0
    predict = record["suites"]["predict"]
    figures = predict["rows"][0]
    assert figures["fitted"] + figures["held_out"] == 1500 and figures["self_agreement"] >= 0.9
    assert figures["batch_max_coordinate_change"] == 0.0 and figures["batch_same_labels"]
    speed = predict["tables"][1]["rows"][0]
    assert speed["predict_n"] == 500 and speed["predict_s"] > 0
    size = record["suites"]["speed"]["sizes"]["1500"]
    three = size["configs"]["raregal-3-seeds"]
    assert three["seeds"]["n_seeds"] == 3 and three["hdbscan_s"] > 0
    assert size["seeds_vs_one_seed"] == pytest.approx(
        three["search_s"] / size["configs"]["raregal"]["search_s"], abs=0.01)
    markdown = (tmp_path / "results" / "bench.md").read_text()
    assert "## seeds" in markdown and "## predict" in markdown and "3 seeds / 1 seed" in markdown
