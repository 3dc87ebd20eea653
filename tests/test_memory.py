"""raregal.memory: estimates grow with the work, impossible requests are refused with a usable
suggestion, and the search refuses (or records an override) before its heavy stages."""

from __future__ import annotations

import json
import re

import pytest

from raregal.errors import InputError
from raregal.memory import (
    GIB,
    HEADROOM,
    available_memory,
    check_memory,
    estimate_embed,
    estimate_hdbscan,
    estimate_umap,
    parse_bytes,
)


def test_estimates_grow_with_rows_neighbours_and_density_scale():
    """More rows, more neighbours or a larger min_samples never need less memory."""
    base = estimate_umap(100_000, 128, 50).needed
    assert estimate_umap(200_000, 128, 50).needed > base
    assert estimate_umap(100_000, 128, 100).needed > base
    assert estimate_umap(100_000, 128, 50, fit_sample_size=20_000).needed < base
    assert estimate_hdbscan(100_000, 5, 300, "hdbscan").needed > estimate_hdbscan(
        100_000, 5, 30, "hdbscan"
    ).needed
    # raregal's fast_hdbscan engine finds core distances in chunks: min_samples costs no memory
    assert estimate_hdbscan(100_000, 5, 300).needed == estimate_hdbscan(100_000, 5, 30).needed
    assert estimate_hdbscan(2_000_000, 5, 950).needed < 2 * GIB
    assert estimate_embed(10_000, batch_size=256).needed > estimate_embed(10_000, 64).needed


def test_umap_refusal_names_the_stage_and_a_sample_size_that_fits():
    """Ten million galaxies cannot be fitted at once in 16 GiB; the suggested sample fit is the
    largest (to 1,000 rows) that fits."""
    available = 16 * GIB
    with pytest.raises(InputError, match=r"the reduce stage needs about [\d.]+ GiB") as info:
        check_memory(estimate_umap(10_000_000, 128, 50), available=available)
    message = str(info.value)
    assert "\n" not in message and "16.0 GiB is free" in message
    assert "--reducer cuml" in message and "--ignore-memory-check" in message
    size = int(re.search(r"--fit-sample-size (\d+)", message).group(1))
    assert 1_000 <= size < 10_000_000
    assert check_memory(estimate_umap(10_000_000, 128, 50, fit_sample_size=size), available).fits
    assert (
        estimate_umap(10_000_000, 128, 50, fit_sample_size=size + 1_000).needed
        > HEADROOM * available
    )


def test_no_sample_fit_is_suggested_when_the_input_alone_does_not_fit():
    with pytest.raises(InputError, match="reduce stage") as info:
        check_memory(estimate_umap(10**9, 128, 50), available=16 * GIB)
    assert "--fit-sample-size" not in str(info.value) and "--reducer cuml" in str(info.value)


def test_hdbscan_refusal_suggests_a_min_samples_that_fits():
    """hdbscan's core distances of 8.7M galaxies at min_samples=300 need ~60 GiB; the largest
    min_samples that fits 16 GiB is suggested."""
    available = 16 * GIB
    with pytest.raises(InputError, match="cluster stage") as info:
        check_memory(estimate_hdbscan(8_700_000, 5, 300, "hdbscan"), available=available)
    ms = int(re.search(r"--min-samples (\d+)", str(info.value)).group(1))
    assert 1 <= ms < 300
    assert estimate_hdbscan(8_700_000, 5, ms, "hdbscan").needed <= HEADROOM * available
    assert estimate_hdbscan(8_700_000, 5, ms + 1, "hdbscan").needed > HEADROOM * available


def test_a_small_request_fits_and_an_override_only_warns():
    small = check_memory(estimate_umap(1_000, 16, 15), available=GIB)
    assert small.fits and small.suggestion == ""
    record = check_memory(estimate_umap(10**9, 128, 50), available=GIB, ignore=True).to_dict()
    assert record["ignored"] and not record["fits"] and record["available_gib"] == 1.0
    json.dumps(record)  # goes into run.json as it is


def test_available_memory_reads_the_machine_or_the_override(monkeypatch):
    assert available_memory() > 0
    monkeypatch.setenv("RAREGAL_MEMORY_AVAILABLE", "1.5G")
    assert available_memory() == int(1.5 * GIB)
    assert parse_bytes("512M") == 512 << 20 and parse_bytes("2048") == 2048
    with pytest.raises(InputError, match="memory size"):
        parse_bytes("lots")


@pytest.fixture
def small_reps():
    from raregal.synthetic import make_representations

    return make_representations(400, n_features=16, group_sizes=(60,), seed=3)


@pytest.mark.slow
def test_search_refuses_before_umap_or_records_the_override(small_reps, tmp_path, monkeypatch):
    """Short of memory the search refuses in one line before reducing anything; with
    --ignore-memory-check it runs and run.json keeps each heavy stage's estimate."""
    from typer.testing import CliRunner

    from raregal.cli import app

    path = tmp_path / "reps.parquet"
    small_reps.to_parquet(path)
    monkeypatch.setenv("RAREGAL_MEMORY_AVAILABLE", "10K")
    out = tmp_path / "run"
    args = ["search", str(path), "--out", str(out), "--min-samples", "5", "--n-neighbors", "10",
            "--n-epochs", "30"]  # fmt: skip
    refused = CliRunner().invoke(app, args)
    assert isinstance(refused.exception, InputError) and "reduce stage" in str(refused.exception)
    assert "\n" not in str(refused.exception) and not (out / "embedding.parquet").exists()
    result = CliRunner().invoke(app, [*args, "--ignore-memory-check"])
    assert result.exit_code == 0, result.output
    stages = json.loads((out / "run.json").read_text())["stages"]
    for stage in ("reduce", "cluster"):
        memory = stages[stage]["memory"]
        assert memory["ignored"] and not memory["fits"] and memory["needed"] > 10 << 10
    assert stages["cluster"]["memory"]["params"]["min_samples"] == 5
    assert stages["reduce"]["params"]["fit_sample_size"] is None
