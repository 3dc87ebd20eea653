"""Placing new galaxies in a fitted 'raregal' UMAP layout (umap-learn's ``transform``).

A sample fit (``fit_sample_size``) fits UMAP on a sample and places every other galaxy against
it. umap-learn's recipe, with raregal's parallel parts: find each new galaxy's ``n_neighbors``
nearest fitted galaxies in the fit's HNSW index; weight them with the fuzzy membership of a
one-sided graph (``smooth_knn_dist`` with local connectivity 0); start it at the weighted mean of
their positions; then run umap-learn's transform epochs (30 for chunks of more than 10,000
rows, 100 otherwise, or a third of the fit's ``n_epochs``) at a quarter of the learning rate,
moving the new galaxies only.

``place_independently`` places galaxies into an existing run (``raregal predict``) so that a
galaxy lands in the same place whatever batch it comes in (lmcinnes/umap#566).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse

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

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Positions of the rows of ``X`` in the fitted layout, float32 (n, n_components)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if len(X) == 0:
            return np.empty((0, self.n_components), dtype=np.float32)
        graph = membership_graph(self.index, X, len(self.embedding_), self.n_neighbors,
                                 self.metric, self.n_threads)  # fmt: skip
        init = weighted_start(graph, self.embedding_)
        if self.n_epochs is None:
            n_epochs = 100 if len(X) <= SMALL_CHUNK else 30
        else:
            n_epochs = max(1, int(self.n_epochs // 3))
        return place_points(
            init, graph, self.embedding_, n_epochs, self.a, self.b, random_state=self.random_state
        )


def membership_graph(
    index: Any, X: np.ndarray, n_fitted: int, n_neighbors: int, metric: str,
    n_threads: int | None = None,
) -> scipy.sparse.csr_matrix:  # fmt: skip
    """Each new row's fuzzy membership to its ``n_neighbors`` nearest fitted rows (umap-learn's
    transform graph: ``smooth_knn_dist`` with local connectivity 0), shape (len(X), n_fitted).
    Each row's weights depend on its own distances only."""
    indices, dists = hnsw_query(index, X, n_neighbors, metric, n_threads)
    return memberships(indices, dists, n_fitted, n_neighbors)


def memberships(
    indices: np.ndarray, dists: np.ndarray, n_fitted: int, n_neighbors: int
) -> scipy.sparse.csr_matrix:
    """The fuzzy membership graph of ``membership_graph`` from neighbours already found."""
    from umap.umap_ import compute_membership_strengths, smooth_knn_dist

    sigmas, rhos = smooth_knn_dist(dists, float(n_neighbors), local_connectivity=0.0)
    rows, cols, vals, _ = compute_membership_strengths(indices, dists, sigmas, rhos, bipartite=True)
    graph = scipy.sparse.csr_matrix(
        (vals, (rows, cols)), shape=(len(indices), n_fitted), dtype=np.float32
    )
    graph.eliminate_zeros()
    return graph


PLACE_EPOCHS = 0
"""Refinement epochs of ``place_independently``: none by default, in the clustered embedding and
the map alike.

A new galaxy is placed on its nearest fitted galaxy (``Placement``). Measured on the benchmark's
representations (20,000 rows, 128-D, four planted groups; fit on 80%, ``raregal.bench``): placed
there, the fitted galaxies got back their own cluster (99.6%) and the held-out 20% were
clustered as often as the fitted ones (22% against 21%), into leaves as pure as the fit's. At the
membership-weighted mean of the ``n_neighbors`` (umap-learn's start) only 4.7% were clustered (a
point lands between its neighbours, off the small leaves). Epochs of umap-learn's transform pull
a galaxy into its neighbours' densest group (3,000 rows, 16-D: planted leaves 58% pure with the
held-out galaxies in them, against the fit's 84%) and off its own copy (88% of the fitted
galaxies back in their cluster after 100 epochs); in the map they also move a galaxy away from
the island of the cluster it is assigned to."""

PLACE_GAMMA = 0.5
"""Repulsion of the refinement epochs: half the fit's, as a placed point is pulled only by its
own edges where a fitted point is pulled by both ends of each."""


