"""A faster UMAP engine ('raregal'): the same method as umap-learn, on every core.

The steps are umap-learn's own (fuzzy simplicial set, the a/b curve from ``min_dist``, the SGD
layout with negative sampling), so the embedding optimises the same objective. What changes is
how the work is done at survey scale:

- neighbours from an HNSW graph (hnswlib, all threads) instead of NN-descent on one thread;
  metrics that hnswlib lacks fall back to pynndescent on all threads; below
  ``raregal.reduce.neighbours.SMALL_DATA`` rows they are exact, as in umap-learn;
- initialisation from the first principal components of the input (seconds) instead of the
  spectral layout of the graph (minutes at 632k galaxies);
- the layout SGD runs in parallel over vertices (``raregal.reduce.layout``; umap-learn falls
  back to one thread whenever ``random_state`` is set).

The layout is the same on any number of threads; the HNSW graph built on several threads can
differ slightly from run to run (``RAREGAL_NUM_THREADS=1`` makes the whole embedding identical).
With ``keep_model`` the engine keeps its HNSW index and layout as ``model_``
(``raregal.reduce.placement.FittedLayout``), whose ``transform`` places new galaxies (sample
fits).
``raregal.bench`` measures the speed-up and the agreement with umap-learn.

The work is split in two so that several layouts of one input share what they can
(``raregal.reduce.seeds``, and the map): ``build_graph`` finds the neighbours and builds the
fuzzy graph once (``UmapGraph``); ``start_layout`` computes the start once; ``layout_graph`` lays
the graph out from that start for one seed. ``RaregalUmapReducer.fit_transform`` is exactly these
three calls, and keeps ``graph_`` and ``start_`` for the caller.
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
from raregal.errors import InputError, MissingDependencyError
from raregal.reduce.layout import optimize_layout
from raregal.reduce.neighbours import (
    HNSW_METRICS,
    SMALL_DATA,
    exact_neighbors,
    hnsw_index,
    hnsw_query,
    self_first,
)
from raregal.reduce.params import UmapParams
from raregal.reduce.placement import FittedLayout
from raregal.settings import num_threads

logger = logging.getLogger(__name__)


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


# ----------------------------------------------------------------------------- shared graph API


@dataclass
class UmapGraph:
    """What every layout of one input shares: its neighbours and umap-learn's fuzzy graph.

    Attributes
    ----------
    indices : ndarray of int64, shape (n, n_neighbors)
        Each row's nearest rows, itself first.
    distances : ndarray of float32, shape (n, n_neighbors)
    graph : csr_matrix of float32, shape (n, n)
        The fuzzy simplicial set (symmetric), before pruning.
    n_neighbors : int
    metric : str
    index : hnswlib.Index or None
        The HNSW index the neighbours came from (None when they were exact or given).
    timings : dict
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
        return int(self.graph.shape[0])


