"""UMAP on the GPU through RAPIDS cuML (``cuml.manifold.UMAP``), registered as 'cuml'.

Written against cuML's documented API (RAPIDS 24.x-25.x). Registered in
``raregal.reduce.engines.REDUCERS`` with ``requires='cuml'``, so it is offered only where cuML is
installed and ``import raregal`` never imports it.
"""

from __future__ import annotations

import time

import numpy as np

from raregal.errors import MissingDependencyError
from raregal.reduce.params import UmapParams


class CumlUmapReducer(UmapParams):
    """UMAP on the GPU (``cuml.manifold.UMAP``), with the reduce engine contract.

    ``knn`` is used when it holds plain ``(indices, distances)`` arrays (cuML's
    ``precomputed_knn``); otherwise cuML finds the neighbours itself (``build_algo='auto'``:
    brute force for small inputs, NN-descent for large). A fixed ``random_state`` makes cuML's
    layout deterministic (and somewhat slower).
    """

    name = "cuml"
    keep_model = False

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        try:
            import cuml
        except ImportError as exc:
            raise MissingDependencyError("cuml (UMAP on the GPU)", "gpu") from exc
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
