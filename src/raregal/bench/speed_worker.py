"""One speed configuration in its own process: ``python -m raregal.bench.speed_worker SPEC.json``.

The spec names the cached data, the reducer and the HDBSCAN engine (or an existing embedding to
cluster), the parameters and where to write. The worker warms the JIT on a small slice with the
same code path (untimed), then times each stage with its own peak memory, saves the 5-D
embedding and labels (for the agreement figures) and writes its result as JSON.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from raregal.bench.memory import stage
from raregal.bench.quality import planted_recovery
from raregal.io.atomic import atomic_path

logger = logging.getLogger(__name__)

WARMUP_ROWS = 5000
"""Above umap-learn's exact-neighbour limit, so that the warm-up compiles pynndescent too."""


def _reduce(X: np.ndarray, spec: dict[str, Any], record: dict[str, Any]) -> np.ndarray:
    from raregal.reduce import REDUCERS

    reducer = REDUCERS.create(
        spec["reducer"], n_components=spec.get("n_components", 5),
        n_neighbors=spec.get("n_neighbors", 50), random_state=spec.get("seed", 0),
        n_epochs=spec.get("n_epochs"),
    )  # fmt: skip
    embedding = reducer.fit_transform(X)
    record["reducer_steps_s"] = dict(reducer.timings)
    return embedding


def _cluster(E: np.ndarray, spec: dict[str, Any], min_samples: int, mcs: int) -> np.ndarray:
    from raregal.cluster import cluster

    return cluster(E, engine=spec["engine"], min_samples=min_samples, min_cluster_size=mcs).labels


def warm_up(X: np.ndarray, spec: dict[str, Any]) -> float:
    """Run the configuration on the first rows so that JIT compilation is not timed."""
    start = time.perf_counter()
    small = np.ascontiguousarray(X[:WARMUP_ROWS])
    embedding = _reduce(small, spec, {}) if spec.get("reducer") else small[:, :5].copy()
    _cluster(np.asarray(embedding, dtype=np.float64), spec, 10, 10)
    return round(time.perf_counter() - start, 2)


def run_seeds(X: np.ndarray, groups: np.ndarray, spec: dict[str, Any],
              record: dict[str, Any]) -> np.ndarray:  # fmt: skip
    """``n_seeds`` layouts sharing the graph, HDBSCAN of each, stability (``bench.seeds``): the
    search's own path, timed per step; returns the first seed's labels."""
    from raregal.bench.seeds import seeded_search, stability_figures

    with stage(record, "search"):
        result = seeded_search(
            X, int(spec["n_seeds"]), spec["min_samples"], spec["min_cluster_size"],
            n_neighbors=spec.get("n_neighbors", 50), n_components=spec.get("n_components", 5),
            n_epochs=spec.get("n_epochs"), random_state=spec.get("seed", 0),
            reducer=spec["reducer"], engine=spec["engine"],
        )  # fmt: skip
    seconds = result["seconds"]
    record["steps_s"] = seconds
    record["neighbors_s"] = seconds["neighbors"]
    record["layout_s"] = round(seconds["graph_and_start"] + seconds["first_layout"]
                               + seconds["more_layouts"], 2)  # fmt: skip
    record["hdbscan_s"] = round(seconds["first_hdbscan"] + seconds["more_hdbscan"], 2)
    record["stability_s"] = seconds["stability"]
    record["first_seed_s"] = seconds["first_seed"]
    record["seeds"] = stability_figures(result, groups)
    np.save(Path(spec["out"]).with_suffix(".embedding.npy"), result["embedding"])
    return result["labels"][0]


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Time one configuration; see the module docstring."""
    record: dict[str, Any] = {"spec": spec}
    with stage(record, "load"):
        X = np.load(spec["data"])
        groups = np.load(spec["groups"])
        given = np.load(spec["embedding"]) if spec.get("embedding") else None
    record["warmup_s"] = warm_up(X, spec)
    if int(spec.get("n_seeds", 1)) > 1:
        labels = run_seeds(X, groups, spec, record)
        return _finish(record, labels, groups, spec)
    if given is None:
        neighbours_step = "neighbors"
        with stage(record, "reduce"):
            embedding = _reduce(X, spec, record)
        steps = record["reducer_steps_s"]
        record["neighbors_s"] = steps.get(neighbours_step, 0.0)
        record["layout_s"] = round(record["reduce_s"] - record["neighbors_s"], 2)
    else:
        embedding = given
    del X
    with stage(record, "hdbscan"):
        labels = _cluster(np.asarray(embedding, dtype=np.float64), spec, spec["min_samples"],
                          spec["min_cluster_size"])  # fmt: skip
    record["search_s"] = round(record.get("reduce_s", 0.0) + record["hdbscan_s"], 2)
    if given is None:
        np.save(Path(spec["out"]).with_suffix(".embedding.npy"), embedding)
    return _finish(record, labels, groups, spec)


def _finish(
    record: dict[str, Any], labels: np.ndarray, groups: np.ndarray, spec: dict[str, Any]
) -> dict[str, Any]:
    """Peak memory, cluster counts, planted recovery; the labels saved beside the record."""
    peaks = [v for k, v in record.items() if k.endswith("_peak_gib")]
    record["peak_gib"] = max(peaks)
    record["n_clusters"] = int(labels.max() + 1) if len(labels) else 0
    record["clustered_fraction"] = round(float((labels >= 0).mean()), 4)
    record["recovery"] = planted_recovery(groups, labels)
    np.save(Path(spec["out"]).with_suffix(".labels.npy"), labels)
    return record


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    spec = json.loads(Path(args[0]).read_text())
    record = run(spec)
    with atomic_path(spec["out"]) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
