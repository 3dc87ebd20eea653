"""Quality figures shared by the suites: planted-class recovery and agreement between labelings."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from raregal.recovery import recovery_summary
from raregal.synthetic import BULK_CLASS


def class_names(groups: np.ndarray) -> np.ndarray:
    """``planted_<k>`` for group k >= 0, ``bulk`` for -1 (as ``raregal.synthetic``)."""
    names = np.char.add("planted_", groups.astype(str)).astype(object)
    names[groups < 0] = BULK_CLASS
    return names


def planted_recovery(groups: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Recovery of the planted groups by a labeling (``raregal.recovery``'s rule).

    Returns ``recovered`` (count), ``classes`` (count) and ``per_class``: purity and completeness
    of the best-matching cluster, fraction held by pure majority clusters, and ``recovered``.
    """
    frame = pd.DataFrame({"true_class": class_names(np.asarray(groups)), "cluster": labels})
    return recovery_from_frame(frame)


def recovery_from_frame(frame: pd.DataFrame, classes: list[str] | None = None) -> dict[str, Any]:
    """As ``planted_recovery`` from a frame with ``true_class`` and ``cluster``."""
    _, summary = recovery_summary(frame, classes=classes)
    per_class = {
        row.true_class: {
            "members": int(row.members), "recovered": bool(row.recovered),
            "purity": round(float(row.best_purity), 3),
            "completeness": round(float(row.best_completeness), 3),
            "fraction_held": round(float(row.fraction_held), 3),
        }
        for row in summary.itertuples()
    }  # fmt: skip
    return {
        "recovered": int(summary["recovered"].sum()),
        "classes": len(summary),
        "per_class": per_class,
    }


def jaccard_matching(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each cluster of labeling ``a``, the best Jaccard index with any cluster of ``b``.

    Noise (NOISE) is not a cluster. Returns an array indexed by ``a``'s cluster number.
    """
    from raregal.cluster.stability import jaccard_matrix

    jaccard = jaccard_matrix(a, b)
    return jaccard.max(axis=1) if jaccard.shape[1] else np.zeros(jaccard.shape[0])


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two labelings (noise counted as one label, as usual)."""
    from sklearn.metrics import adjusted_rand_score

    return round(float(adjusted_rand_score(a, b)), 4)


def clustered_ari(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index over the galaxies that both labelings put in a cluster."""
    both = (np.asarray(a) >= 0) & (np.asarray(b) >= 0)
    return adjusted_rand(np.asarray(a)[both], np.asarray(b)[both]) if both.any() else 0.0


PIPELINES: dict[str, dict[str, str]] = {
    "raregal": {"reducer": "raregal", "engine": "fast_hdbscan"},
    "reference": {"reducer": "umap-learn", "engine": "hdbscan"},
}
"""The searches the quality suites compare (as the speed suite's configurations)."""


def search_labels(
    X: np.ndarray,
    pipeline: str,
    umap_seed: int,
    min_samples: int,
    min_cluster_size: int,
    n_epochs: int | None = None,
) -> np.ndarray:
    """Leaf labels of the 5-D UMAP (``n_neighbors=50``) + HDBSCAN search of ``X``."""
    from raregal.cluster import cluster
    from raregal.reduce import REDUCERS

    names = PIPELINES[pipeline]
    reducer = REDUCERS.create(names["reducer"], n_components=5, n_neighbors=50,
                              random_state=umap_seed, n_epochs=n_epochs)  # fmt: skip
    embedding = reducer.fit_transform(X)
    return cluster(embedding, engine=names["engine"], min_samples=min_samples,
                   min_cluster_size=min_cluster_size).labels  # fmt: skip


def quality_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generated 128-D representations with the benchmark's planted groups (rows, groups)."""
    from raregal.bench.data import group_sizes
    from raregal.synthetic import make_representations

    df = make_representations(n, group_sizes=group_sizes(n), seed=seed)
    return df.filter(regex=r"^feat_\d+$").to_numpy(np.float32), df["group"].to_numpy()
