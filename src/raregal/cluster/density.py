"""Core distances: how far each point's ``min_samples``-th nearest other point lies.

HDBSCAN's mutual-reachability distance is built from them, and placing a new point into the
condensed tree (``raregal.cluster.assign``) needs those of the fitted points. fast_hdbscan returns
them with its tree; for engines that do not, ``core_distances`` computes them the same way (the
``min_samples + 1`` nearest rows, the row itself included), in chunks so that memory stays flat.
"""

from __future__ import annotations

import numpy as np

from raregal.settings import num_threads

CHUNK_ROWS = 20_000


def core_distances(
    X: np.ndarray, min_samples: int, chunk_rows: int = CHUNK_ROWS, n_jobs: int | None = None
) -> np.ndarray:
    """Distance of each row of ``X`` to its ``min_samples``-th nearest other row (float64).

    Parameters
    ----------
    X : ndarray of shape (n, d)
        The clustered embedding.
    min_samples : int
        HDBSCAN's ``min_samples`` (at most n - 1).
    chunk_rows : int, default=20_000
        Rows queried at a time: (chunk_rows x (min_samples + 1)) distances are held at once.
    n_jobs : int, default=None
        Query threads; None uses ``raregal.settings.num_threads()``.
    """
    from sklearn.neighbors import NearestNeighbors

    X = np.ascontiguousarray(X, dtype=np.float64)
    k = min(int(min_samples) + 1, len(X))
    model = NearestNeighbors(n_neighbors=k, algorithm="kd_tree", n_jobs=n_jobs or num_threads())
    model.fit(X)
    out = np.empty(len(X))
    for start in range(0, len(X), chunk_rows):
        dists, _ = model.kneighbors(X[start : start + chunk_rows])
        out[start : start + len(dists)] = dists[:, -1]
    return out
