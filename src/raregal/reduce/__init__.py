"""The reduce stage: PCA (optional), then UMAP to the clustered dimensions and to the map.

``reduce`` is the stage (``stage``); the engines are listed by name in ``engines.REDUCERS``:
``raregal`` (``raregal_umap``: HNSW ``neighbours``, a PCA start, the parallel ``layout`` kernel
and ``placement`` of new points), ``umap-learn`` (``umap_learn``, the reference) and ``cuml``
(``cuml``, GPU). ``sample_fit`` wraps any engine that can place new points.
"""

from raregal.reduce.engines import REDUCERS
from raregal.reduce.stage import Reducer, Reduction, pca, reduce

__all__ = ["REDUCERS", "Reducer", "Reduction", "pca", "reduce"]
