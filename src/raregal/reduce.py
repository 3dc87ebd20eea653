"""Reduction: optional PCA, then UMAP to ``n_components`` (clustered) and to 2-D (the map).

Engines are chosen by name from ``REDUCERS``. An engine is a class built with the UMAP parameters
(``n_components``, ``n_neighbors``, ``min_dist``, ``metric``, ``n_epochs``, ``random_state`` and
``knn``, a shared neighbour graph it may ignore) that has ``fit_transform(X) -> ndarray`` and a
``timings`` dict (seconds per sub-step). An engine that finds neighbours itself may expose them as
``knn_`` so that the map reuses them. ``umap-learn`` is the reference; ``cuml`` or a faster engine
is added by registering its class here.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from raregal.cuml_engines import add_gpu_reducers
from raregal.errors import InputError, MissingDependencyError
from raregal.fastumap import FastUmapReducer
from raregal.umap_params import UmapParams

logger = logging.getLogger(__name__)


class Reducer(Protocol):
    """The engine contract."""

    timings: dict[str, float]

    def fit_transform(self, X: np.ndarray) -> np.ndarray: ...


SMALL_DATA = 4096
"""Below this many rows neighbours are found exactly (as umap-learn does), not by NN-descent."""


def exact_neighbors(X: np.ndarray, n_neighbors: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``n_neighbors`` nearest neighbours of each row (itself first), umap-learn's layout."""
    from sklearn.neighbors import NearestNeighbors

    model = NearestNeighbors(n_neighbors=n_neighbors, metric=metric).fit(X)
    dists, indices = model.kneighbors(X)
    return indices.astype(np.int32), dists.astype(np.float32)


class UmapLearnReducer(UmapParams):
    """UMAP through umap-learn (the reference engine).

    Neighbours are found once (``knn_``: indices, distances and, from pynndescent, its search
    index; exact below SMALL_DATA rows) and can be handed to a second reducer through ``knn``.
    A fixed ``random_state`` makes umap-learn optimise on one thread (reproducible); None lets
    it use every core.
    """

    name = "umap-learn"
    keep_model = False
    """Keep the fitted ``umap.UMAP`` as ``model_`` (``raregal.sample_fit`` sets it to transform)."""

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        try:
            import umap
            from umap.umap_ import nearest_neighbors
        except ImportError as exc:  # pragma: no cover - umap-learn is a core dependency
            raise MissingDependencyError("umap-learn", "all") from exc
        knn = self.knn
        if knn is None:
            start = time.perf_counter()
            if len(X) < SMALL_DATA:
                knn = exact_neighbors(X, self.n_neighbors, self.metric)
            else:
                rng = np.random.RandomState(self.random_state)
                indices, dists, index = nearest_neighbors(
                    X, self.n_neighbors, self.metric, {}, False, rng, low_memory=True
                )
                knn = (indices, dists, index)
            self.timings["neighbors"] = round(time.perf_counter() - start, 3)
        self.knn_ = knn
        start = time.perf_counter()
        model = umap.UMAP(
            n_components=self.n_components,
            n_neighbors=self.n_neighbors,
            min_dist=self.min_dist,
            metric=self.metric,
            n_epochs=self.n_epochs,
            random_state=self.random_state,
            n_jobs=1 if self.random_state is not None else -1,
            precomputed_knn=knn,
            low_memory=True,
        )
        with warnings.catch_warnings():  # we never call transform on new data
            warnings.filterwarnings("ignore", message="precomputed_knn", category=UserWarning)
            embedding = model.fit_transform(X)
        self.model_ = model if self.keep_model else None
        self.timings["umap"] = round(time.perf_counter() - start, 3)
        return np.asarray(embedding, dtype=np.float32)


REDUCERS: dict[str, type] = {"umap-learn": UmapLearnReducer, "raregal": FastUmapReducer}
"""Reduction engines by name; register new engines here (e.g. 'cuml')."""
add_gpu_reducers(REDUCERS)  # 'auto', and 'cuml' where cuML is installed (raregal.cuml_engines)


def register_reducer(name: str, cls: type) -> None:
    """Add a reduction engine under ``name`` (its class follows the ``Reducer`` contract)."""
    REDUCERS[name] = cls


def make_reducer(name: str, **params: Any) -> Reducer:
    """Build the engine ``name`` with UMAP parameters ``params``."""
    if name not in REDUCERS:
        raise InputError(
            f"parameter 'reducer' must be one of {', '.join(map(repr, REDUCERS))}; got {name!r}",
            column="reducer",
        )
    return REDUCERS[name](**params)


