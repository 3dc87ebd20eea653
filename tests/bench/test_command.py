"""The command suite: commands timed from outside, with the memory of their whole process tree."""

from __future__ import annotations

import json
import sys

import pytest

from raregal.bench import BenchParams, run_benchmarks
from raregal.bench.command import run_measured, summarise

HOLD = "import time; x = bytearray({mib} << 20); x[::4096] = b'1' * len(x[::4096]); time.sleep(1)"


def test_peak_memory_counts_the_workers(tmp_path):
    """A parent holding 100 MiB starts a child holding 300 MiB: the tree's peak is their sum;
    the kernel's high-water mark of one process is only the larger of the two, whatever the
    size of the process that runs the command (here pytest, often above 1 GiB)."""
    child = HOLD.format(mib=300)
    parent = (f"import subprocess, sys; {HOLD.format(mib=100)}; "
              f"subprocess.run([sys.executable, '-c', {child!r}])")  # fmt: skip
    measured = run_measured([sys.executable, "-c", parent], {}, tmp_path / "log")
    assert measured["returncode"] == 0 and measured["wall_s"] >= 1.0
    assert measured["peak_gib"] >= 0.38  # 400 MiB, sampled while both hold their share
    assert 0.29 < measured["peak_process_gib"] < measured["peak_gib"] - 0.05


def test_failed_command_is_reported(tmp_path):
    measured = run_measured([sys.executable, "-c", "raise SystemExit(3)"], {}, tmp_path / "log")
    assert measured["returncode"] == 3


def test_summary_of_seeds():
    def run(wall, recovered, held):
        return {"wall_s": wall, "peak_gib": wall / 100, "recovered": recovered, "classes": 4,
                "mean_fraction_held": held, "min_fraction_held": held - 0.2}  # fmt: skip

    runs = {0: {"raregal": run(10, 4, 0.9), "reference": run(60, 4, 0.8)},
            1: {"raregal": run(20, 3, 0.7), "reference": run(60, 4, 0.9)}}  # fmt: skip
    summary = summarise(1000, runs)
    assert summary["speedup_per_seed"] == [6.0, 3.0] and summary["speedup_total"] == 4.0
    assert summary["raregal"]["worst_recovered"] == 3
    assert summary["raregal"]["mean_recovered"] == 3.5
    assert summary["reference"]["worst_fraction_held"] == pytest.approx(0.6)
    assert summary["raregal"]["max_peak_gib"] == 0.2
    assert "raregal-3-seeds" not in summary
    runs[0]["raregal-3-seeds"] = run(25, 4, 0.9)
    several = summarise(1000, runs)["raregal-3-seeds"]
    assert several["over_one_seed"] == 2.5 and several["over_reference"] == pytest.approx(0.42)


@pytest.mark.slow
def test_quick_command_suite(tmp_path):
    """``raregal search`` and the reference script on one small table, end to end; a large
    run recorded by an earlier invocation stays in bench.json and bench.md."""
    params = BenchParams(out=tmp_path / "results", work=tmp_path / "work", only=["command"],
                         quick=True, sizes=[2500], seeds=[0])  # fmt: skip
    earlier_large = {"n": 9000, "command": ["raregal", "search", "--seed", "0"], "wall_s": 9.5,
                     "peak_gib": 0.5, "recovered": 4, "classes": 4, "mean_fraction_held": 1.0}
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "bench.json").write_text(json.dumps(
        {"suites": {"command": {"large": earlier_large, "started": "earlier"}}}))  # fmt: skip
    run_benchmarks(params, [])
    suite = json.loads((tmp_path / "results" / "bench.json").read_text())["suites"]["command"]
    runs = suite["sizes"]["2500"]["runs"]["0"]
    ours, ref = runs["raregal"], runs["reference"]
    assert abs(ours["selected"] - 2500) < 150 and ours["selected"] == ref["selected"]
    assert ours["classes"] == ref["classes"] == 4
    assert {"reduce", "cluster", "select"} <= set(ours["stages_s"])
    assert ours["steps_s"]["reduce.map_layout"] > 0 and ref["steps_s"]["umap_2d"] > 0
    assert ours["peak_gib"] > 0.1 and ref["peak_gib"] > 0.1
    assert suite["sizes"]["2500"]["summary"]["speedup_total"] > 0
    markdown = (tmp_path / "results" / "bench.md").read_text()
    assert "| 2500 | 0 | raregal |" in markdown and "| 2500 | 0 | reference |" in markdown
    several = runs["raregal-3-seeds"]
    assert several["command"][-2:] == ["--n-seeds", "3"] and several["selected"] == ours["selected"]
    assert {"reduce.seed_1_layout", "reduce.seed_2_layout"} <= set(several["steps_s"])
    assert "reduce.seed_1_layout" not in ours["steps_s"]
    assert "Three seeds" in markdown
    assert suite["large"]["wall_s"] == 9.5 and suite["large"]["earlier_run"]["started"] == "earlier"
    assert "Large run (not repeated here: kept from the run started earlier" in markdown


def test_an_earlier_large_run_and_compile_cost_are_kept_and_marked(tmp_path):
    """Rerunning the sizes without ``--large-n`` (or with ``--compile-n 0``) keeps the last
    large run's record (and compile cost), labelled with when and where it was measured,
    instead of dropping it from bench.md."""
    from raregal.bench.harness import earlier_runs
    from raregal.bench.report import markdown

    large = {"n": 2_000_000, "command": ["raregal", "search", "--seed", "0"], "selected": 2_007_354,
             "wall_s": 1049.8, "peak_gib": 14.3, "recovered": 4, "classes": 4,
             "mean_fraction_held": 1.0, "steps_s": {"reduce.embedding_layout": 252.5}}  # fmt: skip
    machine = {"cpu_model": "AMD EPYC", "cores": 2}
    cost = {"cold_s": 43.4, "warm_s": 8.8, "first_run_extra_s": 34.6, "cold_cpu_s": 41.7,
            "warm_cpu_s": 8.5}  # fmt: skip
    compile_cost = {"n": 20000, "raregal": cost}
    earlier = {"suites": {"command": {"large": large, "compile_cost": compile_cost,
                                      "started": "2026-12-01T08:25:05+00:00",
                                      "machine": machine}}}  # fmt: skip
    (tmp_path / "bench.json").write_text(json.dumps(earlier))
    result = {"sizes": {}, **earlier_runs(tmp_path / "bench.json", ["large", "compile_cost"])}
    assert result["large"]["wall_s"] == 1049.8
    assert result["large"]["earlier_run"]["started"] == "2026-12-01T08:25:05+00:00"
    text = markdown({"suites": {"command": result}, "machine": machine, "versions": {}})
    assert text.count("not repeated here") == 2 and "AMD EPYC, 2 cores" in text
    assert "| 2000000 |" in text and "| raregal | 43.4 |" in text
    assert earlier_runs(tmp_path / "missing.json", ["large"]) == {}
    assert earlier_runs(tmp_path / "bench.json", []) == {}
