"""Seeds suite: the clusters of one search with ``n_seeds`` layouts, and what the seeds cost.

The search's own path (``raregal.reduce.seeds``): one neighbour search, one fuzzy graph and one
start for all the seeds, a layout and an HDBSCAN per seed, then each cluster's seed stability and
the consensus clusters (``raregal.cluster.stability``). Reported per size: how many clusters are
found in k of the K seeds, how many planted groups are recovered in at least 2 of 3 seeds, and the
time of K seeds against the first seed alone (neighbours + graph + start + its layout + its
HDBSCAN), measured in the same process. At the paper's size the speed suite runs the same path
as its ``raregal-3-seeds`` configuration, beside one seed and the reference.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from raregal.bench.quality import class_names, quality_data
from raregal.config import DEFAULTS, scale_for_sample

logger = logging.getLogger(__name__)

N_SEEDS = 3
WARMUP_ROWS = 1000


def seeded_search(
    X: np.ndarray,
    n_seeds: int,
    min_samples: int,
    min_cluster_size: int,
    n_neighbors: int = 50,
    n_components: int = 5,
    n_epochs: int | None = None,
    random_state: int = 0,
    reducer: str = "raregal",
    engine: str = "fast_hdbscan",
) -> dict[str, Any]:
    """Layouts with ``n_seeds`` seeds sharing the graph, HDBSCAN of each, stability, consensus.

    Returns
    -------
    dict
        ``labels`` (list of label arrays, the first seed's first), ``seeds``, ``stability``
        (per cluster of the first seed), ``consensus`` (DataFrame), ``embedding`` (first seed),
        ``seconds``: ``neighbors``, ``graph_and_start`` (the rest of the first fit but its
        layout), ``first_layout``, ``first_hdbscan``, ``more_layouts``, ``more_hdbscan``,
        ``stability``, and ``first_seed`` (what one seed costs) and ``all_seeds``.
    """
    from raregal.cluster import cluster
    from raregal.cluster.stability import consensus_clusters, seed_stability
    from raregal.reduce import REDUCERS
    from raregal.reduce.seeds import layouts_for_seeds, seed_values

    seeds = seed_values(random_state, n_seeds)
    params = dict(n_components=n_components, n_neighbors=n_neighbors, n_epochs=n_epochs)
    first = REDUCERS.create(reducer, random_state=seeds[0], **params)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    embedding = first.fit_transform(X)
    fit_s = time.perf_counter() - start
    steps = dict(first.timings)
    seconds["neighbors"] = steps.get("neighbors", 0.0)
    seconds["first_layout"] = steps.get("layout", steps.get("umap", fit_s))
    seconds["graph_and_start"] = max(0.0, fit_s - seconds["neighbors"] - seconds["first_layout"])
    start = time.perf_counter()
    labels = [cluster(embedding, engine=engine, min_samples=min_samples,
                      min_cluster_size=min_cluster_size).labels]  # fmt: skip
    seconds["first_hdbscan"] = time.perf_counter() - start
    start = time.perf_counter()
    more = layouts_for_seeds(
        first, X, seeds[1:],
        lambda seed, knn: REDUCERS.create(reducer, random_state=seed, knn=knn, **params),
        n_epochs, DEFAULTS["min_dist"],
    )  # fmt: skip
    seconds["more_layouts"] = time.perf_counter() - start
    start = time.perf_counter()
    for layout in more.embeddings:
        labels.append(cluster(layout, engine=engine, min_samples=min_samples,
                              min_cluster_size=min_cluster_size).labels)  # fmt: skip
    seconds["more_hdbscan"] = time.perf_counter() - start
    start = time.perf_counter()
    stability = seed_stability(labels)
    consensus = consensus_clusters(labels, seeds)
    seconds["stability"] = time.perf_counter() - start
    seconds["first_seed"] = fit_s + seconds["first_hdbscan"]
    seconds["all_seeds"] = sum(seconds[k] for k in ("neighbors", "graph_and_start", "first_layout",
                                                    "first_hdbscan", "more_layouts",
                                                    "more_hdbscan", "stability"))  # fmt: skip
    return {"labels": labels, "seeds": seeds, "stability": stability, "consensus": consensus,
            "embedding": embedding, "shared": more.shared,
            "seconds": {k: round(v, 2) for k, v in seconds.items()}}  # fmt: skip


def stability_figures(result: dict[str, Any], groups: np.ndarray) -> dict[str, Any]:
    """Figures of a ``seeded_search``: clusters found in k of K seeds, stable planted groups."""
    import pandas as pd

    from raregal.cluster.stability import stable_count
    from raregal.recovery import recovery_summary, seeds_recovered

    n_seeds = len(result["seeds"])
    found = np.rint(result["stability"] * n_seeds).astype(int)
    first = result["labels"][0]
    sizes = np.bincount(first[first >= 0], minlength=len(found))
    stable = found >= stable_count(n_seeds)
    truth = class_names(np.asarray(groups))
    seed_labels = pd.DataFrame({f"cluster_seed_{s}": labels
                                for s, labels in zip(result["seeds"], result["labels"],
                                                     strict=True)})  # fmt: skip
    classes = sorted(c for c in set(truth) if c != "bulk")
    _, summary = recovery_summary(pd.DataFrame({"true_class": truth, "cluster": first}),
                                  classes=classes)  # fmt: skip
    per_seed = seeds_recovered(truth, seed_labels, classes)
    recovered = summary.set_index("true_class")["recovered"]
    stable_classes = [c for c in classes if recovered[c] and per_seed[c] >= stable_count(n_seeds)]
    return {
        "n_seeds": n_seeds, "clusters": len(found),
        **{f"found_in_{k}": int((found == k).sum()) for k in range(n_seeds, 0, -1)},
        "stable_clusters": int(stable.sum()),
        "stable_members": round(float(sizes[stable].sum() / max(1, sizes.sum())), 4),
        "consensus_clusters": int(result["consensus"]["consensus"].nunique()),
        "planted_recovered": int(recovered.sum()), "planted": len(classes),
        "planted_recovered_and_stable": len(stable_classes),
        "planted_seeds_recovered": ",".join(str(int(per_seed[c])) for c in classes),
        "shared": result["shared"],
    }  # fmt: skip


def run_seeds(n: int, data_seed: int = 0, n_seeds: int = N_SEEDS) -> dict[str, Any]:
    """The seeds suite at ``n`` rows of the benchmark's representations (see the module)."""
    min_samples, min_cluster_size = scale_for_sample(n)
    X, groups = quality_data(n, data_seed)
    seeded_search(X[:WARMUP_ROWS], n_seeds, 10, 10, n_neighbors=15, n_epochs=10)  # compile first
    result = seeded_search(X, n_seeds, min_samples, min_cluster_size)
    seconds = result["seconds"]
    row = {"n": n, "min_samples": min_samples, **stability_figures(result, groups),
           "first_seed_s": seconds["first_seed"], "all_seeds_s": seconds["all_seeds"],
           "ratio": round(seconds["all_seeds"] / max(seconds["first_seed"], 1e-9), 2)}  # fmt: skip
    logger.info("seeds %s", row)
    return {"rows": [row], "tables": [{"title": "seconds per step", "rows": [{"n": n, **seconds}]}]}
