"""How far a sample fit (``fit_sample_size``) departs from a full UMAP fit.

``benchmark_sample_fit`` compares the HDBSCAN leaf labels of the two embeddings (adjusted Rand
index) and the planted groups each recovers, on generated representations.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from raregal.reduce.sample_fit import DEFAULT_CHUNK_SIZE, SampleFitReducer

logger = logging.getLogger(__name__)


def benchmark_sample_fit(
    n: int = 200_000,
    fit_sample_size: int = 50_000,
    n_features: int = 128,
    group_sizes: tuple[int, ...] = (2000, 1200, 800, 500),
    n_neighbors: int = 50,
    n_epochs: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_jobs: int = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """Agreement of a sample fit with a full UMAP fit on generated representations.

    Both embeddings (5-D, umap-learn, the same seed) are clustered with fast_hdbscan, leaf
    selection and ``min_samples`` from ``raregal.config.scale_for_sample(n)``.

    Parameters
    ----------
    n : int, default=200_000
        Galaxies (``raregal.synthetic.make_representations`` with planted groups).
    fit_sample_size : int, default=50_000
        Rows the sample fit is fitted on.
    n_features, group_sizes, seed
        The generated data.
    n_neighbors, n_epochs
        UMAP parameters of both fits.
    chunk_size, n_jobs
        Transform chunking of the sample fit.

    Returns
    -------
    dict
        ``ari_leaf_labels`` (all rows), ``ari_clustered`` (rows clustered by both), for each of
        ``full`` and ``sample``: seconds per step, clusters, clustered fraction, planted groups
        recovered (``raregal.recovery`` rule) and per-group ``fraction_held``; plus the inputs.
    """
    from sklearn.metrics import adjusted_rand_score

    from raregal.cluster import cluster
    from raregal.config import scale_for_sample
    from raregal.constants import NOISE
    from raregal.recovery import recovered_fraction, recovery_summary
    from raregal.reduce.umap_learn import UmapLearnReducer
    from raregal.synthetic import make_representations

    df = make_representations(n, n_features=n_features, group_sizes=group_sizes, seed=seed)
    X = df[[f"feat_{i}" for i in range(n_features)]].to_numpy(np.float32)
    min_samples, min_cluster_size = scale_for_sample(n)
    umap_params = {"n_components": 5, "n_neighbors": n_neighbors, "n_epochs": n_epochs,
                   "random_state": seed}  # fmt: skip
    result: dict[str, Any] = {
        "n": n, "fit_sample_size": fit_sample_size, "n_features": n_features,
        "group_sizes": list(group_sizes), "n_neighbors": n_neighbors, "min_samples": min_samples,
        "min_cluster_size": min_cluster_size, "chunk_size": chunk_size, "n_jobs": n_jobs,
    }  # fmt: skip
    labels = {}
    for name in ("full", "sample"):
        reducer: Any = UmapLearnReducer(**umap_params)
        if name == "sample":
            reducer = SampleFitReducer(reducer, fit_sample_size, seed, chunk_size, n_jobs)
        start = time.perf_counter()
        embedding = reducer.fit_transform(X)
        reduce_seconds = time.perf_counter() - start
        clustering = cluster(embedding, min_samples=min_samples, min_cluster_size=min_cluster_size)
        galaxies = df[["true_class"]].assign(cluster=clustering.labels)
        _, summary = recovery_summary(galaxies)
        labels[name] = clustering.labels
        result[name] = {
            "reduce_seconds": round(reduce_seconds, 2),
            "reduce_timings": dict(reducer.timings),
            "cluster_seconds": round(sum(clustering.timings.values()), 2),
            "clusters": int(clustering.info["n_clusters"]),
            "clustered_fraction": round(float((clustering.labels != NOISE).mean()), 4),
            "planted_recovered": recovered_fraction(summary),
            "fraction_held": {
                str(c): round(float(f), 4)
                for c, f in zip(summary["true_class"], summary["fraction_held"], strict=True)
            },
        }
        logger.info("%s fit: %s", name, result[name])
    both = (labels["full"] != NOISE) & (labels["sample"] != NOISE)
    ari = adjusted_rand_score(labels["full"], labels["sample"])
    result["ari_leaf_labels"] = round(float(ari), 4)
    result["ari_clustered"] = (
        round(float(adjusted_rand_score(labels["full"][both], labels["sample"][both])), 4)
        if both.any() else None
    )  # fmt: skip
    return result