@dataclass
class Placement:
    """Where new rows go in fitted layouts.

    Attributes
    ----------
    positions : list of ndarray of float32, shape (n, k)
        One array per layout.
    neighbours : ndarray of int64, shape (n, n_neighbors)
        Each row's nearest fitted rows (in the input space), nearest first: it starts on the
        first.
    distances : ndarray of float32, shape (n, n_neighbors)
        The distances to them.
    """

    positions: list[np.ndarray]
    neighbours: np.ndarray
    distances: np.ndarray

    @property
    def nearest(self) -> np.ndarray:
        """Each row's nearest fitted row, where it is placed."""
        return self.neighbours[:, 0]


def place_independently(
    index: Any,
    X: np.ndarray,
    layouts: Sequence[np.ndarray],
    n_neighbors: int,
    metric: str,
    a: float,
    b: float,
    n_epochs: int | Sequence[int] = PLACE_EPOCHS,
    random_state: int | None = 0,
    n_threads: int | None = None,
) -> Placement:
    """Place new rows into fitted layouts, each row independently of the batch it comes in.

    umap-learn's transform (lmcinnes/umap#566) moves a galaxy when other rows come with it: its
    epochs, its sampling schedule (scaled to the batch's heaviest edge) and its random stream
    (by row number) all depend on the batch. Here each row is placed from its own neighbours
    only, found in the fit's HNSW ``index`` (whose answer to one query does not depend on the
    others): it starts on its nearest fitted row (umap-learn's start for a row whose membership
    to a neighbour is 1, which the fit's local connectivity of 1 gives the nearest; see
    ``PLACE_EPOCHS`` for why it stays there in the clustered embedding); with ``n_epochs`` it is
    then refined by umap-learn's transform epochs from its own fuzzy memberships on a fixed
    schedule (scale 1.0, the largest membership) with a random stream keyed by its input values.
    A galaxy therefore lands in the same place alone, in any batch, in any order and on any
    number of threads.

    Parameters
    ----------
    index : hnswlib.Index
        Over the fitted rows, in the order of the rows of each layout.
    X : ndarray of shape (n, d)
        New rows in the input space of the fit (after its PCA).
    layouts : sequence of ndarray of shape (n_fitted, k)
        Fitted layouts to place into (e.g. the clustered embedding and the 2-D map).
    n_neighbors, metric, a, b
        The fit's.
    n_epochs : int or sequence of int, default=PLACE_EPOCHS
        Refinement epochs, for every layout or one per layout.
    random_state : int or None, default=0

    Returns
    -------
    Placement
    """
    from raregal.reduce.layout import row_keys

    X = np.ascontiguousarray(X, dtype=np.float32)
    if len(X) == 0:
        return Placement([np.empty((0, layout.shape[1]), dtype=np.float32) for layout in layouts],
                         np.empty((0, n_neighbors), dtype=np.int64),
                         np.empty((0, n_neighbors), dtype=np.float32))  # fmt: skip
    epochs = [int(n_epochs)] * len(layouts) if np.isscalar(n_epochs) else list(n_epochs)
    indices, dists = hnsw_query(index, X, n_neighbors, metric, n_threads)
    nearest = indices[:, 0].astype(np.int64)
    graph = memberships(indices, dists, len(layouts[0]), n_neighbors) if max(epochs) else None
    keys = row_keys(X.view(np.uint32)) if max(epochs) > 0 else None
    seed = 0 if random_state is None else int(random_state)
    positions = []
    for offset, (layout, epochs_here) in enumerate(zip(layouts, epochs, strict=True)):
        reference = np.ascontiguousarray(layout, dtype=np.float32)
        start = reference[nearest]
        if epochs_here > 0:
            start = place_points(start, graph, reference, epochs_here, a, b, gamma=PLACE_GAMMA,
                                 random_state=seed + offset, max_weight=1.0,
                                 keys=keys)  # fmt: skip
        positions.append(start)
    return Placement(positions, indices.astype(np.int64), dists.astype(np.float32))


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