@contextmanager
def numba_thread_count(n_threads: int | None) -> Iterator[None]:
    """Run the block on ``n_threads`` numba threads (``raregal.settings.num_threads()`` when
    None, at most numba's pool), then restore the previous count."""
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(min(n_threads or num_threads(), numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def find_neighbors(
    X: np.ndarray,
    n_neighbors: int,
    metric: str = DEFAULTS["metric"],
    random_state: int | None = DEFAULTS["random_state"],
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, Any]:
    """UMAP's neighbours of every row (itself first) and the HNSW index when one was built.

    Exact below ``SMALL_DATA`` rows (as umap-learn; the same on any thread count), HNSW for the
    metrics hnswlib has, pynndescent on every core for the others.
    """
    if len(X) < SMALL_DATA:
        indices, dists = exact_neighbors(X, n_neighbors, metric)
        return (*self_first(indices.astype(np.int64), dists), None)
    if metric in HNSW_METRICS:
        index = hnsw_index(X, metric, random_state, n_threads)
        indices, dists = hnsw_query(index, X, n_neighbors, metric, n_threads)
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
) -> UmapGraph:
    """Neighbours (or the given ``knn``: indices, distances, ...) and umap-learn's fuzzy graph.

    Built once per input; every layout of it (each seed, each dimension) starts from here.
    """
    try:
        from umap.umap_ import fuzzy_simplicial_set
    except ImportError as exc:  # pragma: no cover - umap-learn is a core dependency
        raise MissingDependencyError("umap-learn", "all") from exc
    X = np.ascontiguousarray(X, dtype=np.float32)
    timings: dict[str, float] = {}
    index = None
    with numba_thread_count(n_threads):
        start = time.perf_counter()
        if knn is None:
            indices, dists, index = find_neighbors(X, n_neighbors, metric, random_state, n_threads)
            timings["neighbors"] = round(time.perf_counter() - start, 3)
        else:
            indices, dists = knn[0], knn[1]
        start = time.perf_counter()
        rng = np.random.RandomState(random_state)
        graph, _, _ = fuzzy_simplicial_set(X, n_neighbors, rng, metric, {}, indices, dists)
        timings["graph"] = round(time.perf_counter() - start, 3)
    return UmapGraph(indices, dists, graph.tocsr(), n_neighbors, metric, index, timings)


def start_layout(
    X: np.ndarray,
    n_components: int,
    random_state: int | None = DEFAULTS["random_state"],
    init: str = "pca",
    graph: UmapGraph | None = None,
) -> np.ndarray:
    """The start of a layout: ``pca_init`` ('pca'), or umap-learn's spectral layout of
    ``graph`` ('spectral', slow at survey scale)."""
    if init == "pca":
        return pca_init(np.asarray(X, dtype=np.float32), n_components, random_state)
    if init == "spectral":
        from umap.spectral import spectral_layout

        if graph is None:
            raise ValueError("init='spectral' needs the graph")
        rng = np.random.RandomState(random_state)
        return spectral_layout(X, graph.graph, n_components, rng)
    raise ValueError(f"init must be 'pca' or 'spectral', got {init!r}")


def resolved_epochs(n_epochs: int | None, n: int) -> int:
    """umap-learn's rule when ``n_epochs`` is None: 200 above 10,000 rows, else 500."""
    if n_epochs is not None:
        return int(n_epochs)
    return 200 if n > 10_000 else 500


def layout_graph(
    graph: UmapGraph,
    start: np.ndarray,
    n_epochs: int | None = DEFAULTS["n_epochs"],
    min_dist: float = DEFAULTS["min_dist"],
    random_state: int | None = DEFAULTS["random_state"],
    n_threads: int | None = None,
) -> np.ndarray:
    """Lay ``graph`` out from ``start`` (not changed) with the seed ``random_state``.

    The dimension is ``start``'s; layouts of one graph from one start differ only by their
    seed (the negative samples), which is how ``raregal.reduce.seeds`` varies a run.

    Returns
    -------
    ndarray of float32, shape (n, start.shape[1])
    """
    from umap.umap_ import find_ab_params

    a, b = find_ab_params(1.0, min_dist)
    with numba_thread_count(n_threads):
        return optimize_layout(start, graph.graph, resolved_epochs(n_epochs, graph.n), a, b,
                               random_state=random_state)  # fmt: skip


class RaregalUmapReducer(UmapParams):
    """UMAP with parallel HNSW neighbours, PCA initialisation and a parallel layout.

    Follows the reduce engine contract (``raregal.reduce.stage``): built with the UMAP
    parameters, exposes ``fit_transform(X)``, ``timings`` (seconds per step: ``neighbors``,
    ``graph``, ``init``, ``layout``) and ``knn_`` (indices, distances, None) so the 2-D map
    reuses the neighbours.

    Parameters
    ----------
    n_components, n_neighbors, min_dist, metric, n_epochs, random_state
        As in umap-learn (see ``raregal.config.PARAMETERS``). ``n_epochs=None`` keeps
        umap-learn's rule (200 above 10,000 rows, 500 below).
    knn : tuple, default=None
        Precomputed (indices, distances, ...) to reuse instead of a neighbour search.
    init : {'pca', 'spectral'}, default='pca'
        Initial layout; 'spectral' is umap-learn's (slow at survey scale).
    n_threads : int, default=None
        Threads; None uses ``raregal.settings.num_threads()``.

    Attributes
    ----------
    graph_ : UmapGraph
        The neighbours and fuzzy graph of the fit (with the HNSW index when one was built), for
        further layouts of the same input (``layout_graph``).
    start_ : ndarray of float32, shape (n, n_components)
        The start the layout began from.
    """

    name = "raregal"
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
        init: str = "pca",
        n_threads: int | None = None,
    ) -> None:
        super().__init__(n_components, n_neighbors, min_dist, metric, n_epochs, random_state, knn)
        self.init = init
        self.n_threads = n_threads
        self.model_: FittedLayout | None = None
        self.graph_: UmapGraph | None = None
        self.start_: np.ndarray | None = None

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        if self.init not in ("pca", "spectral"):
            raise ValueError(f"init must be 'pca' or 'spectral', got {self.init!r}")
        X = np.ascontiguousarray(X, dtype=np.float32)
        if self.keep_model and self.metric not in HNSW_METRICS:
            raise InputError(
                f"reducer 'raregal' places new points (fit_sample_size) only with metric "
                f"{' or '.join(HNSW_METRICS)}; got {self.metric!r}: use reducer 'umap-learn'",
                column="metric",
            )
        graph = build_graph(X, self.n_neighbors, self.metric, self.random_state, self.n_threads,
                            self.knn)  # fmt: skip
        self.timings.update(graph.timings)
        self.knn_ = (graph.indices, graph.distances, None)
        start = time.perf_counter()
        self.start_ = start_layout(X, self.n_components, self.random_state, self.init, graph)
        self.timings["init"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        embedding = layout_graph(graph, self.start_, self.n_epochs, self.min_dist,
                                 self.random_state, self.n_threads)  # fmt: skip
        self.timings["layout"] = round(time.perf_counter() - start, 3)
        if self.keep_model:
            from umap.umap_ import find_ab_params

            a, b = find_ab_params(1.0, self.min_dist)
            index = graph.index if graph.index is not None else hnsw_index(
                X, self.metric, self.random_state, self.n_threads
            )  # fmt: skip
            self.model_ = FittedLayout(
                index, embedding, self.n_neighbors, self.metric, a, b, self.n_epochs,
                self.random_state, self.n_threads,
            )  # fmt: skip
        self.graph_ = graph
        return embedding
