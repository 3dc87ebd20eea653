"""HDBSCAN on the GPU through RAPIDS cuML (``cuml.cluster.hdbscan.HDBSCAN``), registered as 'cuml'.

The condensed tree is read in hdbscan's layout, so labels, probabilities, GLOSH scores and the
cluster table come from the same read-out as the CPU engines' trees. Registered in
``raregal.cluster.engines.CLUSTERERS`` with ``requires='cuml'``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from raregal.cluster.params import HdbscanParams
from raregal.cluster.tree import TREE_FIELDS, CondensedTree, EngineResult
from raregal.errors import MissingDependencyError


class CumlHdbscanEngine(HdbscanParams):
    """HDBSCAN on the GPU, returning the condensed tree in hdbscan's layout."""

    name = "cuml"

    def fit(self, X: np.ndarray) -> EngineResult:
        try:
            from cuml.cluster.hdbscan import HDBSCAN
        except ImportError as exc:
            raise MissingDependencyError("cuml (HDBSCAN on the GPU)", "gpu") from exc
        start = time.perf_counter()
        model = HDBSCAN(
            min_samples=int(self.min_samples),
            min_cluster_size=int(self.min_cluster_size),
            cluster_selection_method=self.cluster_selection_method,
            output_type="numpy",
        ).fit(np.ascontiguousarray(X, dtype=np.float32))
        self.timings["hdbscan"] = round(time.perf_counter() - start, 3)
        raw = condensed_tree_records(model)
        tree = CondensedTree.from_arrays(*(raw[c] for c in TREE_FIELDS))
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
