"""The UMAP parameters every reduction engine takes, stored the same way by each."""

from __future__ import annotations

from typing import Any

from raregal.config import DEFAULTS


class UmapParams:
    """Base of the reduction engines: stores umap-learn's parameters and the timing record.

    Parameters
    ----------
    n_components, n_neighbors, min_dist, metric, n_epochs, random_state
        umap-learn's parameters; defaults from ``raregal.config.PARAMETERS``.
    knn : tuple or None, default=None
        A neighbour graph found earlier (indices, distances, ...), which the engine may reuse.
    """

    def __init__(
        self,
        n_components: int = DEFAULTS["n_components"],
        n_neighbors: int = DEFAULTS["n_neighbors"],
        min_dist: float = DEFAULTS["min_dist"],
        metric: str = DEFAULTS["metric"],
        n_epochs: int | None = DEFAULTS["n_epochs"],
        random_state: int | None = DEFAULTS["random_state"],
        knn: tuple[Any, ...] | None = None,
    ) -> None:
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.n_epochs = n_epochs
        self.random_state = random_state
        self.knn = knn
        self.timings: dict[str, float] = {}
        self.knn_: tuple[Any, ...] | None = None
