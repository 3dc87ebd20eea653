"""GPU engines through RAPIDS cuML: UMAP and HDBSCAN behind raregal's engine interfaces.

They are registered as 'cuml' in ``raregal.reduce.REDUCERS`` and ``raregal.cluster.ENGINES`` only
when the ``cuml`` package is installed (found without importing it, so ``import raregal`` stays
light); the CPU path never needs them. The engine name 'auto' is always registered: it builds the
cuML engine when cuML is installed and the CPU default ('raregal', 'fast_hdbscan') otherwise;
the engine actually used is recorded in run.json (``reducer_used``, ``engine_used``).

Written against cuML's documented API (``cuml.manifold.UMAP`` and
``cuml.cluster.hdbscan.HDBSCAN``, RAPIDS 24.x-25.x); the cuML HDBSCAN condensed tree is read in
hdbscan's layout, so labels, probabilities, GLOSH scores and the cluster table come from the same
read-out as the CPU engines.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from raregal.errors import MissingDependencyError
from raregal.umap_params import UmapParams

logger = logging.getLogger(__name__)

CUML = "cuml"
AUTO = "auto"
CPU_REDUCER = "raregal"
CPU_CLUSTERER = "fast_hdbscan"


def cuml_available() -> bool:
    """Whether cuML is installed (found on the path; not imported)."""
    try:
        return importlib.util.find_spec(CUML) is not None
    except (ImportError, ValueError):
        return False


def _import_cuml(what: str) -> Any:
    try:
        import cuml
    except ImportError as exc:
        raise MissingDependencyError(f"cuml ({what} on the GPU)", "gpu") from exc
    return cuml


class CumlUmapReducer(UmapParams):
    """UMAP on the GPU (``cuml.manifold.UMAP``), with the ``Reducer`` contract.

    Parameters are those of ``raregal.reduce.UmapLearnReducer``. ``knn`` is used when it holds
    plain ``(indices, distances)`` arrays (cuML's ``precomputed_knn``); otherwise cuML finds the
    neighbours itself (``build_algo='auto'``: brute force for small inputs, NN-descent for large).
    A fixed ``random_state`` makes cuML's layout deterministic (and somewhat slower).
    """

    name = CUML
    keep_model = False

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        cuml = _import_cuml("UMAP")
        knn = self.knn
        precomputed = None
        if (
            isinstance(knn, tuple)
            and len(knn) >= 2
            and all(isinstance(a, np.ndarray) for a in knn[:2])
        ):
            precomputed = (knn[0], knn[1])
        start = time.perf_counter()
        model = cuml.manifold.UMAP(
            n_components=self.n_components,
            n_neighbors=self.n_neighbors,
            min_dist=self.min_dist,
            metric=self.metric,
            n_epochs=self.n_epochs,
            random_state=self.random_state,
            precomputed_knn=precomputed,
            build_algo="auto",
            output_type="numpy",
        )
        embedding = model.fit_transform(np.ascontiguousarray(X, dtype=np.float32))
        self.timings["umap"] = round(time.perf_counter() - start, 3)
        self.knn_ = precomputed
        self.model_ = model if self.keep_model else None
        return np.asarray(embedding, dtype=np.float32)


class CumlHdbscanEngine:
    """HDBSCAN on the GPU (``cuml.cluster.hdbscan.HDBSCAN``), returning the condensed tree in
    hdbscan's layout so that ``raregal.cluster`` reads it out like the CPU engines' trees."""

    name = CUML

    def __init__(self, min_samples: int, min_cluster_size: int, cluster_selection_method: str):
        self.min_samples = min_samples
        self.min_cluster_size = min_cluster_size
        self.cluster_selection_method = cluster_selection_method
        self.timings: dict[str, float] = {}

    def fit(self, X: np.ndarray):
        from raregal.cluster import CondensedTree, EngineResult

        _import_cuml("HDBSCAN")
        from cuml.cluster.hdbscan import HDBSCAN

        start = time.perf_counter()
        model = HDBSCAN(
            min_samples=int(self.min_samples),
            min_cluster_size=int(self.min_cluster_size),
            cluster_selection_method=self.cluster_selection_method,
            output_type="numpy",
        ).fit(np.ascontiguousarray(X, dtype=np.float32))
        self.timings["hdbscan"] = round(time.perf_counter() - start, 3)
        raw = condensed_tree_records(model)
        tree = CondensedTree.from_arrays(*(raw[c] for c in ("parent", "child", "lambda_val",
                                                              "child_size")))  # fmt: skip
        return EngineResult(tree, np.asarray(model.labels_))


def condensed_tree_records(model: Any) -> Any:
    """The condensed tree of a fitted cuML HDBSCAN as a record array (parent, child, lambda_val,
    child_size): ``condensed_tree_.to_numpy()`` (hdbscan's CondensedTree) where available."""
    tree = model.condensed_tree_
    for getter in (lambda t: t.to_numpy(), lambda t: t._raw_tree, lambda t: t):
        try:
            raw = getter(tree)
        except AttributeError:
            continue
        if getattr(raw, "dtype", None) is not None and raw.dtype.names:
            return raw
    raise TypeError(f"cannot read cuML's condensed tree ({type(tree).__name__})")


def auto_reducer(**params: Any) -> Any:
    """The 'auto' reduction engine: cuML when installed, else raregal."""
    if cuml_available():
        return CumlUmapReducer(**params)
    from raregal.reduce import REDUCERS

    return REDUCERS[CPU_REDUCER](**params)


def auto_clusterer(min_samples: int, min_cluster_size: int, cluster_selection_method: str) -> Any:
    """The 'auto' HDBSCAN engine: cuML when installed, else fast_hdbscan."""
    if cuml_available():
        return CumlHdbscanEngine(min_samples, min_cluster_size, cluster_selection_method)
    from raregal.cluster import ENGINES

    return ENGINES[CPU_CLUSTERER](min_samples, min_cluster_size, cluster_selection_method)


def add_gpu_reducers(registry: dict[str, Callable[..., Any]]) -> None:
    """Register 'auto' and, when cuML is installed, 'cuml' in a reducer registry."""
    registry[AUTO] = auto_reducer
    if cuml_available():
        registry[CUML] = CumlUmapReducer


def add_gpu_clusterers(registry: dict[str, Callable[..., Any]]) -> None:
    """Register 'auto' and, when cuML is installed, 'cuml' in an HDBSCAN engine registry."""
    registry[AUTO] = auto_clusterer
    if cuml_available():
        registry[CUML] = CumlHdbscanEngine
