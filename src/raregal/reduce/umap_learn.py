"""umap-learn, the reference UMAP engine ('umap-learn')."""

from __future__ import annotations

import time
import warnings

import numpy as np

from raregal.errors import MissingDependencyError
from raregal.reduce.neighbours import SMALL_DATA, exact_neighbors
from raregal.reduce.params import UmapParams


class UmapLearnReducer(UmapParams):
    """UMAP through umap-learn (the reference engine).

    Neighbours are found once (``knn_``: indices, distances and, from pynndescent, its search
    index; exact below SMALL_DATA rows) and can be handed to a second reducer through ``knn``.
    A fixed ``random_state`` makes umap-learn optimise on one thread (reproducible); None lets
    it use every core.
    """

    name = "umap-learn"
    keep_model = False
    """Keep the fitted ``umap.UMAP`` as ``model_`` (``raregal.reduce.sample_fit`` sets it)."""

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