@dataclass
class Reduction:
    """What ``reduce`` returns: the clustered embedding, the 2-D map and the facts to record."""

    embedding: np.ndarray
    map_embedding: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def pca(X: np.ndarray, n_components: int, random_state: int | None = 0) -> tuple[np.ndarray, float]:
    """Project onto the first ``n_components`` principal components.

    Returns the projection and the fraction of variance it keeps.
    """
    from sklearn.decomposition import PCA

    if n_components >= X.shape[1]:
        return X, 1.0
    model = PCA(n_components=n_components, random_state=random_state)
    projected = model.fit_transform(X).astype(np.float32)
    return projected, float(model.explained_variance_ratio_.sum())


def reduce(
    X: np.ndarray,
    reducer: str = "raregal",
    n_components: int = 5,
    map_components: int = 2,
    n_neighbors: int = 50,
    min_dist: float = 0.1,
    metric: str = "euclidean",
    n_epochs: int | None = None,
    pca_components: int | None = None,
    random_state: int | None = 0,
    fit_sample_size: int | None = None,
) -> Reduction:
    """PCA (optional), then UMAP to ``n_components`` and ``map_components`` dimensions.

    Parameters
    ----------
    X : ndarray of shape (n_galaxies, n_features)
        The representations (finite values only).
    reducer : str, default='raregal'
        Engine name in ``REDUCERS``.
    n_components, map_components, n_neighbors, min_dist, metric, n_epochs : see SearchConfig
    pca_components : int or None, default=None
        PCA dimensions before UMAP; None skips PCA.
    random_state : int or None, default=0
        Seed of PCA and both UMAPs (recorded in ``info``).
    fit_sample_size : int or None, default=None
        Fit both UMAPs on this many galaxies drawn at random and place the others with the
        engine's ``transform`` (``raregal.sample_fit``); None fits on every galaxy.

    Returns
    -------
    Reduction
        ``embedding`` (n, n_components) float32, ``map_embedding`` (n, map_components) float32.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = X.shape[0]
    if n_neighbors >= n:
        raise InputError(
            f"n_neighbors={n_neighbors} needs more than {n_neighbors} galaxies; got {n}",
            column="n_neighbors", count=n,
        )  # fmt: skip
    timings: dict[str, float] = {}
    info: dict[str, Any] = {"reducer": reducer, "random_state": random_state, "n_input": n,
                            "n_features": X.shape[1]}  # fmt: skip
    if pca_components is not None:
        start = time.perf_counter()
        X, kept = pca(X, pca_components, random_state)
        timings["pca"] = round(time.perf_counter() - start, 3)
        info["pca_explained_variance"] = round(kept, 6)
        logger.info("PCA to %d dimensions keeps %.1f%% of the variance", X.shape[1], 100 * kept)
    umap_params = dict(n_neighbors=n_neighbors, min_dist=min_dist, metric=metric,
                       n_epochs=n_epochs, random_state=random_state)  # fmt: skip
    logger.info("UMAP of %d galaxies to %d dimensions (%s)", n, n_components, reducer)
    first = _engine(reducer, n, fit_sample_size, n_components=n_components, **umap_params)
    embedding = first.fit_transform(X)
    timings.update({f"embedding_{k}": v for k, v in first.timings.items()})
    logger.info("UMAP to %d dimensions for the map", map_components)
    second = _engine(reducer, n, fit_sample_size, n_components=map_components,
                     knn=getattr(first, "knn_", None), **umap_params)  # fmt: skip
    map_embedding = second.fit_transform(X)
    timings.update({f"map_{k}": v for k, v in second.timings.items()})
    info["map_reused_neighbors"] = getattr(first, "knn_", None) is not None
    info["reducer_used"] = getattr(getattr(first, "base", first), "name", reducer)
    if fit_sample_size is not None:
        info["fit_sample_size"] = min(fit_sample_size, n)
    return Reduction(embedding, map_embedding, timings, info)


def _engine(reducer: str, n: int, fit_sample_size: int | None, **params: Any) -> Reducer:
    """The engine ``reducer``, wrapped to fit on a sample when ``fit_sample_size < n``."""
    base = make_reducer(reducer, **params)
    if fit_sample_size is None or fit_sample_size >= n:
        return base
    from raregal.sample_fit import SampleFitReducer

    return SampleFitReducer(base, fit_sample_size, params.get("random_state"))
