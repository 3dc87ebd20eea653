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

    The spanning tree is fast_hdbscan's reproducible parallel Boruvka, with the core distances
    found in chunks (``raregal.cluster.boruvka``), so that memory does not grow with
    ``min_samples``; without ``reproducible`` blocks, ties in the parallel Boruvka would make
    the leaves differ between runs on the same input.
    """

    name = "fast_hdbscan"

    def fit(self, X: np.ndarray) -> EngineResult:
        try:
            import numba
            from fast_hdbscan.hdbscan import clusters_from_spanning_tree
        except ImportError as exc:  # pragma: no cover - core dependency
            raise MissingDependencyError("fast_hdbscan", "all") from exc
        from raregal.cluster.boruvka import minimum_spanning_tree

        start = time.perf_counter()
        threads = min(num_threads(), numba.config.NUMBA_NUM_THREADS)
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            mst, core_distances = minimum_spanning_tree(X, int(self.min_samples), threads)
        finally:
            numba.set_num_threads(previous)
        self.timings["spanning_tree"] = round(time.perf_counter() - start, 3)
        labels, _, _, tree, _ = clusters_from_spanning_tree(
            mst, min_cluster_size=int(self.min_cluster_size),
            cluster_selection_method=self.cluster_selection_method,
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
