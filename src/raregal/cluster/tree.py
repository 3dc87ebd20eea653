"""HDBSCAN's condensed tree and its read-out, the same for every engine.

An engine only builds the condensed tree (hdbscan's layout: rows ``parent``, ``child``,
``lambda_val``, ``child_size``; children below N are points, the root is N). Cluster selection
(leaf or eom), labels, membership probabilities and GLOSH outlier scores are computed here from
that tree, so every engine gives the same read-out.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from raregal.constants import NOISE
from raregal.io.runfolder import TREE_COLUMNS

TREE_FIELDS = TREE_COLUMNS
"""The tree's fields: the columns of ``condensed_tree.parquet`` (``raregal.io.runfolder``)."""


class CondensedTree(NamedTuple):
    """The condensed tree as plain arrays (one row per edge)."""

    parent: np.ndarray
    child: np.ndarray
    lambda_val: np.ndarray
    child_size: np.ndarray

    @classmethod
    def from_arrays(cls, parent, child, lambda_val, child_size) -> CondensedTree:
        return cls(
            np.asarray(parent, dtype=np.int64),
            np.asarray(child, dtype=np.int64),
            np.asarray(lambda_val, dtype=np.float64),
            np.rint(np.asarray(child_size, dtype=np.float64)).astype(np.int64),
        )

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self._asdict())

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> CondensedTree:
        return cls.from_arrays(*(df[c].to_numpy() for c in TREE_FIELDS))


class EngineResult(NamedTuple):
    """What an engine returns: the tree, its own labels (kept to check our read-out) and, when
    it computed them, the core distances (distance of each point to its ``min_samples``-th
    nearest other point), which placing new points needs."""

    tree: CondensedTree
    engine_labels: np.ndarray
    core_distances: np.ndarray | None = None


def glosh_scores(tree: CondensedTree, n_points: int) -> np.ndarray:
    """GLOSH outlier scores from a condensed tree, as hdbscan's ``outlier_scores_``.

    The score of a point is ``(lambda_max - lambda_p) / lambda_max``, where ``lambda_p`` is the
    density at which it left its cluster and ``lambda_max`` the highest density reached by any
    point in that cluster or in the clusters below it.
    """
    scores = np.zeros(n_points)
    if len(tree.parent) == 0:
        return scores
    deaths = max_lambdas(tree)
    is_cluster = tree.child >= n_points
    order = np.argsort(-tree.child[is_cluster], kind="stable")  # children before parents
    pairs = zip(tree.parent[is_cluster][order], tree.child[is_cluster][order], strict=True)
    for parent, child in pairs:
        if deaths[child] > deaths[parent]:
            deaths[parent] = deaths[child]
    points = ~is_cluster
    lam = tree.lambda_val[points]
    lam_max = deaths[tree.parent[points]]
    with np.errstate(invalid="ignore", divide="ignore"):
        score = (lam_max - lam) / lam_max
    score[(lam_max == 0.0) | ~np.isfinite(lam)] = 0.0
    scores[tree.child[points]] = score
    return scores


def max_lambdas(tree: CondensedTree) -> np.ndarray:
    """Highest lambda among each node's direct children (hdbscan's 'deaths')."""
    deaths = np.zeros(int(max(tree.parent.max(), tree.child.max())) + 1)
    np.maximum.at(deaths, tree.parent, tree.lambda_val)
    return deaths


def cluster_nodes(tree: CondensedTree, n_points: int) -> tuple[np.ndarray, dict[int, int]]:
    """Cluster nodes (root first) and each non-root node's parent."""
    is_cluster = tree.child >= n_points
    parent_of = dict(
        zip(tree.child[is_cluster].tolist(), tree.parent[is_cluster].tolist(), strict=True)
    )
    nodes = np.concatenate([[n_points], np.sort(tree.child[is_cluster])])
    return nodes, parent_of


def select_leaves(tree: CondensedTree, n_points: int) -> np.ndarray:
    """Leaf clusters: nodes without cluster children; none when the root never splits."""
    nodes, parent_of = cluster_nodes(tree, n_points)
    if len(nodes) == 1:
        return np.empty(0, dtype=np.int64)
    has_children = set(parent_of.values())
    return np.array([n for n in nodes if n not in has_children], dtype=np.int64)


def select_eom(tree: CondensedTree, n_points: int) -> np.ndarray:
    """Excess-of-mass selection (hdbscan's default), root excluded."""
    nodes, parent_of = cluster_nodes(tree, n_points)
    if len(nodes) == 1:
        return np.empty(0, dtype=np.int64)
    birth = {n_points: 0.0}
    is_cluster = tree.child >= n_points
    birth.update(
        zip(tree.child[is_cluster].tolist(), tree.lambda_val[is_cluster].tolist(), strict=True)
    )
    births = np.array([birth[p] for p in tree.parent.tolist()])
    contrib = (tree.lambda_val - births) * tree.child_size
    stability = pd.Series(contrib).groupby(tree.parent).sum().to_dict()
    children: dict[int, list[int]] = {}
    for child, parent in parent_of.items():
        children.setdefault(parent, []).append(child)
    selected = {int(n): True for n in nodes}
    for node in sorted(nodes.tolist(), reverse=True)[:-1]:
        below = sum(stability.get(c, 0.0) for c in children.get(node, []))
        if below > stability.get(node, 0.0):
            selected[node] = False
            stability[node] = below
        else:
            stack = list(children.get(node, []))
            while stack:
                sub = stack.pop()
                selected[sub] = False
                stack.extend(children.get(sub, []))
    selected[n_points] = False
    return np.array(sorted(n for n, s in selected.items() if s), dtype=np.int64)


def read_out(
    tree: CondensedTree,
    n_points: int,
    selected: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels (index into sorted ``selected``, or NOISE), probabilities and GLOSH scores."""
    labels = np.full(n_points, NOISE, dtype=np.int64)
    probabilities = np.zeros(n_points)
    scores = glosh_scores(tree, n_points)
    if len(selected) == 0:
        return labels, probabilities, scores
    nodes, parent_of = cluster_nodes(tree, n_points)
    number = {int(node): i for i, node in enumerate(np.sort(selected))}
    owner = {n_points: number.get(n_points, NOISE)}
    for node in nodes[1:].tolist():  # parents have smaller node ids than their children
        owner[node] = number.get(node, owner[parent_of[node]])
    points = tree.child < n_points
    point_rows = tree.child[points]
    point_parent = tree.parent[points]
    owner_of_node = np.full(int(nodes.max()) + 1, NOISE, dtype=np.int64)
    owner_of_node[list(owner)] = list(owner.values())
    labels[point_rows] = owner_of_node[point_parent]
    deaths = max_lambdas(tree)
    sorted_nodes = np.sort(selected)
    member = labels[point_rows] >= 0
    lam = tree.lambda_val[points][member]
    lam_max = deaths[sorted_nodes[labels[point_rows][member]]]
    with np.errstate(invalid="ignore", divide="ignore"):
        prob = np.minimum(lam, lam_max) / lam_max
    prob[(lam_max == 0.0) | ~np.isfinite(lam)] = 1.0
    probabilities[point_rows[member]] = prob
    return labels, probabilities, scores
