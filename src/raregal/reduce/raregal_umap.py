"""A faster UMAP engine ('raregal'): the same method as umap-learn, on every core.

The steps are umap-learn's own (fuzzy simplicial set, the a/b curve from ``min_dist``, the SGD
layout with negative sampling), so the embedding optimises the same objective. What changes is
how the work is done at survey scale:

- neighbours from an HNSW graph (hnswlib, all threads) instead of NN-descent on one thread;
  metrics that hnswlib lacks fall back to pynndescent on all threads; below
  ``raregal.reduce.neighbours.SMALL_DATA`` rows they are exact, as in umap-learn;
- the fuzzy graph from raregal's own kernels (``raregal.reduce.fuzzy_graph``: umap-learn's
  computation, compiled once and cached on disk, parallel);
- initialisation from the first principal components of the input (seconds) instead of the
  spectral layout of the graph (minutes at 632k galaxies);
- the layout SGD runs in parallel over vertices (``raregal.reduce.layout``; umap-learn falls
  back to one thread whenever ``random_state`` is set).

Several layouts of one data set share the work up to the graph: ``build_graph`` finds the
neighbours and the fuzzy graph once (``UmapGraph``), ``start_layout`` computes the start once,
``layout_graph`` lays the graph out from a start with a seed, as often as wanted (the 2-D map of
a search, the other seeds of the clustered layout: ``raregal.reduce.seeds``). The engine
``RaregalUmapReducer`` is exactly those three calls behind the reduce contract, and keeps
``graph_`` and ``start_`` for the caller; its ``map_layout`` lays out the map from the same graph,
started from the clustered layout.

On one thread a layout is reproducible; the HNSW graph built on several threads can differ
slightly from run to run, and so can the lock-free layout (``RAREGAL_NUM_THREADS=1`` makes the
whole embedding identical). With ``keep_model`` the engine keeps its HNSW index and layout as
``model_`` (``raregal.reduce.placement.FittedLayout``), whose ``transform`` places new galaxies
(sample fits). ``raregal.bench`` measures the speed-up and the agreement with umap-learn.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse

from raregal.config import DEFAULTS
from raregal.errors import InputError
from raregal.reduce.fuzzy_graph import fuzzy_simplicial_set
from raregal.reduce.layout import ab_params, optimize_layout
from raregal.reduce.neighbours import (
    HNSW_METRICS,
    SMALL_DATA,
    exact_neighbors,
    hnsw_index,
    hnsw_query,
    locality_order,
    self_first,
)
from raregal.reduce.params import UmapParams
from raregal.reduce.placement import FittedLayout
from raregal.settings import num_threads

logger = logging.getLogger(__name__)


@contextmanager
def numba_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block on ``n_threads`` numba threads (None: ``settings.num_threads()``)."""
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(min(n_threads or num_threads(), numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


LARGE_DATA_EPOCHS = 100
"""Epochs above 10,000 rows (umap-learn: 200). Measured: the planted groups were recovered as
often with 100 as with 200 (27 against 25 class-recoveries over 8 seeds at 20k galaxies, every
group at 200k over 3 seeds), and the map laid out from the clustered layout with 100 keeps as
many input neighbours as umap-learn's 2-D UMAP (docs/benchmarks.md, the map suite)."""


def default_epochs(n: int) -> int:
    """Epochs for ``n_epochs=None``: ``LARGE_DATA_EPOCHS`` above 10,000 rows, 500 up to that
    (umap-learn's rule for small data)."""
    return LARGE_DATA_EPOCHS if n > 10_000 else 500


def pca_init(X: np.ndarray, n_components: int, random_state: int | None = 0) -> np.ndarray:
    """Initial layout: the first ``n_components`` principal components, scaled as umap-learn's.

    umap-learn rescales any initial layout to [0, 10] per axis before the optimisation; the tiny
    jitter (umap-learn's ``noisy_scale_coords``) separates exact duplicates.
    """
    from sklearn.decomposition import PCA

    rng = np.random.RandomState(random_state)
    sample = X if len(X) <= 100_000 else X[rng.choice(len(X), 100_000, replace=False)]
    model = PCA(n_components=n_components, random_state=random_state).fit(sample)
    layout = model.transform(X).astype(np.float32)
    layout *= 10.0 / np.abs(layout).max()
    layout += rng.normal(scale=1e-4, size=layout.shape).astype(np.float32)
    return layout


@dataclass
class UmapGraph:
    """What every layout of one data set shares: its neighbours and its fuzzy graph.

    Attributes
    ----------
    indices : ndarray of int64, shape (n, n_neighbors)
        Each row's neighbours, itself first.
    distances : ndarray of float32, shape (n, n_neighbors)
    graph : scipy.sparse.csr_matrix of float32, shape (n, n)
        umap-learn's fuzzy simplicial set (symmetric, rows sorted).
    n_neighbors : int
    metric : str
    index : hnswlib.Index or None
        The HNSW index over the rows, when kept (to place new rows later).
    timings : dict of str to float
        Seconds of ``neighbors`` (absent when given) and ``graph``.
    """

    indices: np.ndarray
    distances: np.ndarray
    graph: scipy.sparse.csr_matrix
    n_neighbors: int
    metric: str
    index: Any = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """The number of rows."""
        return int(self.graph.shape[0])

    @property
    def knn(self) -> tuple[np.ndarray, np.ndarray, None]:
        """(indices, distances, None): the neighbours in the form engines pass on as ``knn``."""
        return self.indices, self.distances, None


def find_neighbors(
    X: np.ndarray,
    n_neighbors: int,
    metric: str = DEFAULTS["metric"],
    random_state: int | None = DEFAULTS["random_state"],
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Each row's ``n_neighbors`` nearest rows, itself first: (indices, distances, index).

    Exact below ``SMALL_DATA`` rows (as umap-learn; the same on any thread count), HNSW for the
    metrics hnswlib has (``index`` is the HNSW index), pynndescent on every thread otherwise
    (``index`` None).
    """
    if len(X) < SMALL_DATA:
        indices, dists = exact_neighbors(X, n_neighbors, metric)
        return (*self_first(indices.astype(np.int64), dists), None)
    if metric in HNSW_METRICS:
        order = locality_order(X)
        index = hnsw_index(X, metric, random_state, n_threads, order=order)
        indices, dists = hnsw_query(index, X, n_neighbors, metric, n_threads, order=order)
        return (*self_first(indices, dists), index)
    from umap.umap_ import nearest_neighbors

    rng = np.random.RandomState(random_state)
    indices, dists, _ = nearest_neighbors(
        X, n_neighbors, metric, {}, False, rng, low_memory=True, n_jobs=-1
    )
    return indices, dists, None


def build_graph(
    X: np.ndarray,
    n_neighbors: int = DEFAULTS["n_neighbors"],
    metric: str = DEFAULTS["metric"],
    random_state: int | None = DEFAULTS["random_state"],
    n_threads: int | None = None,
    knn: tuple[Any, ...] | None = None,
    keep_index: bool = False,
) -> UmapGraph:
    """The neighbours and the fuzzy graph of ``X``, shared by every layout of it.

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
    n_neighbors, metric, random_state
        As in umap-learn (``random_state`` seeds the HNSW levels).
    n_threads : int, default=None
        Threads; None uses ``raregal.settings.num_threads()``.
    knn : tuple, default=None
        Neighbours found earlier, (indices, distances, ...), itself first; no search then.
    keep_index : bool, default=False
        Make sure ``UmapGraph.index`` holds an HNSW index to place new rows later: built here
        when the neighbours came without one (``knn`` given, or exact below ``SMALL_DATA``).
        An index the neighbour search built is kept either way.

    Returns
    -------
    UmapGraph

    Examples
    --------
    Three seeds of the clustered layout from one graph and one start:

    >>> graph = build_graph(X)                                        # doctest: +SKIP
    >>> start = start_layout(X, 5)                                    # doctest: +SKIP
    >>> layouts = [layout_graph(graph, start, random_state=s) for s in (0, 1, 2)]  # doctest: +SKIP
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    if keep_index and metric not in HNSW_METRICS:
        raise InputError(
            f"reducer 'raregal' places new points (fit_sample_size) only with metric "
            f"{' or '.join(HNSW_METRICS)}; got {metric!r}: use reducer 'umap-learn'",
            column="metric",
        )
    timings: dict[str, float] = {}
    index = None
    with numba_threads(n_threads):
        start = time.perf_counter()
        if knn is None:
            indices, dists, index = find_neighbors(X, n_neighbors, metric, random_state,
                                                   n_threads)  # fmt: skip
            timings["neighbors"] = round(time.perf_counter() - start, 3)
        else:
            indices, dists = np.asarray(knn[0]), np.asarray(knn[1], dtype=np.float32)
        start = time.perf_counter()
        graph = fuzzy_simplicial_set(indices, dists, n_neighbors)
        timings["graph"] = round(time.perf_counter() - start, 3)
    if keep_index and index is None:
        index = hnsw_index(X, metric, random_state, n_threads)
    return UmapGraph(indices, dists, graph, n_neighbors, metric, index, timings)


def start_layout(
    X: np.ndarray,
    n_components: int,
    random_state: int | None = DEFAULTS["random_state"],
    init: str | np.ndarray = "pca",
    graph: UmapGraph | None = None,
) -> np.ndarray:
    """The start of a layout, computed once for every seed: ``pca_init`` ('pca'), umap-learn's
    spectral layout of ``graph`` ('spectral', slow at survey scale), or an array of shape
    (n, n_components) used as given."""
    if isinstance(init, np.ndarray):
        if init.shape != (len(X), n_components):
            raise ValueError(f"init of shape {init.shape} does not match "
                             f"({len(X)}, {n_components})")  # fmt: skip
        return init
    if init == "pca":
        return pca_init(np.asarray(X, dtype=np.float32), n_components, random_state)
    if init == "spectral":
        from umap.spectral import spectral_layout

        if graph is None:
            raise ValueError("init='spectral' needs the graph")
        rng = np.random.RandomState(random_state)
        return spectral_layout(X, graph.graph, n_components, rng)
    raise ValueError(f"init must be 'pca', 'spectral' or an array, got {init!r}")


def resolved_epochs(n_epochs: int | None, n: int) -> int:
    """``n_epochs``, or ``default_epochs(n)`` when it is None."""
    return default_epochs(n) if n_epochs is None else int(n_epochs)


def layout_graph(
    graph: UmapGraph | scipy.sparse.spmatrix,
    init: np.ndarray,
    n_epochs: int | None = DEFAULTS["n_epochs"],
    min_dist: float = DEFAULTS["min_dist"],
    random_state: int | None = DEFAULTS["random_state"],
    n_threads: int | None = None,
) -> np.ndarray:
    """Lay out the fuzzy graph from ``init`` with umap-learn's SGD (``raregal.reduce.layout``).

    Parameters
    ----------
    graph : UmapGraph or sparse matrix of shape (n, n)
    init : ndarray of shape (n, n_components)
        The start (``pca_init``, ``layout_start`` of another layout, ...); rescaled to
        [0, 10] per axis as umap-learn does. Not changed.
    n_epochs : int or None, default=None
        None: ``default_epochs`` (100 above 10,000 rows, 500 up to that).
    min_dist : float, default=0.1
    random_state : int or None, default=0
        Seed of the negative samples.
    n_threads : int, default=None

    Returns
    -------
    ndarray of float32, shape (n, n_components)
    """
    matrix = graph.graph if isinstance(graph, UmapGraph) else graph
    epochs = resolved_epochs(n_epochs, matrix.shape[0])
    a, b = ab_params(1.0, min_dist)
    with numba_threads(n_threads):
        return optimize_layout(init, matrix, epochs, a, b, random_state=random_state)


def layout_start(embedding: np.ndarray, n_components: int) -> np.ndarray:
    """A start for a layout of fewer dimensions: the principal axes of ``embedding``.

    The map of a search starts from its clustered layout's first two principal components, so
    that it begins with the groups the clustered layout has already formed.
    """
    from sklearn.decomposition import PCA

    embedding = np.asarray(embedding, dtype=np.float32)
    if n_components >= embedding.shape[1]:
        return embedding[:, :n_components].copy()
    return (
        PCA(n_components=n_components, random_state=0).fit_transform(embedding).astype(np.float32)
    )


class RaregalUmapReducer(UmapParams):
    """UMAP with parallel HNSW neighbours, PCA initialisation and a parallel layout.

    Follows the reduce engine contract (``raregal.reduce.stage``): built with the UMAP
    parameters, exposes ``fit_transform(X)``, ``timings`` (seconds per step: ``neighbors``,
    ``graph``, ``init``, ``layout``) and ``knn_`` (indices, distances, None) so the 2-D map
    reuses the neighbours; ``map_layout`` lays the map out from this fit's graph and layout.

    Parameters
    ----------
    n_components, n_neighbors, min_dist, metric, n_epochs, random_state
        As in umap-learn (see ``raregal.config.PARAMETERS``). ``n_epochs=None``: 100 above
        10,000 rows, 500 up to that (``default_epochs``; umap-learn takes 200 above).
    knn : tuple, default=None
        Precomputed (indices, distances, ...) to reuse instead of a neighbour search.
    init : {'pca', 'spectral'} or ndarray, default='pca'
        Initial layout; 'spectral' is umap-learn's (slow at survey scale); an array of shape
        (n, n_components) is used as given.
    n_threads : int, default=None
        Threads; None uses ``raregal.settings.num_threads()``.
    graph : UmapGraph, default=None
        A graph built earlier (``build_graph``) for these rows: no neighbour search, no graph.

    Attributes
    ----------
    graph_ : UmapGraph
        The neighbours and fuzzy graph of the fit (with the HNSW index when one was built),
        for further layouts of the same input (``layout_graph``: seeds, the map).
    start_ : ndarray of float32, shape (n, n_components)
        The start the layout began from (not changed by it).
    embedding_ : ndarray of float32, shape (n, n_components)
    model_ : FittedLayout or None
        With ``keep_model``: what placing new points needs.
    """

    name = "raregal"
    lays_out_map = True
    """``map_layout`` lays out the map from this fit (the reduce stage asks for it)."""
    keep_model = False
    """Keep what placing new points needs as ``model_`` (``raregal.reduce.sample_fit`` sets it)."""

    def __init__(
        self,
        n_components: int = DEFAULTS["n_components"],
        n_neighbors: int = DEFAULTS["n_neighbors"],
        min_dist: float = DEFAULTS["min_dist"],
        metric: str = DEFAULTS["metric"],
        n_epochs: int | None = DEFAULTS["n_epochs"],
        random_state: int | None = DEFAULTS["random_state"],
        knn: tuple[Any, ...] | None = None,
        init: str | np.ndarray = "pca",
        n_threads: int | None = None,
        graph: UmapGraph | None = None,
    ) -> None:
        super().__init__(n_components, n_neighbors, min_dist, metric, n_epochs, random_state, knn)
        self.init = init
        self.n_threads = n_threads
        self.graph = graph
        self.graph_: UmapGraph | None = None
        self.start_: np.ndarray | None = None
        self.model_: FittedLayout | None = None

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float32)
        if self.keep_model and self.metric not in HNSW_METRICS:
            raise InputError(
                f"reducer 'raregal' places new points (fit_sample_size) only with metric "
                f"{' or '.join(HNSW_METRICS)}; got {self.metric!r}: use reducer 'umap-learn'",
                column="metric",
            )
        graph = self.graph
        if graph is None:
            graph = build_graph(X, self.n_neighbors, self.metric, self.random_state,
                                n_threads=self.n_threads, knn=self.knn,
                                keep_index=self.keep_model)  # fmt: skip
            self.timings.update(graph.timings)
        elif len(graph.indices) != len(X):
            raise ValueError(f"graph of {len(graph.indices)} rows given for {len(X)} rows")
        self.knn_ = graph.knn
        start = time.perf_counter()
        self.start_ = start_layout(X, self.n_components, self.random_state, self.init, graph)
        self.timings["init"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        embedding = layout_graph(graph, self.start_, self.n_epochs, self.min_dist,
                                 self.random_state, self.n_threads)  # fmt: skip
        self.timings["layout"] = round(time.perf_counter() - start, 3)
        self.embedding_ = embedding
        if self.keep_model:
            index = graph.index if graph.index is not None else hnsw_index(
                X, self.metric, self.random_state, self.n_threads
            )  # fmt: skip
            a, b = ab_params(1.0, self.min_dist)
            self.model_ = FittedLayout(
                index, embedding, self.n_neighbors, self.metric, a, b, self.n_epochs,
                self.random_state, self.n_threads,
            )  # fmt: skip
            graph.index = None  # the model holds it now
        self.graph_ = graph
        return embedding

    def map_layout(self, n_components: int, n_epochs: int | None = None) -> np.ndarray:
        """A second layout of the fitted rows (the map): same graph, started from this fit.

        Parameters
        ----------
        n_components : int
            Dimensions of the map.
        n_epochs : int or None, default=None
            None: the fit's epochs.

        Returns
        -------
        ndarray of float32, shape (n, n_components)
        """
        start = time.perf_counter()
        init = layout_start(self.embedding_, n_components)
        self.timings["map_init"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        epochs = self.n_epochs if n_epochs is None else n_epochs
        layout = layout_graph(self.graph_, init, epochs, self.min_dist, self.random_state,
                              self.n_threads)  # fmt: skip
        self.timings["map_layout"] = round(time.perf_counter() - start, 3)
        return layout
