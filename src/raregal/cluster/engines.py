"""The HDBSCAN engines by name (``CLUSTERERS``), below the cluster stage that uses them.

``fast_hdbscan`` is the default, ``hdbscan`` the reference, ``cuml`` the GPU engine (only when
RAPIDS cuML is installed); ``auto`` is the GPU engine when installed, else ``fast_hdbscan``. An
engine is built with ``(min_samples, min_cluster_size, cluster_selection_method)`` and its
``fit(X)`` returns an ``EngineResult`` (``raregal.cluster.tree``): engines only build the
condensed tree, which the stage reads out the same way for every engine.
"""

from __future__ import annotations

from raregal.registry import EngineRegistry

CLUSTERERS = EngineRegistry("engine", auto=("cuml", "fast_hdbscan"))
CLUSTERERS.register("fast_hdbscan", "raregal.cluster.hdbscan_engines:FastHdbscanEngine")
CLUSTERERS.register("hdbscan", "raregal.cluster.hdbscan_engines:HdbscanEngine")
CLUSTERERS.register("cuml", "raregal.cluster.cuml:CumlHdbscanEngine", requires="cuml", extra="gpu")
