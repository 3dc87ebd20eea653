"""More layouts of one input with other seeds (``n_seeds``), sharing all that the seed does not
change.

Seed k of a run with ``n_seeds`` K is ``random_state + k`` (k = 0..K-1); seed 0 is the run itself.
With the 'raregal' engine the neighbours, the fuzzy graph and the start of the first fit are
reused (``RaregalUmapReducer.graph_`` and ``start_``): only the layout differs
(``raregal_umap.layout_graph``), so K seeds cost one neighbour search, one graph, one start and
K layouts. Other engines are fitted again for each seed, given the first fit's neighbours
(``knn``), and ``shared`` says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

SEED_MODULUS = 2**32
"""Seeds wrap around at numpy's bound (``random_state`` is at most 2**32 - 1)."""


def seed_values(random_state: int | None, n_seeds: int) -> list[int]:
    """The seeds of a run: ``random_state + k`` for k = 0..n_seeds-1 (0 when None)."""
    base = 0 if random_state is None else int(random_state)
    return [(base + k) % SEED_MODULUS for k in range(n_seeds)]


@dataclass
class SeedLayouts:
    """The layouts of the other seeds.

    Attributes
    ----------
    seeds : list of int
        Their seeds (seed 0, the run's own, excluded).
    embeddings : list of ndarray of float32, shape (n, n_components)
        One layout per seed, in the order of ``seeds``.
    shared : str
        What the layouts share with the first fit: 'neighbours, graph and start' or
        'neighbours'.
    timings : dict
        Seconds per seed (``seed_<seed>_layout``).
    """

    seeds: list[int]
    embeddings: list[np.ndarray]
    shared: str
    timings: dict[str, float] = field(default_factory=dict)


SHARES_GRAPH = "neighbours, graph and start"
SHARES_NEIGHBOURS = "neighbours"


def layouts_for_seeds(
    first: Any,
    X: np.ndarray,
    seeds: list[int],
    make_engine: Callable[[int, Any], Any],
    n_epochs: int | None,
    min_dist: float,
) -> SeedLayouts:
    """Lay the input out again for each of ``seeds``, reusing what ``first`` computed.

    Parameters
    ----------
    first : reduction engine, fitted
        The run's own fit. When it has ``graph_`` and ``start_`` (the 'raregal' engine), each
        seed is only a new layout of that graph from that start.
    X : ndarray of shape (n, d)
        The input ``first`` was fitted on (used only by engines fitted again).
    seeds : list of int
        The other seeds.
    make_engine : callable
        ``make_engine(seed, knn)`` builds an engine for one seed (engines without a graph).
    n_epochs, min_dist
        As the first fit's.
    """
    from raregal.reduce.raregal_umap import layout_graph

    graph, start = getattr(first, "graph_", None), getattr(first, "start_", None)
    embeddings, timings = [], {}
    shared = SHARES_GRAPH if graph is not None and start is not None else SHARES_NEIGHBOURS
    for seed in seeds:
        began = time.perf_counter()
        if shared == SHARES_GRAPH:
            embedding = layout_graph(graph, start, n_epochs, min_dist, random_state=seed,
                                     n_threads=getattr(first, "n_threads", None))  # fmt: skip
        else:
            embedding = make_engine(seed, getattr(first, "knn_", None)).fit_transform(X)
        embeddings.append(np.asarray(embedding, dtype=np.float32))
        timings[f"seed_{seed}_layout"] = round(time.perf_counter() - began, 3)
        logger.info("layout with seed %d: %.1f s", seed, timings[f"seed_{seed}_layout"])
    return SeedLayouts(list(seeds), embeddings, shared, timings)
