"""HDBSCAN's minimum spanning tree: fast_hdbscan's parallel Boruvka, with cheaper core distances.

fast_hdbscan's ``parallel_boruvka`` starts by asking its KD-tree for the ``min_samples + 1``
nearest neighbours of every point and keeps them all (n x (min_samples + 1) distances and
indices: 1.5 GB at 632k points and ``min_samples=300``, 15 GB at 2M and 950), although it needs
only each point's core distance (the last one) and the first neighbours (its first edges).
``minimum_spanning_tree`` asks scipy's KD-tree (``cKDTree.query`` with a list of orders, on every
thread) for exactly those, in chunks: the same core distances in 60% of the time at 200k points,
with memory that no longer grows with ``min_samples``.

The Boruvka rounds use fast_hdbscan's tree, its component-aware query and its merge, but not its
reproducible query: that one runs a parallel loop per block of 16 points (40,000 loops a round
at 634,700 points), and every loop wakes the threads. With ``OMP_WAIT_POLICY=PASSIVE`` (the
CLI's default, for shared machines) the spanning tree of 634,700 5-D points then took 41.5 s
against 25.7 s with spinning threads. ``_boruvka_candidates`` asks the points in a few stages
of growing size, each one parallel loop (``_query_round``), and as reproducible: a point's
query is pruned only by its component's bound at the start of its stage (from the first
neighbours, then the best edges of earlier stages), never by what other threads find.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from fast_hdbscan.boruvka import component_aware_query_recursion
from fast_hdbscan.numba_kdtree import point_to_node_lower_bound_rdist

FIRST_NEIGHBOURS = 16
"""Neighbours per point kept for the first Boruvka edges (fast_hdbscan keeps min_samples)."""
CHUNK_ROWS = 65_536
FIRST_STAGE = 4096
"""Points queried in a Boruvka round's first stage (each later stage queries 4 times more)."""
LEAF_SIZE = 32
"""scipy KD-tree leaf size: the core distances of 50k of 200k 5-D points took 2.95 s with
scipy's default 16, 2.6 s with 32, 3.6 s with 8 (one thread)."""


