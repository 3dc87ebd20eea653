"""New points into a fitted condensed tree: which selected cluster each would join, and how
strongly (hdbscan's ``approximate_predict``, read out as raregal reads the fit).

For a new point p among the fitted points (its position in the clustered embedding):

1. its ``2 * min_samples`` nearest fitted points, and its core distance: the distance to the
   ``(min_samples + 1)``-th of them, as in hdbscan's ``approximate_predict``. A fitted point's
   core distance is that to its ``min_samples``-th nearest *other* point (fast_hdbscan), so a
   fitted galaxy predicted again, which finds its own copy first, gets back exactly its own
   core distance; a new galaxy is judged one neighbour more strictly than the fit;
2. the mutual-reachability distance to each, ``max(core(p), core(q), d(p, q))``; the nearest
   in that distance, q, is where p would join the tree, at ``lambda = 1 / distance``;
3. p starts at the node q left the tree from; when p is less dense than q was there (``lambda``
   below q's), it climbs towards the root while a node was born at ``lambda`` or above;
4. the node's owner is its label: the selected cluster it is, or lies under (leaf selection:
   a node above the leaves owns nothing, so p is noise); the probability is
   ``min(lambda, lambda_max) / lambda_max`` with the cluster's highest lambda, as for the
   fitted points (``raregal.cluster.tree.read_out``).

``assign_points`` does all four for points anywhere in the embedding. ``assign_anchored`` is the
case ``raregal.predict`` uses, where each new galaxy is placed on a fitted galaxy q (its nearest
in representation space): there q is the nearest in mutual reachability and p's core distance
is q's, so steps 1 and 2 need no search, and p joins the tree where q is, at q's density: the
leaf q is in, with a probability at least q's. ``density`` (in [0, 1]) scales that lambda down
for a point known to be sparser than its anchor (``raregal.predict`` gives 0, noise, to a galaxy
that no fitted galaxy would count among its neighbours).

Every step uses only p's own neighbours, so a point's answer does not depend on the other new
points. ``TreeIndex`` holds what this needs; it is built from a run folder's tables: the
embedding (``umap_*``) and ``core_distance`` of galaxies.parquet, the condensed tree, and the
``node`` of each cluster in clusters.parquet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from raregal.cluster.tree import CondensedTree, cluster_nodes, max_lambdas
from raregal.constants import NOISE
from raregal.settings import num_threads

QUERY_CELLS = 4_000_000
"""Neighbour distances held at once while assigning (rows per chunk x neighbours)."""


@dataclass
class TreeIndex:
    """A fitted clustering, ready to take new points.

    Attributes
    ----------
    embedding : ndarray of float64, shape (n, d)
        The fitted embedding (``search``, a KD-tree over it, is built when first needed).
    core_distances : ndarray of float64, shape (n,)
    min_samples : int
    point_parent, point_lambda : ndarray, shape (n,)
        The node each fitted point left the tree from, and at which lambda.
    node_parent, node_birth : ndarray, indexed by node
        Each cluster node's parent (-1 for the root) and the lambda it was born at.
    owner : ndarray of int64, indexed by node
        The cluster (number) a node belongs to, or NOISE.
    owner_lambda_max : ndarray of float64, indexed by cluster number
        Highest lambda reached in each cluster.
    root : int
    """

    embedding: np.ndarray
    core_distances: np.ndarray
    min_samples: int
    point_parent: np.ndarray
    point_lambda: np.ndarray
    node_parent: np.ndarray
    node_birth: np.ndarray
    owner: np.ndarray
    owner_lambda_max: np.ndarray
    root: int
    _search: Any = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return len(self.core_distances)

    @property
    def search(self) -> Any:
        """A KD-tree (sklearn ``NearestNeighbors``) over the fitted embedding, built once."""
        if self._search is None:
            from sklearn.neighbors import NearestNeighbors

            model = NearestNeighbors(algorithm="kd_tree", n_jobs=num_threads())
            self._search = model.fit(self.embedding)
        return self._search


def tree_index(
    embedding: np.ndarray,
    core_distances: np.ndarray,
    tree: CondensedTree,
    cluster_of_node: dict[int, int],
    min_samples: int,
) -> TreeIndex:
    """Build a ``TreeIndex`` from a fit.

    Parameters
    ----------
    embedding : ndarray of shape (n, d)
        The clustered embedding, rows as the tree's points.
    core_distances : ndarray of shape (n,)
        Of the fitted points (galaxies.parquet ``core_distance``).
    tree : CondensedTree
    cluster_of_node : dict
        Selected node -> cluster number (clusters.parquet ``node`` and ``cluster``).
    min_samples : int
        As used by the fit.
    """
    embedding = np.ascontiguousarray(embedding, dtype=np.float64)
    n = len(embedding)
    points = tree.child < n
    point_parent = np.full(n, n, dtype=np.int64)
    point_lambda = np.zeros(n)
    point_parent[tree.child[points]] = tree.parent[points]
    point_lambda[tree.child[points]] = tree.lambda_val[points]
    top = int(max(tree.parent.max(initial=n), tree.child.max(initial=n))) + 1
    node_parent = np.full(top, -1, dtype=np.int64)
    node_birth = np.zeros(top)
    clusters = ~points
    node_parent[tree.child[clusters]] = tree.parent[clusters]
    node_birth[tree.child[clusters]] = tree.lambda_val[clusters]
    owner = np.full(top, NOISE, dtype=np.int64)
    nodes, parent_of = cluster_nodes(tree, n) if len(tree.parent) else (np.array([n]), {})
    for node in nodes.tolist():  # parents have smaller node ids than their children
        own = cluster_of_node.get(int(node))
        if own is None and node != n:
            own = int(owner[parent_of[node]])  # the selected cluster it lies under, if any
        owner[node] = NOISE if own is None else own
    k = max(cluster_of_node.values(), default=-1) + 1
    deaths = max_lambdas(tree) if len(tree.parent) else np.zeros(top)
    owner_lambda_max = np.zeros(k)
    for node, number in cluster_of_node.items():
        owner_lambda_max[number] = deaths[node]
    return TreeIndex(embedding, np.asarray(core_distances, dtype=np.float64), int(min_samples),
                     point_parent, point_lambda, node_parent, node_birth, owner,
                     owner_lambda_max, n)  # fmt: skip


def assign_points(index: TreeIndex, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cluster number (or NOISE) and membership probability of each new point.

    Parameters
    ----------
    index : TreeIndex
    points : ndarray of shape (m, d)
        New points in the clustered embedding.

    Returns
    -------
    labels : ndarray of int64, shape (m,)
    probabilities : ndarray of float64, shape (m,)
        In [0, 1]; 0 for noise.
    """
    points = np.ascontiguousarray(points, dtype=np.float64)
    m = len(points)
    labels = np.full(m, NOISE, dtype=np.int64)
    probabilities = np.zeros(m)
    if m == 0 or index.n == 0:
        return labels, probabilities
    k = min(2 * index.min_samples, index.n)
    rank = min(index.min_samples, k - 1)
    chunk = max(1, QUERY_CELLS // k)
    for start in range(0, m, chunk):
        block = slice(start, start + chunk)
        dists, neighbours = index.search.kneighbors(points[block], n_neighbors=k)
        core = dists[:, rank]
        reach = np.maximum(np.maximum(index.core_distances[neighbours], core[:, None]), dists)
        best = np.argmin(reach, axis=1)
        rows = np.arange(len(best))
        nearest = neighbours[rows, best]
        distance = reach[rows, best]
        with np.errstate(divide="ignore"):
            lam = np.where(distance > 0, 1.0 / distance, np.finfo(np.float64).max)
        labels[block], probabilities[block] = _climb(index, nearest, lam)
    return labels, probabilities


def assign_anchored(
    index: TreeIndex, anchors: np.ndarray, density: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster and probability of new points placed on fitted points (see the module).

    Parameters
    ----------
    index : TreeIndex
    anchors : ndarray of int, shape (m,)
        The fitted point (row) each new point is placed on.
    density : ndarray of float, shape (m,), default=None
        In (0, 1]: how much sparser each new point is than its anchor (its lambda is the
        anchor's core lambda times this); None means as dense as the anchor.

    Returns
    -------
    labels : ndarray of int64, shape (m,)
    probabilities : ndarray of float64, shape (m,)
    """
    anchors = np.asarray(anchors, dtype=np.int64)
    if len(anchors) == 0:
        return np.full(0, NOISE, dtype=np.int64), np.zeros(0)
    core = index.core_distances[anchors]
    with np.errstate(divide="ignore"):
        lam = np.where(core > 0, 1.0 / core, np.finfo(np.float64).max)
    # the anchor was in its node up to its own lambda: never less (float32 core distances can
    # round 1/core a hair below it)
    lam = np.maximum(lam, index.point_lambda[anchors])
    if density is not None:
        lam = lam * np.clip(np.asarray(density, dtype=np.float64), 0.0, 1.0)
    return _climb(index, anchors, lam)


def _climb(
    index: TreeIndex, nearest: np.ndarray, lam: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 3 and 4 of the module docstring, for a block of points."""
    node = index.point_parent[nearest].copy()
    moving = index.point_lambda[nearest] > lam
    while moving.any():
        at = np.flatnonzero(moving)
        can = (node[at] != index.root) & (index.node_birth[node[at]] >= lam[at])
        node[at[can]] = index.node_parent[node[at[can]]]
        moving[at[~can]] = False
    labels = index.owner[node]
    probabilities = np.zeros(len(node))
    member = labels >= 0
    lam_max = index.owner_lambda_max[labels[member]]
    with np.errstate(invalid="ignore", divide="ignore"):
        prob = np.minimum(lam[member], lam_max) / lam_max
    prob[(lam_max == 0.0) | ~np.isfinite(prob)] = 1.0
    probabilities[member] = prob
    return labels, probabilities
