"""The reduce stage: optional PCA, then UMAP to ``n_components`` (clustered) and to the map.

Engines are chosen by name from ``raregal.reduce.engines.REDUCERS``. An engine is a class built
with the UMAP parameters (``raregal.reduce.params.UmapParams``: ``n_components``,
``n_neighbors``, ``min_dist``, ``metric``, ``n_epochs``, ``random_state`` and ``knn``, a shared
neighbour graph it may ignore) that has ``fit_transform(X) -> ndarray`` and a ``timings`` dict
(seconds per sub-step). An engine that finds neighbours itself exposes them as ``knn_`` so that
the map reuses them.

With ``n_seeds`` > 1 the clustered layout is made again with seeds ``random_state + 1, ...``
(``raregal.reduce.seeds``: with the 'raregal' engine only the layout is redone, from the first
fit's neighbours, graph and start); the map is made for the first seed only.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from raregal.config import DEFAULTS, require_enough_galaxies
from raregal.reduce.engines import REDUCERS
from raregal.reduce.seeds import layouts_for_seeds, seed_values
from raregal.registry import EngineRegistry

logger = logging.getLogger(__name__)


class Reducer(Protocol):
    """The engine contract."""

    timings: dict[str, float]

    def fit_transform(self, X: np.ndarray) -> np.ndarray: ...


@dataclass
class Reduction:
    """What ``reduce`` returns: the clustered embedding, the 2-D map and the facts to record."""

    embedding: np.ndarray
    map_embedding: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)
    """Every seed of the clustered layout, the run's own (``random_state``) first."""
    seed_embeddings: list[np.ndarray] = field(default_factory=list)
    """The clustered layouts of ``seeds[1:]``, in that order."""
    index: Any = None
    """The HNSW index over the (projected) input when the engine built one, for placing new
    galaxies later; None otherwise."""
    projection: PcaProjection | None = None
    """The PCA applied before UMAP (``pca_components``), else None."""
    neighbour_radius: np.ndarray | None = None
    """Each galaxy's distance to its ``n_neighbors``-th neighbour (itself first) from the
    neighbour search, when the engine found them for every galaxy; for placing new galaxies."""


@dataclass
class PcaProjection:
    """A fitted PCA as plain arrays: ``(X - mean) @ components.T`` (no whitening)."""

    mean: np.ndarray
    components: np.ndarray

    def transform(self, X: np.ndarray) -> np.ndarray:
        centred = np.asarray(X, dtype=np.float64) - self.mean
        return (centred @ self.components.T).astype(np.float32)


def pca(X: np.ndarray, n_components: int, random_state: int | None = 0) -> tuple[np.ndarray, float]:
    """Project onto the first ``n_components`` principal components.

    Returns the projection and the fraction of variance it keeps.
    """
    projected, kept, _ = fit_pca(X, n_components, random_state)
    return projected, kept


def fit_pca(
    X: np.ndarray, n_components: int, random_state: int | None = 0
) -> tuple[np.ndarray, float, PcaProjection | None]:
    """As ``pca``, and the projection as arrays (None when nothing was projected)."""
    from sklearn.decomposition import PCA

    if n_components >= X.shape[1]:
        return X, 1.0, None
    model = PCA(n_components=n_components, random_state=random_state)
    projected = model.fit_transform(X).astype(np.float32)
    projection = PcaProjection(model.mean_.copy(), model.components_.copy())
    return projected, float(model.explained_variance_ratio_.sum()), projection


