"""Speed at the paper's scale: raregal's search against the reference, stage by stage.

Each configuration runs in its own process (``speed_worker``) on the same cached data, so that
its peak memory is its own; finished configurations are kept in the work folder and skipped on a
re-run (an interrupted sweep resumes). After both pipelines at one size, the reference's 5-D
embedding is clustered again with fast_hdbscan: the ARI of those leaf labels with hdbscan's is
the engines' agreement on the same input.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from raregal.bench.data import cached_representations, group_sizes
from raregal.bench.machine import load_average
from raregal.bench.quality import adjusted_rand, clustered_ari
from raregal.config import scale_for_sample
from raregal.io.atomic import atomic_path

logger = logging.getLogger(__name__)

SEEDS_CONFIG = "raregal-3-seeds"
CONFIGS: dict[str, dict[str, Any]] = {
    "raregal": {"reducer": "raregal", "engine": "fast_hdbscan"},
    SEEDS_CONFIG: {"reducer": "raregal", "engine": "fast_hdbscan", "n_seeds": 3},
    "reference": {"reducer": "umap-learn", "engine": "hdbscan"},
}
"""The searches compared: raregal's engines, the same with three seeds sharing neighbours, graph
and start (``raregal.bench.seeds``: a layout, an HDBSCAN and the stability per seed), and the
paper's (umap-learn 0.5 + hdbscan)."""

ENGINE_CHECK = "fast_hdbscan_on_reference"
STAGES = ("neighbors", "layout", "hdbscan", "search")
WAIT_POLICY = "PASSIVE"
"""OpenMP threads sleep instead of spinning at barriers (unless the caller set its own policy).

numba's parallel code (umap-learn, pynndescent, fast_hdbscan) runs on GNU OpenMP, whose threads
spin while they wait. On a crowded machine a spinning thread burns the time slice its partner
needs: fast_hdbscan on 50k 5-D points took 224 s spinning and 9.5 s passive (load 7, 2 cores).
Set for both sides alike and recorded with each configuration.
"""


def worker_env() -> dict[str, str]:
    """The environment of a speed worker: ours, with OMP_WAIT_POLICY defaulting to PASSIVE."""
    return {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", WAIT_POLICY)}


def _run_worker(spec: dict[str, Any], log: Path, collect: bool = False) -> dict[str, Any] | None:
    out = Path(spec["out"])
    if out.exists():
        logger.info("kept %s (already measured)", out)
        return json.loads(out.read_text())
    if collect:
        return None
    spec_path = out.with_suffix(".spec.json")
    spec_path.write_text(json.dumps(spec))
    env = worker_env()
    before = load_average()
    logger.info("running %s at n=%d", out.stem, spec["n"])
    with open(log, "a") as handle:
        done = subprocess.run(
            [sys.executable, "-m", "raregal.bench.speed_worker", str(spec_path)],
            stdout=handle, stderr=subprocess.STDOUT, env=env, check=False,
        )  # fmt: skip
    if done.returncode != 0 or not out.exists():
        logger.error("%s failed (exit %d); see %s", out.stem, done.returncode, log)
        return None
    record = json.loads(out.read_text())
    record["load_average_before"], record["load_average_after"] = before, load_average()
    record["omp_wait_policy"] = env["OMP_WAIT_POLICY"]
    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=1))
    return record


