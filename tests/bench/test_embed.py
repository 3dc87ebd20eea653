"""The encoder's throughput benchmark on real cutouts."""

from __future__ import annotations

import pytest


def test_benchmark_embed_reports_three_rates(gz_examples):
    """The harness measures embed, the plain loop and forward-only on the same files."""
    from raregal.bench.embed import benchmark_embed, format_benchmark

    result = benchmark_embed(
        gz_examples / "images",
        n_images=16,
        arch="test_convnext",
        image_size=32,
        batch_size=8,
        num_workers=0,
    )
    for name in ("embed", "plain_loop", "forward_only"):
        assert result[name] > 0
    assert result["speedup_vs_plain"] == pytest.approx(result["embed"] / result["plain_loop"])
    assert "x plain loop" in format_benchmark(result)
