"""Benchmarks: recovery, stability, speed against the reference, and the stages' throughput."""

from raregal.bench.harness import SUITES, BenchParams, run_benchmarks

__all__ = ["SUITES", "BenchParams", "run_benchmarks"]