def core_distances(
    data: np.ndarray, min_samples: int, n_threads: int, first: int = FIRST_NEIGHBOURS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Squared core distances and each point's first neighbours (itself first).

    Parameters
    ----------
    data : ndarray of float32, shape (n, d)
    min_samples : int
        The core distance is the distance to the ``min_samples + 1``-th nearest point, the
        point itself counted first (fast_hdbscan's and hdbscan's convention).
    n_threads : int
    first : int, default=FIRST_NEIGHBOURS
        Nearest points kept per point (at most ``min_samples + 1``).

    Returns
    -------
    core : ndarray of float32, shape (n,)
        Squared core distances (fast_hdbscan works with squared distances).
    neighbours : ndarray of int32, shape (n, m)
    distances : ndarray of float32, shape (n, m)
        Squared distances of ``neighbours``.
    """
    from scipy.spatial import cKDTree

    n = len(data)
    k = min(min_samples + 1, n)
    m = min(first, k)
    orders = list(range(1, m + 1)) + ([k] if k > m else [])
    tree = cKDTree(data, leafsize=LEAF_SIZE)
    core = np.empty(n, dtype=np.float32)
    neighbours = np.empty((n, m), dtype=np.int32)
    distances = np.empty((n, m), dtype=np.float32)
    for start in range(0, n, CHUNK_ROWS):
        # in the tree's own order, successive queries walk the same nodes (measured at 634,700
        # 5-D points, k=301: 100k of them in 3.0 s, against 4.2 s for the same rows shuffled)
        rows = tree.indices[start : start + CHUNK_ROWS]
        dist, index = tree.query(data[rows], k=orders, workers=n_threads)
        dist = np.square(dist, dtype=np.float64).astype(np.float32)
        core[rows] = dist[:, -1]
        neighbours[rows] = index[:, :m]
        distances[rows] = dist[:, :m]
    return core, neighbours, distances


@numba.njit(parallel=True, cache=True)
def _query_round(
    tree: Any, node_components: np.ndarray, point_components: np.ndarray, core: np.ndarray,
    bounds: np.ndarray, points: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Each point's nearest point of another component (mutual reachability), one parallel
    loop: the query of ``points[t]`` is pruned by its component's bound ``bounds[c]`` and by
    what it finds itself, never by other points' results (reproducible)."""
    n = points.shape[0]
    found = np.full(n, np.inf, dtype=np.float32)
    partner = np.full(n, -1, dtype=np.int32)
    local = np.empty(n, dtype=np.float32)
    for t in numba.prange(n):
        i = points[t]
        component = point_components[i]
        local[t] = bounds[component]
        lower = point_to_node_lower_bound_rdist(
            tree.node_bounds[0, 0], tree.node_bounds[1, 0], tree.data[i]
        )
        component_aware_query_recursion(
            tree, np.int32(0), tree.data[i], found[t : t + 1], partner[t : t + 1], core[i],
            core, component, node_components, point_components, lower, local[t : t + 1],
        )  # fmt: skip
    return found, partner


def _boruvka_candidates(
    tree: Any, node_components: np.ndarray, point_components: np.ndarray, core: np.ndarray,
    neighbours: np.ndarray, distances: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Every point's candidate edge for this round; each component's best is among them.

    Each component starts with a bound: its best edge among the points' first neighbours that
    lie in other components. The points are then queried in stages of growing size
    (``FIRST_STAGE``, then 4 times more each), and after each stage every component's bound
    becomes its best edge so far. A point whose core distance exceeds its component's bound, or
    a node farther than it, cannot do better (bounds are nudged up one float, so that equal
    weights are still found). The bounds at a stage's start depend on the data alone, so the
    result does too.
    """
    n = len(point_components)
    other = point_components[neighbours] != point_components[:, None]
    weight = np.maximum(np.maximum(core[:, None], core[neighbours]), distances)
    weight = np.where(other, weight, np.float32(np.inf)).min(axis=1)
    bounds = np.full(n, np.inf, dtype=np.float32)
    np.minimum.at(bounds, point_components, weight)
    found = np.full(n, np.inf, dtype=np.float32)
    partner = np.full(n, -1, dtype=np.int32)
    start, size = 0, FIRST_STAGE
    while start < n:
        rows = np.arange(start, min(n, start + size))
        nudged = np.nextafter(bounds, np.float32(np.inf))
        found[rows], partner[rows] = _query_round(
            tree, node_components, point_components, core, nudged, rows
        )
        np.minimum.at(bounds, point_components[rows], found[rows])
        start, size = start + size, size * 4
    return found, partner


def minimum_spanning_tree(
    data: np.ndarray, min_samples: int, n_threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """The mutual-reachability minimum spanning tree, as fast_hdbscan's ``parallel_boruvka``,
    and the core distances.

    Parameters
    ----------
    data : ndarray of shape (n, d)
    min_samples : int
    n_threads : int
        numba's thread count (fast_hdbscan sizes its reproducible blocks by it).

    Returns
    -------
    mst : ndarray of float64, shape (n - 1, 3)
        Edges (from, to, mutual reachability distance), fast_hdbscan's layout.
    core : ndarray of float32, shape (n,)
        Each point's core distance (to its ``min_samples + 1``-th nearest point, itself
        first; 0 when ``min_samples`` is 1), as fast_hdbscan returns them.
    """
    from fast_hdbscan.boruvka import (
        initialize_boruvka_from_knn,
        merge_components,
        update_component_vectors,
    )
    from fast_hdbscan.disjoint_set import ds_rank_create
    from fast_hdbscan.numba_kdtree import build_kdtree

    tree = build_kdtree(np.asarray(data))
    n = tree.data.shape[0]
    disjoint_set = ds_rank_create(n)
    point_components = np.arange(n)
    node_components = np.full(tree.idx_start.shape[0], -1)
    if min_samples > 1:
        core, neighbours, distances = core_distances(tree.data, min_samples, n_threads)
    else:
        core = np.zeros(n, dtype=np.float32)
        _, neighbours, distances = core_distances(tree.data, 1, n_threads, first=2)
    edges = [initialize_boruvka_from_knn(neighbours, distances, core, disjoint_set)]
    update_component_vectors(tree, disjoint_set, node_components, point_components)
    n_components = len(np.unique(point_components))
    while n_components > 1:
        candidate_distances, candidate_indices = _boruvka_candidates(
            tree, node_components, point_components, core, neighbours, distances
        )
        new_edges = merge_components(
            disjoint_set, candidate_indices, candidate_distances, point_components
        )
        n_components -= len(new_edges)
        update_component_vectors(tree, disjoint_set, node_components, point_components)
        edges.append(new_edges)
    mst = np.vstack(edges)
    mst[:, 2] = np.sqrt(mst[:, 2])
    return mst, np.sqrt(core)
