"""The CPU HDBSCAN engines: fast_hdbscan (the default) and hdbscan (the reference).

Each is built with ``(min_samples, min_cluster_size, cluster_selection_method)``; its ``fit(X)``
returns the condensed tree (``raregal.cluster.tree.EngineResult``), read out by the stage.
"""

from __future__ import annotations

import time

import numpy as np

from raregal.cluster.params import HdbscanParams
from raregal.cluster.tree import TREE_FIELDS, CondensedTree, EngineResult
from raregal.errors import MissingDependencyError
from raregal.settings import num_threads


class FastHdbscanEngine(HdbscanParams):
    """fast_hdbscan (the default): parallel Boruvka on a KD-tree, numba kernels.

    Run with ``reproducible=True``: without it, ties in the parallel Boruvka make the leaves
    differ between runs on the same input.
    """

    name = "fast_hdbscan"

    def fit(self, X: np.ndarray) -> EngineResult:
        try:
            from fast_hdbscan.hdbscan import fast_hdbscan
        except ImportError as exc:  # pragma: no cover - core dependency
            raise MissingDependencyError("fast_hdbscan", "all") from exc
        start = time.perf_counter()
        labels, _, _, tree, *_, core_distances = fast_hdbscan(
            X, min_samples=int(self.min_samples), min_cluster_size=int(self.min_cluster_size),
            cluster_selection_method=self.cluster_selection_method, return_trees=True,
            reproducible=True,
        )  # fmt: skip
        self.timings["hdbscan"] = round(time.perf_counter() - start, 3)
        if isinstance(tree, np.ndarray) and tree.dtype.names:
            arrays = [tree[c] for c in TREE_FIELDS]
        else:
            arrays = [tree.parent, tree.child, tree.lambda_val, tree.child_size]
        # fast_hdbscan's core distance: to the (min_samples + 1)-th nearest row, itself included
        return EngineResult(CondensedTree.from_arrays(*arrays), np.asarray(labels),
                            np.asarray(core_distances, dtype=np.float64))  # fmt: skip


class HdbscanEngine(HdbscanParams):
    """hdbscan (the reference implementation)."""

    name = "hdbscan"

    outlier_scores_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> EngineResult:
        try:
            import hdbscan
        except ImportError as exc:  # pragma: no cover - core dependency
            raise MissingDependencyError("hdbscan", "all") from exc
        start = time.perf_counter()
        model = hdbscan.HDBSCAN(
            min_samples=int(self.min_samples), min_cluster_size=int(self.min_cluster_size),
            cluster_selection_method=self.cluster_selection_method,
            core_dist_n_jobs=num_threads(),
        ).fit(X)  # fmt: skip
        self.timings["hdbscan"] = round(time.perf_counter() - start, 3)
        raw = model.condensed_tree_._raw_tree
        self.outlier_scores_ = np.asarray(model.outlier_scores_)
        tree = CondensedTree.from_arrays(*(raw[c] for c in TREE_FIELDS))
        return EngineResult(tree, np.asarray(model.labels_))