def measure_size(
    n: int, work: Path, seed: int = 0, configs: Sequence[str] = tuple(CONFIGS),
    n_epochs: int | None = None, collect: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Run every configuration at ``n`` rows (resuming), then the agreement figures.

    With ``collect`` nothing is run: only finished records are gathered.
    """
    if collect:
        x_path = g_path = Path("-")
    else:
        x_path, g_path = cached_representations(work / "data", n, seed)
    min_samples, min_cluster_size = scale_for_sample(n)
    folder = work / "speed" / f"n{n}_s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    base = {"n": n, "seed": seed, "data": str(x_path), "groups": str(g_path),
            "min_samples": min_samples, "min_cluster_size": min_cluster_size,
            "n_neighbors": 50, "n_components": 5, "n_epochs": n_epochs}  # fmt: skip
    log = folder / "worker.log"
    results: dict[str, Any] = {}
    for name in configs:
        spec = {**base, **CONFIGS[name], "out": str(folder / f"{name}.json")}
        results[name] = _run_worker(spec, log, collect)
    summary: dict[str, Any] = {
        "n": n, "seed": seed, "min_samples": min_samples, "min_cluster_size": min_cluster_size,
        "planted_group_sizes": list(group_sizes(n)), "configs": results,
    }  # fmt: skip
    if results.get("reference") and "reference" in configs:
        spec = {**base, "engine": "fast_hdbscan", "reducer": None,
                "embedding": str(folder / "reference.embedding.npy"),
                "out": str(folder / f"{ENGINE_CHECK}.json")}  # fmt: skip
        results[ENGINE_CHECK] = _run_worker(spec, log, collect)
    summary["agreement"] = agreement(folder, results)
    return summary


def agreement(folder: Path, results: dict[str, Any]) -> dict[str, Any]:
    """ARI figures between the labelings saved in ``folder``."""

    def labels(name: str) -> np.ndarray | None:
        path = folder / f"{name}.labels.npy"
        return np.load(path) if results.get(name) and path.exists() else None

    ref, ours, check = labels("reference"), labels("raregal"), labels(ENGINE_CHECK)
    figures: dict[str, Any] = {}
    if ref is not None and check is not None:
        figures["engines_same_input_ari"] = adjusted_rand(ref, check)
        figures["engines_same_input_clustered_ari"] = clustered_ari(ref, check)
    if ref is not None and ours is not None:
        figures["pipelines_ari"] = adjusted_rand(ref, ours)
        figures["pipelines_clustered_ari"] = clustered_ari(ref, ours)
    return figures


def growth_exponents(sizes: dict[int, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Least-squares slope of log(time) on log(N) per configuration and stage (>= 2 sizes)."""
    fitted: dict[str, dict[str, float]] = {}
    for name in CONFIGS:
        for stage in STAGES:
            points = [(n, s["configs"][name][f"{stage}_s"]) for n, s in sizes.items()
                      if (s["configs"].get(name) or {}).get(f"{stage}_s")]  # fmt: skip
            if len(points) >= 2:
                ns, ts = np.log([p[0] for p in points]), np.log([p[1] for p in points])
                fitted.setdefault(name, {})[stage] = round(float(np.polyfit(ns, ts, 1)[0]), 2)
    return fitted


def run_speed(
    work: Path, sizes: Sequence[int], seed: int = 0, configs: Sequence[str] = tuple(CONFIGS),
    n_epochs: int | None = None, collect: bool = False,
    on_size: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The speed suite over ``sizes``: per-size figures, speed-ups and growth exponents.

    ``on_size`` is called with the suite's figures so far after each size (partial results);
    ``collect`` only gathers finished records.
    """
    measured: dict[int, dict[str, Any]] = {}
    for n in sizes:
        measured[n] = measure_size(n, work, seed, configs, n_epochs, collect)
        if on_size is not None:
            on_size(_suite(measured))
    return _suite(measured)


def _suite(measured: dict[int, dict[str, Any]]) -> dict[str, Any]:
    for summary in measured.values():
        ours, ref = summary["configs"].get("raregal"), summary["configs"].get("reference")
        seeds = summary["configs"].get(SEEDS_CONFIG)
        if ours and ref:
            summary["speedup"] = {stage: round(ref[f"{stage}_s"] / ours[f"{stage}_s"], 2)
                                  for stage in STAGES if ours.get(f"{stage}_s")}  # fmt: skip
        if seeds and ours:  # three seeds against one, measured in the same benchmark run
            summary["seeds_vs_one_seed"] = round(seeds["search_s"] / ours["search_s"], 2)
        if seeds and ref:
            summary["seeds_vs_reference"] = round(seeds["search_s"] / ref["search_s"], 2)
    return {"sizes": {str(n): s for n, s in measured.items()},
            "growth_exponents": growth_exponents(measured)}  # fmt: skip
