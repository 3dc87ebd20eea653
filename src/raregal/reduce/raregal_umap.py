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
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

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
        self._index: Any = None

    def _neighbors(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(X) < SMALL_DATA:  # exact, as umap-learn does, and the same on any thread count
            indices, dists = exact_neighbors(X, self.n_neighbors, self.metric)
            return self_first(indices.astype(np.int64), dists)
        if self.metric in HNSW_METRICS:
            self._index = hnsw_index(X, self.metric, self.random_state, self.n_threads)
            indices, dists = hnsw_query(self._index, X, self.n_neighbors, self.metric,
                                        self.n_threads)  # fmt: skip
            return self_first(indices, dists)
        from umap.umap_ import nearest_neighbors

        rng = np.random.RandomState(self.random_state)
        indices, dists, _ = nearest_neighbors(
            X, self.n_neighbors, self.metric, {}, False, rng, low_memory=True, n_jobs=-1
        )
        return indices, dists

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        try:
            import numba
            from umap.spectral import spectral_layout
            from umap.umap_ import find_ab_params, fuzzy_simplicial_set
        except ImportError as exc:  # pragma: no cover - umap-learn is a core dependency
            raise MissingDependencyError("umap-learn", "all") from exc
        X = np.ascontiguousarray(X, dtype=np.float32)
        if self.keep_model and self.metric not in HNSW_METRICS:
            raise InputError(
                f"reducer 'raregal' places new points (fit_sample_size) only with metric "
                f"{' or '.join(HNSW_METRICS)}; got {self.metric!r}: use reducer 'umap-learn'",
                column="metric",
            )
        self._index = None
        threads = self.n_threads or num_threads()
        previous_threads = numba.get_num_threads()
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        try:
            return self._fit_transform(X, fuzzy_simplicial_set, spectral_layout, find_ab_params)
        finally:
            numba.set_num_threads(previous_threads)

    def _fit_transform(self, X, fuzzy_simplicial_set, spectral_layout, find_ab_params):
        if self.init not in ("pca", "spectral"):
            raise ValueError(f"init must be 'pca' or 'spectral', got {self.init!r}")
        rng = np.random.RandomState(self.random_state)
        start = time.perf_counter()
        if self.knn is None:
            indices, dists = self._neighbors(X)
            self.timings["neighbors"] = round(time.perf_counter() - start, 3)
        else:
            indices, dists = self.knn[0], self.knn[1]
        self.knn_ = (indices, dists, None)
        start = time.perf_counter()
        graph, _, _ = fuzzy_simplicial_set(
            X, self.n_neighbors, rng, self.metric, {}, indices, dists
        )
        self.timings["graph"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        init: Any = self.init
        if self.init == "pca":
            init = pca_init(X, self.n_components, self.random_state)
        elif self.init == "spectral":
            init = spectral_layout(X, graph, self.n_components, rng)
        self.timings["init"] = round(time.perf_counter() - start, 3)
        n_epochs = self.n_epochs
        if n_epochs is None:
            n_epochs = 200 if len(X) > 10_000 else 500
        a, b = find_ab_params(1.0, self.min_dist)
        start = time.perf_counter()
        embedding = optimize_layout(init, graph, n_epochs, a, b, random_state=self.random_state)
        self.timings["layout"] = round(time.perf_counter() - start, 3)
        if self.keep_model:
            index = self._index if self._index is not None else hnsw_index(
                X, self.metric, self.random_state, self.n_threads
            )  # fmt: skip
            self.model_ = FittedLayout(
                index, embedding, self.n_neighbors, self.metric, a, b, self.n_epochs,
                self.random_state, self.n_threads,
            )  # fmt: skip
        self._index = None
        return embedding
