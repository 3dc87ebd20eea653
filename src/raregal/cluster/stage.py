"""The cluster stage: HDBSCAN of the embedding with an engine chosen by name, then one
engine-independent read-out (``raregal.cluster.tree``) and the cluster table
(``raregal.cluster.table``).

Clusters are numbered 0..K-1 in order of decreasing size (ties: by tree node); their letters are
A, B, ..., Z, AA, AB, ... in the same order (``raregal.io.runfolder.cluster_letter``). Points
outside every selected cluster get NOISE (-1).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from raregal.cluster.density import core_distances
from raregal.cluster.engines import CLUSTERERS
from raregal.cluster.table import cluster_table
from raregal.cluster.tree import read_out, select_eom, select_leaves
from raregal.config import DEFAULTS, require_enough_galaxies
from raregal.constants import NOISE
from raregal.registry import EngineRegistry

logger = logging.getLogger(__name__)


@dataclass
class Clustering:
    """The read-out of one clustering.

    Attributes
    ----------
    labels : ndarray of int, shape (n,)
        Cluster number (0..K-1, by decreasing size) or NOISE.
    probabilities : ndarray of float, shape (n,)
        hdbscan's membership strength in [0, 1] (0 for noise).
    outlier_scores : ndarray of float, shape (n,)
        GLOSH outlier score in [0, 1].
    clusters : DataFrame
        One row per cluster (``clusters.parquet``, ``raregal.io.runfolder.TABLES``).
    condensed_tree : DataFrame
        parent, child, lambda_val, child_size.
    core_distances : ndarray of float, shape (n,)
        Distance of each point to its ``min_samples``-th nearest other point (what placing new
        points into the tree needs: ``raregal.cluster.assign``).
    """

    labels: np.ndarray
    probabilities: np.ndarray
    outlier_scores: np.ndarray
    clusters: pd.DataFrame
    condensed_tree: pd.DataFrame
    engine_labels: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    core_distances: np.ndarray | None = None


def cluster(
    X: np.ndarray,
    engine: str = DEFAULTS["engine"],
    min_samples: int = DEFAULTS["min_samples"],
    min_cluster_size: int = DEFAULTS["min_cluster_size"],
    cluster_selection_method: str = DEFAULTS["cluster_selection_method"],
    ids: np.ndarray | None = None,
    registry: EngineRegistry = CLUSTERERS,
) -> Clustering:
    """HDBSCAN of ``X`` with engine ``engine``, read out into labels and tables.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        The embedding to cluster (finite).
    engine : str
        Engine name in ``registry`` (``auto`` resolved there).
    min_samples, min_cluster_size, cluster_selection_method
        See ``raregal.config.PARAMETERS`` (defaults, meaning).
    ids : ndarray of str, default=None
        Galaxy ids, for ``medoid_id``; row numbers are used when None.
    registry : EngineRegistry, default=CLUSTERERS
        Where engines are looked up (tests pass their own).

    Returns
    -------
    Clustering
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    require_enough_galaxies(n, min_samples=min_samples)
    used = registry.resolve(engine)
    runner = registry.create(used, min_samples, min_cluster_size, cluster_selection_method)
    logger.info("HDBSCAN (%s) of %d points, min_samples=%d, min_cluster_size=%d",
                engine, n, min_samples, min_cluster_size)  # fmt: skip
    result = runner.fit(X)
    start = time.perf_counter()
    tree = result.tree
    select_fn = select_leaves if cluster_selection_method == "leaf" else select_eom
    selected = select_fn(tree, n) if len(tree.parent) else np.empty(0, dtype=np.int64)
    raw_labels, probabilities, scores = read_out(tree, n, selected)
    labels, clusters = cluster_table(X, tree, n, np.sort(selected), raw_labels, probabilities, ids)
    timings = dict(runner.timings)
    timings["read_out"] = round(time.perf_counter() - start, 3)
    core = result.core_distances
    if core is None:
        start = time.perf_counter()
        core = core_distances(X, min_samples)
        timings["core_distances"] = round(time.perf_counter() - start, 3)
    info = {"engine": engine, "n_clusters": len(clusters), "n_noise": int((labels == NOISE).sum()),
            "engine_used": used}  # fmt: skip
    core = np.asarray(core, dtype=np.float64)
    return Clustering(labels, probabilities, scores, clusters, tree.to_frame(),
                      result.engine_labels, timings, info, core)  # fmt: skip
