"""The UMAP engines by name (``REDUCERS``), below the reduce stage that uses them.

``raregal`` is the default (umap-learn's objective, parallel; ``raregal_umap``), ``umap-learn``
the reference, ``cuml`` the GPU engine (only when RAPIDS cuML is installed); ``auto`` is the GPU
engine when installed, else ``raregal``. An engine class is built with the UMAP parameters
(``raregal.reduce.params.UmapParams``) and has ``fit_transform(X)``, ``timings`` and ``knn_``.
"""

from __future__ import annotations

from raregal.registry import EngineRegistry

REDUCERS = EngineRegistry("reducer", auto=("cuml", "raregal"))
REDUCERS.register("raregal", "raregal.reduce.raregal_umap:RaregalUmapReducer")
REDUCERS.register("umap-learn", "raregal.reduce.umap_learn:UmapLearnReducer")
REDUCERS.register("cuml", "raregal.reduce.cuml:CumlUmapReducer", requires="cuml", extra="gpu")
