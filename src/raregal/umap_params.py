"""The UMAP parameters every reduction engine takes, stored the same way by each."""

from __future__ import annotations

from typing import Any


class UmapParams:
    """Base of the reduction engines: stores umap-learn's parameters and the timing record.

    Parameters
    ----------
    n_components : int, default=5
    n_neighbors : int, default=50
    min_dist : float, default=0.1
    metric : str, default='euclidean'
    n_epochs : int or None, default=None
    random_state : int or None, default=0
    knn : tuple or None, default=None
        A neighbour graph found earlier (indices, distances, ...), which the engine may reuse.
    """

    def __init__(
        self,
        n_components: int = 5,
        n_neighbors: int = 50,
        min_dist: float = 0.1,
        metric: str = "euclidean",
        n_epochs: int | None = None,
        random_state: int | None = 0,
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
