"""Placing new galaxies in a fitted 'raregal' UMAP layout (umap-learn's ``transform``).

A sample fit (``fit_sample_size``) fits UMAP on a sample and places every other galaxy against
it. umap-learn's recipe, with raregal's parallel parts: find each new galaxy's ``n_neighbors``
nearest fitted galaxies in the fit's HNSW index; weight them with the fuzzy membership of a
one-sided graph (``smooth_knn_dist`` with local connectivity 0); start it at the weighted mean of
their positions; then run umap-learn's transform epochs (30 for chunks of more than 10,000
rows, 100 otherwise, or a third of the fit's ``n_epochs``) at a quarter of the learning rate,
moving the new galaxies only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse

from raregal.reduce.fuzzy_graph import memberships, smooth_knn_dist
from raregal.reduce.layout import place_points
from raregal.reduce.neighbours import hnsw_query

SMALL_CHUNK = 10_000
"""umap-learn's transform runs 100 epochs up to this many new rows, else 30."""


@dataclass
class FittedLayout:
    """What placing new points needs from a 'raregal' fit, with a ``transform`` to do it.

    Attributes
    ----------
    index : hnswlib.Index
        Search index over the fitted rows (input space).
    embedding_ : ndarray of shape (n_fitted, n_components)
        The fitted layout.
    n_neighbors, metric, a, b, n_epochs, random_state, n_threads
        The fit's parameters (``n_epochs`` as given: None means umap-learn's rule).
    """

    index: Any
    embedding_: np.ndarray
    n_neighbors: int
    metric: str
    a: float
    b: float
    n_epochs: int | None
    random_state: int | None
    n_threads: int | None

    parallel = True
    """``transform`` already uses every core (``raregal.reduce.sample_fit`` runs it in-process)."""

    @property
    def n_components(self) -> int:
        return int(self.embedding_.shape[1])

    def neighbour_graph(self, X: np.ndarray) -> scipy.sparse.csr_matrix:
        """Memberships of the rows of ``X`` in their fitted neighbours (``placement_graph``)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        indices, dists = hnsw_query(self.index, X, self.n_neighbors, self.metric, self.n_threads)
        return placement_graph(indices, dists, self.n_neighbors, len(self.embedding_))

    def place(
        self, graph: scipy.sparse.csr_matrix, layout: np.ndarray | None = None
    ) -> np.ndarray:
        """Positions of new rows, given their ``neighbour_graph``, in ``layout``: the fitted
        layout by default, or another layout of the same fitted rows (the map)."""
        layout = self.embedding_ if layout is None else np.asarray(layout, dtype=np.float32)
        if graph.shape[0] == 0:
            return np.empty((0, layout.shape[1]), dtype=np.float32)
        init = weighted_start(graph, layout)
        if self.n_epochs is None:
            n_epochs = 100 if graph.shape[0] <= SMALL_CHUNK else 30
        else:
            n_epochs = max(1, int(self.n_epochs // 3))
        return place_points(init, graph, layout, n_epochs, self.a, self.b,
                            random_state=self.random_state)  # fmt: skip

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Positions of the rows of ``X`` in the fitted layout, float32 (n, n_components)."""
        if len(X) == 0:
            return np.empty((0, self.n_components), dtype=np.float32)
        return self.place(self.neighbour_graph(X))


def placement_graph(
    indices: np.ndarray, distances: np.ndarray, n_neighbors: int, n_fitted: int
) -> scipy.sparse.csr_matrix:
    """Memberships of new rows in their fitted neighbours (new x fitted, float32 CSR).

    umap-learn's ``transform``: ``smooth_knn_dist`` with local connectivity 0 and a one-sided
    (bipartite) graph, without the fuzzy union.
    """
    sigmas, rhos = smooth_knn_dist(distances, float(n_neighbors), local_connectivity=0.0)
    values = memberships(indices, distances, sigmas, rhos, bipartite=True)
    n, width = indices.shape
    graph = scipy.sparse.csr_matrix(
        (values.ravel(), np.maximum(indices, 0).astype(np.int32).ravel(),
         np.arange(0, n * width + 1, width, dtype=np.int64)), shape=(n, n_fitted),
    )  # fmt: skip
    graph.eliminate_zeros()
    return graph


def weighted_start(graph: scipy.sparse.csr_matrix, embedding: np.ndarray) -> np.ndarray:
    """Each new point at the membership-weighted mean of its fitted neighbours; a point with an
    exact copy among them (membership 1) starts on that copy, as in umap-learn."""
    sums = np.asarray(graph.sum(axis=1)).ravel()
    start = np.asarray(graph @ embedding, dtype=np.float32)
    start /= np.where(sums > 0, sums, 1.0)[:, None]
    exact = graph.copy()
    exact.data = (exact.data >= 1.0).astype(np.float32)
    has_copy = np.flatnonzero(np.asarray(exact.max(axis=1).todense()).ravel() > 0)
    if len(has_copy):
        start[has_copy] = embedding[np.asarray(exact[has_copy].argmax(axis=1)).ravel()]
    return start
