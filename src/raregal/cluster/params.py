"""The HDBSCAN parameters every clustering engine takes, stored the same way by each."""

from __future__ import annotations


class HdbscanParams:
    """Base of the clustering engines: hdbscan's parameters and the timing record.

    Parameters
    ----------
    min_samples, min_cluster_size, cluster_selection_method
        hdbscan's parameters (see ``raregal.config.PARAMETERS``).
    """

    def __init__(self, min_samples: int, min_cluster_size: int, cluster_selection_method: str):
        self.min_samples = min_samples
        self.min_cluster_size = min_cluster_size
        self.cluster_selection_method = cluster_selection_method
        self.timings: dict[str, float] = {}