def reduce(
    X: np.ndarray,
    reducer: str = DEFAULTS["reducer"],
    n_components: int = DEFAULTS["n_components"],
    map_components: int = DEFAULTS["map_components"],
    n_neighbors: int = DEFAULTS["n_neighbors"],
    min_dist: float = DEFAULTS["min_dist"],
    metric: str = DEFAULTS["metric"],
    n_epochs: int | None = DEFAULTS["n_epochs"],
    pca_components: int | None = DEFAULTS["pca_components"],
    random_state: int | None = DEFAULTS["random_state"],
    n_seeds: int = DEFAULTS["n_seeds"],
    fit_sample_size: int | None = DEFAULTS["fit_sample_size"],
    registry: EngineRegistry = REDUCERS,
) -> Reduction:
    """PCA (optional), then UMAP to ``n_components`` and ``map_components`` dimensions.

    Parameters
    ----------
    X : ndarray of shape (n_galaxies, n_features)
        The representations (finite values only).
    reducer : str
        Engine name in ``registry`` (``auto`` resolved there).
    n_components, map_components, n_neighbors, min_dist, metric, n_epochs, pca_components,
    random_state, n_seeds, fit_sample_size
        See ``raregal.config.PARAMETERS`` (defaults, meaning); ``fit_sample_size`` fits both UMAPs
        on that many galaxies drawn at random and places the others with the engine's
        ``transform`` (``raregal.reduce.sample_fit``); ``n_seeds`` > 1 adds clustered layouts
        with the seeds after ``random_state`` (``raregal.reduce.seeds``).
    registry : EngineRegistry, default=REDUCERS
        Where engines are looked up (tests pass their own).

    Returns
    -------
    Reduction
        ``embedding`` (n, n_components) float32, ``map_embedding`` (n, map_components) float32,
        ``seed_embeddings`` (the other seeds' clustered layouts), ``index`` and ``projection``
        (what placing new galaxies needs).
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = X.shape[0]
    require_enough_galaxies(n, n_neighbors=n_neighbors)
    timings: dict[str, float] = {}
    info: dict[str, Any] = {"reducer": reducer, "random_state": random_state, "n_input": n,
                            "n_features": X.shape[1]}  # fmt: skip
    projection = None
    if pca_components is not None:
        start = time.perf_counter()
        X, kept, projection = fit_pca(X, pca_components, random_state)
        timings["pca"] = round(time.perf_counter() - start, 3)
        info["pca_explained_variance"] = round(kept, 6)
        logger.info("PCA to %d dimensions keeps %.1f%% of the variance", X.shape[1], 100 * kept)
    umap_params = dict(n_neighbors=n_neighbors, min_dist=min_dist, metric=metric,
                       n_epochs=n_epochs, random_state=random_state)  # fmt: skip
    logger.info("UMAP of %d galaxies to %d dimensions (%s)", n, n_components, reducer)
    engine = registry.resolve(reducer)
    first = _engine(registry, engine, n, fit_sample_size, n_components=n_components, **umap_params)
    embedding = first.fit_transform(X)
    timings.update({f"embedding_{k}": v for k, v in first.timings.items()})
    seeds = seed_values(random_state, n_seeds)
    seed_embeddings: list[np.ndarray] = []
    if n_seeds > 1:
        extra = layouts_for_seeds(
            first, X, seeds[1:],
            lambda seed, knn: _engine(registry, engine, n, fit_sample_size,
                                      n_components=n_components, knn=knn,
                                      **{**umap_params, "random_state": seed}),
            n_epochs, min_dist,
        )  # fmt: skip
        seed_embeddings = extra.embeddings
        timings.update(extra.timings)
        info.update(seeds=seeds, seed_layouts_share=extra.shared)
    index = getattr(getattr(first, "graph_", None), "index", None)
    knn = getattr(first, "knn_", None)
    radius = np.asarray(knn[1])[:, -1].copy() if knn is not None and len(knn[1]) == n else None
    if getattr(first, "graph_", None) is not None:
        first.graph_ = None  # free the graph before the map's own
    logger.info("UMAP to %d dimensions for the map", map_components)
    second = _engine(registry, engine, n, fit_sample_size, n_components=map_components,
                     knn=getattr(first, "knn_", None), **umap_params)  # fmt: skip
    map_embedding = second.fit_transform(X)
    timings.update({f"map_{k}": v for k, v in second.timings.items()})
    info["map_reused_neighbors"] = getattr(first, "knn_", None) is not None
    info["reducer_used"] = engine
    if fit_sample_size is not None:
        info["fit_sample_size"] = min(fit_sample_size, n)
    return Reduction(embedding, map_embedding, timings, info, seeds, seed_embeddings, index,
                     projection, radius)  # fmt: skip


def _engine(
    registry: EngineRegistry, name: str, n: int, fit_sample_size: int | None, **params: Any
) -> Reducer:
    """The engine ``name``, wrapped to fit on a sample when ``fit_sample_size < n``."""
    base = registry.create(name, **params)
    if fit_sample_size is None or fit_sample_size >= n:
        return base
    from raregal.reduce.sample_fit import SampleFitReducer

    return SampleFitReducer(base, fit_sample_size, params.get("random_state"))
