"""Nearest neighbours for UMAP: exact below ``SMALL_DATA`` rows, HNSW (hnswlib) above.

UMAP's neighbour graph: every row's ``n_neighbors`` nearest rows, itself first (umap-learn's
convention). ``exact_neighbors`` is umap-learn's small-data path; at survey scale
``hnsw_neighbors`` builds an HNSW index and queries it on every core; ``hnsw_index`` and
``hnsw_query`` keep the index so that new rows can be placed against the fitted ones later
(``raregal.reduce.placement``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from raregal.errors import MissingDependencyError
from raregal.settings import num_threads

HNSW_METRICS = {"euclidean": "l2", "cosine": "cosine"}
"""Input metrics hnswlib computes (its 'l2' is the squared distance)."""

SMALL_DATA = 4096
"""Below this many rows neighbours are found exactly (as umap-learn does)."""


def exact_neighbors(X: np.ndarray, n_neighbors: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``n_neighbors`` nearest neighbours of each row (itself first), umap-learn's layout."""
    from sklearn.neighbors import NearestNeighbors

    model = NearestNeighbors(n_neighbors=n_neighbors, metric=metric).fit(X)
    dists, indices = model.kneighbors(X)
    return indices.astype(np.int32), dists.astype(np.float32)


def hnsw_neighbors(
    X: np.ndarray,
    n_neighbors: int,
    metric: str = "euclidean",
    random_state: int | None = 0,
    n_threads: int | None = None,
    M: int = 12,
    ef_construction: int = 40,
    ef: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate ``n_neighbors`` nearest neighbours of every row, itself first.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32
    n_neighbors : int
        Neighbours per row, the row itself included (umap-learn's convention).
    metric : {'euclidean', 'cosine'}, default='euclidean'
    random_state : int or None, default=0
        Seed of the HNSW level assignment.
    n_threads : int, default=None
        Threads for building and querying; None uses ``raregal.settings.num_threads()``.
    M, ef_construction : int, default=12, 40
        HNSW graph degree and build beam width. With ``ef`` these find 99% of the exact 50
        nearest neighbours of 25k generated 128-D representations, 4x faster than
        (16, 100, 100) at 99.97% (measured with the benchmark data).
    ef : int, default=None
        Query beam width; None uses ``max(64, n_neighbors)``.

    Returns
    -------
    indices : ndarray of int64, shape (n, n_neighbors)
    distances : ndarray of float32, shape (n, n_neighbors)
    """
    index = hnsw_index(X, metric, random_state, n_threads, M, ef_construction)
    indices, dists = hnsw_query(index, X, n_neighbors, metric, n_threads, ef)
    return self_first(indices, dists)


def hnsw_index(
    X: np.ndarray,
    metric: str = "euclidean",
    random_state: int | None = 0,
    n_threads: int | None = None,
    M: int = 12,
    ef_construction: int = 40,
) -> Any:
    """An HNSW search index (``hnswlib.Index``) over the rows of ``X``; see ``hnsw_neighbors``."""
    try:
        import hnswlib
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise MissingDependencyError("hnswlib", "all") from exc
    n, dim = X.shape
    index = hnswlib.Index(space=HNSW_METRICS[metric], dim=dim)
    seed = 100 if random_state is None else int(random_state)
    index.init_index(max_elements=n, M=M, ef_construction=ef_construction, random_seed=seed)
    index.set_num_threads(n_threads or num_threads())
    index.add_items(X, np.arange(n))
    return index


def hnsw_query(
    index: Any,
    X: np.ndarray,
    n_neighbors: int,
    metric: str = "euclidean",
    n_threads: int | None = None,
    ef: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_neighbors`` indexed rows nearest each row of ``X`` (int64 ids, float32 distances)."""
    index.set_ef(max(ef or 64, n_neighbors))
    labels, dists = index.knn_query(X, k=n_neighbors, num_threads=n_threads or num_threads())
    if metric == "euclidean":
        dists = np.sqrt(np.maximum(dists, 0.0))
    return labels.astype(np.int64), dists.astype(np.float32)


def self_first(indices: np.ndarray, dists: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Put each row itself in column 0 at distance 0 (duplicates can displace it)."""
    rows = np.arange(len(indices))
    wrong = np.flatnonzero(indices[:, 0] != rows)
    for i in wrong:
        others = indices[i] != i
        kept_idx, kept_dist = indices[i][others], dists[i][others]
        indices[i, 0], dists[i, 0] = i, 0.0
        indices[i, 1:] = kept_idx[: indices.shape[1] - 1]
        dists[i, 1:] = kept_dist[: indices.shape[1] - 1]
    return indices, dists
