"""Stability suite: the same data searched with different UMAP seeds, by each pipeline.

For every pair of seeds (and across pipelines at the same seed) the ARI of the leaf labels; for
every cluster of the first seed, the best Jaccard index of its members with any cluster of each
other seed. A cluster **persists** when that best Jaccard is at least ``PERSIST_JACCARD`` in every
other seed. The pairwise ARI between two reference seeds is the yardstick for the ARI between
raregal and the reference: engines cannot agree better than a method agrees with itself.

Convergence: raregal at the first seed is also run with fewer epochs (``SHORT_EPOCHS``); when its
agreement with the full run is as good as that between two seeds, the extra epochs are wasted.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from raregal.bench.quality import (
    PIPELINES,
    adjusted_rand,
    clustered_ari,
    jaccard_matching,
    planted_recovery,
    quality_data,
    search_labels,
)
from raregal.config import scale_for_sample

logger = logging.getLogger(__name__)

PERSIST_JACCARD = 0.5
SHORT_EPOCHS = (100,)
"""Shorter layouts compared with umap-learn's 200 epochs (above 10,000 rows) for convergence."""


def persistence(labelings: list[np.ndarray], threshold: float = PERSIST_JACCARD) -> dict[str, Any]:
    """Which clusters of the first labeling persist in all the others (best Jaccard >= threshold).

    Returns ``clusters``, ``persisting`` (count), ``persisting_members`` (fraction of the first
    labeling's clustered galaxies in persisting clusters) and ``best_jaccard`` per cluster (the
    minimum over the other labelings).
    """
    first = labelings[0]
    k = int(first.max()) + 1 if (first >= 0).any() else 0
    best = np.ones(k)
    for other in labelings[1:]:
        best = np.minimum(best, jaccard_matching(first, other))
    keep = best >= threshold
    sizes = np.bincount(first[first >= 0], minlength=k)
    return {
        "clusters": k, "persisting": int(keep.sum()),
        "persisting_members": round(float(sizes[keep].sum() / max(1, sizes.sum())), 4),
        "best_jaccard": [round(float(b), 3) for b in best],
    }  # fmt: skip


def run_stability(
    n: int,
    seeds: Sequence[int],
    data_seed: int = 0,
    pipelines: Sequence[str] = tuple(PIPELINES),
    short_epochs: Sequence[int] = SHORT_EPOCHS,
) -> dict[str, Any]:
    """The stability suite (see the module docstring)."""
    min_samples, min_cluster_size = scale_for_sample(n)
    X, groups = quality_data(n, data_seed)
    labels = {(name, seed): search_labels(X, name, seed, min_samples, min_cluster_size)
              for name in pipelines for seed in seeds}  # fmt: skip
    pairs = []
    for a, b in itertools.combinations(sorted(labels), 2):
        if a[0] == b[0] or a[1] == b[1]:
            pairs.append({"first": f"{a[0]} seed {a[1]}", "second": f"{b[0]} seed {b[1]}",
                          "ari": adjusted_rand(labels[a], labels[b]),
                          "clustered_ari": clustered_ari(labels[a], labels[b])})  # fmt: skip
    rows = []
    for name in pipelines:
        runs = [labels[(name, seed)] for seed in seeds]
        kept = persistence(runs)
        recovered = [planted_recovery(groups, r)["recovered"] for r in runs]
        same = [p["ari"] for p in pairs if p["first"].startswith(name) and
                p["second"].startswith(name)]  # fmt: skip
        rows.append({
            "pipeline": name, "n": n, "seeds": len(seeds), "clusters_first_seed": kept["clusters"],
            "persisting": kept["persisting"], "persisting_members": kept["persisting_members"],
            "mean_ari_between_seeds": round(float(np.mean(same)), 4) if same else None,
            "planted_recovered_per_seed": ",".join(map(str, recovered)),
        })  # fmt: skip
    epochs = []
    if "raregal" in pipelines:
        full = labels[("raregal", seeds[0])]
        for n_epochs in short_epochs:
            short = search_labels(X, "raregal", seeds[0], min_samples, min_cluster_size, n_epochs)
            epochs.append({
                "pipeline": "raregal", "seed": seeds[0], "n_epochs": n_epochs,
                "ari_with_full_run": adjusted_rand(full, short),
                "clustered_ari_with_full_run": clustered_ari(full, short),
                "planted_recovered": planted_recovery(groups, short)["recovered"],
            })  # fmt: skip
    tables = [{"title": "pairwise agreement", "rows": pairs}]
    if epochs:
        tables.append({"title": "convergence: fewer epochs against the full run", "rows": epochs})
    return {"rows": rows, "tables": tables, "persist_jaccard": PERSIST_JACCARD}
