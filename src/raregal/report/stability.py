"""The report's view of stability across seeds: how many clusters come back with other seeds.

``create_stability`` computes the distribution of ``seed_stability`` over all clusters (how many
are found in K, K-1, ..., 1 of the K seeds); the ``_stability.html`` partial draws it as a table
with bars. Nothing is drawn for a run with one seed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from raregal.cluster.stability import MATCH_JACCARD, stable_count


def seeds_found(seed_stability: float, n_seeds: int) -> int | None:
    """Seeds a cluster is found in, from its ``seed_stability`` (None when it has none)."""
    if n_seeds < 2 or seed_stability is None or not math.isfinite(float(seed_stability)):
        return None
    return round(float(seed_stability) * n_seeds)


def seed_text(seed_stability: Any, n_seeds: int) -> str:
    """'2/3' for a cluster found in 2 of 3 seeds; '' without seeds."""
    found = seeds_found(seed_stability, n_seeds)
    return "" if found is None else f"{found}/{n_seeds}"


def create_stability(clusters: pd.DataFrame, n_seeds: int) -> dict[str, Any] | None:
    """The distribution of seed stability over the clusters, for the page (None: one seed).

    Parameters
    ----------
    clusters : DataFrame
        Requires ``seed_stability`` (clusters.parquet).
    n_seeds : int
        Seeds of the run.

    Returns
    -------
    dict or None
        ``n_seeds``, ``n_clusters``, ``stable`` (clusters found in at least ``stable_seeds``
        seeds), ``stable_seeds``, ``match_jaccard`` and ``rows``: for k = K..1, ``found`` (k),
        ``count``, ``share_text`` and ``width`` (percent of the largest count, for the bar).
    """
    if n_seeds < 2 or "seed_stability" not in clusters:
        return None
    values = clusters["seed_stability"].to_numpy(float)
    if len(values) and not np.isfinite(values).all():
        return None
    found = np.rint(values * n_seeds).astype(int)
    counts = [int((found == k).sum()) for k in range(n_seeds, 0, -1)]
    top = max(max(counts), 1)
    total = max(len(found), 1)
    rows = [{"found": k, "count": c, "share_text": f"{c / total:.0%}",
             "width": round(100 * c / top)}
            for k, c in zip(range(n_seeds, 0, -1), counts, strict=True)]  # fmt: skip
    need = stable_count(n_seeds)
    return {
        "n_seeds": n_seeds, "n_clusters": len(found), "stable": int((found >= need).sum()),
        "stable_seeds": need, "match_jaccard": MATCH_JACCARD, "rows": rows,
    }  # fmt: skip
