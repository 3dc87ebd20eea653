"""HDBSCAN's condensed tree as the explorer walks it: a node's parent, its leaves and its members.

The tree follows hdbscan's convention (``parent``, ``child``, ``lambda_val``, ``child_size``): a
child below ``n_points`` is a galaxy, given as its row in ``galaxies.parquet``; larger ids are
cluster nodes, the root being the smallest parent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from raregal.errors import InputError
from raregal.io.runfolder import TREE_COLUMNS
from raregal.io.tables import require_columns


class CondensedTree:
    """Parent links and point membership of a condensed tree.

    Parameters
    ----------
    tree : DataFrame
        Columns ``parent``, ``child``, ``lambda_val``, ``child_size``.
    n_points : int
        Number of galaxies (rows of ``galaxies.parquet``); children below it are galaxies.
    source : str, optional
        File name used in error messages.

    Attributes
    ----------
    point_node : ndarray of int64, shape (n_points,)
        The node from which each galaxy falls out (-1 where the tree does not list it).
    point_lambda : ndarray of float64, shape (n_points,)
        The lambda at which each galaxy falls out (0 where not listed).
    root : int
        The root node.
    """

    def __init__(self, tree: pd.DataFrame, n_points: int, source: str | None = None) -> None:
        require_columns(tree, list(TREE_COLUMNS), source)
        parent = tree["parent"].to_numpy(np.int64)
        child = tree["child"].to_numpy(np.int64)
        lam = tree["lambda_val"].to_numpy(np.float64)
        is_point = child < n_points
        if len(parent) and parent.min() != n_points:
            raise InputError(
                f"the root node is {int(parent.min())} but the galaxies table has {n_points} rows "
                "(hdbscan numbers the root after the points); the tree does not belong to this "
                "galaxies table",
                path=source,
                column="parent",
                count=int(parent.min()),
            )
        self.n_points = n_points
        self.root = int(parent.min()) if len(parent) else n_points
        self.point_node = np.full(n_points, -1, dtype=np.int64)
        self.point_node[child[is_point]] = parent[is_point]
        self.point_lambda = np.zeros(n_points, dtype=np.float64)
        self.point_lambda[child[is_point]] = lam[is_point]
        nodes = ~is_point
        self._parent = dict(zip(child[nodes].tolist(), parent[nodes].tolist(), strict=True))
        self._birth = dict(zip(child[nodes].tolist(), lam[nodes].tolist(), strict=True))
        self._children: dict[int, list[int]] = {}
        for c, p in zip(child[nodes].tolist(), parent[nodes].tolist(), strict=True):
            self._children.setdefault(p, []).append(c)

    def has_node(self, node: int) -> bool:
        """True for the root and every cluster node of the tree."""
        return node == self.root or node in self._parent

    def parent(self, node: int) -> int | None:
        """The parent node, or None at the root."""
        return self._parent.get(node)

    def lambda_birth(self, node: int) -> float:
        """The lambda at which ``node`` splits from its parent (0 for the root)."""
        return float(self._birth.get(node, 0.0))

    def descendants(self, node: int) -> list[int]:
        """``node`` and every cluster node below it."""
        out, stack = [], [node]
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(self._children.get(current, ()))
        return out

    def members(self, node: int) -> np.ndarray:
        """Boolean mask over galaxies: those that belong to ``node`` (fall out at or below it)."""
        return np.isin(self.point_node, np.asarray(self.descendants(node), dtype=np.int64))

    def leaf_nodes(self, labels: np.ndarray, n_clusters: int) -> np.ndarray:
        """The node of each leaf cluster 0..n_clusters-1: where most of its members fall out."""
        nodes = np.full(n_clusters, -1, dtype=np.int64)
        for k in range(n_clusters):
            found = self.point_node[(labels == k) & (self.point_node >= 0)]
            if len(found):
                values, counts = np.unique(found, return_counts=True)
                nodes[k] = values[np.argmax(counts)]
        return nodes
