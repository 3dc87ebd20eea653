"""HDBSCAN clustering of the embedding: engines by name, then one engine-independent read-out.

An engine (``ENGINES``) only builds the condensed tree (hdbscan's convention: rows ``parent``,
``child``, ``lambda_val``, ``child_size``; children below N are points, the root is N). Cluster
selection (leaf or eom), labels, membership probabilities, GLOSH outlier scores and the
per-cluster table are then computed here from that tree, so every engine gives the same layout.

Clusters are numbered 0..K-1 in order of decreasing size (ties: by tree node); their letters are
A, B, ..., Z, AA, AB, ... in the same order. Points outside every selected cluster get NOISE (-1).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from raregal.constants import NOISE
from raregal.cuml_engines import add_gpu_clusterers
from raregal.errors import InputError, MissingDependencyError

logger = logging.getLogger(__name__)

TREE_COLUMNS = ("parent", "child", "lambda_val", "child_size")
CLUSTER_COLUMNS = (
    "cluster", "letter", "size", "lambda_birth", "lambda_death", "persistence", "stability",
    "node", "parent", "medoid_row", "medoid_id", "mean_probability",
)  # fmt: skip


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
        return cls.from_arrays(*(df[c].to_numpy() for c in TREE_COLUMNS))


class EngineResult(NamedTuple):
    """What an engine returns: the tree, and its own labels (kept to check our read-out)."""

    tree: CondensedTree
    engine_labels: np.ndarray


class FastHdbscanEngine:
    """fast_hdbscan (the default): parallel Boruvka on a KD-tree, numba kernels.

    Run with ``reproducible=True``: without it, ties in the parallel Boruvka make the leaves
    differ between runs on the same input.
    """

    name = "fast_hdbscan"

    def __init__(self, min_samples: int, min_cluster_size: int, cluster_selection_method: str):
        self.min_samples = min_samples
        self.min_cluster_size = min_cluster_size
        self.cluster_selection_method = cluster_selection_method
        self.timings: dict[str, float] = {}

    def fit(self, X: np.ndarray) -> EngineResult:
        try:
            from fast_hdbscan.hdbscan import fast_hdbscan
        except ImportError as exc:  # pragma: no cover - core dependency
            raise MissingDependencyError("fast_hdbscan", "all") from exc
        start = time.perf_counter()
        labels, _, _, tree, *_ = fast_hdbscan(
            X, min_samples=int(self.min_samples), min_cluster_size=int(self.min_cluster_size),
            cluster_selection_method=self.cluster_selection_method, return_trees=True,
            reproducible=True,
        )  # fmt: skip
        self.timings["hdbscan"] = round(time.perf_counter() - start, 3)
        if isinstance(tree, np.ndarray) and tree.dtype.names:
            arrays = [tree[c] for c in TREE_COLUMNS]
        else:
            arrays = [tree.parent, tree.child, tree.lambda_val, tree.child_size]
        return EngineResult(CondensedTree.from_arrays(*arrays), np.asarray(labels))


class HdbscanEngine:
    """hdbscan (the reference implementation)."""

    name = "hdbscan"

    def __init__(self, min_samples: int, min_cluster_size: int, cluster_selection_method: str):
        self.min_samples = min_samples
        self.min_cluster_size = min_cluster_size
        self.cluster_selection_method = cluster_selection_method
        self.timings: dict[str, float] = {}
        self.outlier_scores_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> EngineResult:
        try:
            import hdbscan
        except ImportError as exc:  # pragma: no cover - core dependency
            raise MissingDependencyError("hdbscan", "all") from exc
        from raregal.settings import num_threads

        start = time.perf_counter()
        model = hdbscan.HDBSCAN(
            min_samples=int(self.min_samples), min_cluster_size=int(self.min_cluster_size),
            cluster_selection_method=self.cluster_selection_method,
            core_dist_n_jobs=num_threads(),
        ).fit(X)  # fmt: skip
        self.timings["hdbscan"] = round(time.perf_counter() - start, 3)
        raw = model.condensed_tree_._raw_tree
        self.outlier_scores_ = np.asarray(model.outlier_scores_)
        tree = CondensedTree.from_arrays(*(raw[c] for c in TREE_COLUMNS))
        return EngineResult(tree, np.asarray(model.labels_))


ENGINES: dict[str, type] = {"fast_hdbscan": FastHdbscanEngine, "hdbscan": HdbscanEngine}
"""HDBSCAN engines by name; an engine's ``fit(X)`` returns an ``EngineResult``."""
add_gpu_clusterers(ENGINES)  # 'auto', and 'cuml' where cuML is installed (raregal.cuml_engines)


def register_engine(name: str, cls: type) -> None:
    """Add a clustering engine (e.g. 'cuml') under ``name``."""
    ENGINES[name] = cls


@dataclass
class Clustering:
    """The read-out of one clustering.

    Attributes
    ----------
    labels : ndarray of int, shape (n,)
        Cluster number (0..K-1, by decreasing size) or NOISE.
    probabilities : ndarray of float, shape (n,)
        hdbscan's membership strength in [0, 1] (0 for noise).
    outlier_scores : ndarray of float, shape (n,)
        GLOSH outlier score in [0, 1].
    clusters : DataFrame
        One row per cluster, columns CLUSTER_COLUMNS.
    condensed_tree : DataFrame
        parent, child, lambda_val, child_size.
    """

    labels: np.ndarray
    probabilities: np.ndarray
    outlier_scores: np.ndarray
    clusters: pd.DataFrame
    condensed_tree: pd.DataFrame
    engine_labels: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def cluster_letter(number: int) -> str:
    """Letters of cluster ``number``: 0 -> A, 25 -> Z, 26 -> AA, 27 -> AB, ..."""
    letters = ""
    number += 1
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def glosh_scores(tree: CondensedTree, n_points: int) -> np.ndarray:
    """GLOSH outlier scores from a condensed tree, as hdbscan's ``outlier_scores_``.

    The score of a point is ``(lambda_max - lambda_p) / lambda_max``, where ``lambda_p`` is the
    density at which it left its cluster and ``lambda_max`` the highest density reached by any
    point in that cluster or in the clusters below it.
    """
    scores = np.zeros(n_points)
    if len(tree.parent) == 0:
        return scores
    deaths = _max_lambdas(tree)
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


def _max_lambdas(tree: CondensedTree) -> np.ndarray:
    """Highest lambda among each node's direct children (hdbscan's 'deaths')."""
    deaths = np.zeros(int(max(tree.parent.max(), tree.child.max())) + 1)
    np.maximum.at(deaths, tree.parent, tree.lambda_val)
    return deaths


def _cluster_nodes(tree: CondensedTree, n_points: int) -> tuple[np.ndarray, dict[int, int]]:
    """Cluster nodes (root first) and each non-root node's parent."""
    is_cluster = tree.child >= n_points
    parent_of = dict(
        zip(tree.child[is_cluster].tolist(), tree.parent[is_cluster].tolist(), strict=True)
    )
    nodes = np.concatenate([[n_points], np.sort(tree.child[is_cluster])])
    return nodes, parent_of


def select_leaves(tree: CondensedTree, n_points: int) -> np.ndarray:
    """Leaf clusters: nodes without cluster children; none when the root never splits."""
    nodes, parent_of = _cluster_nodes(tree, n_points)
    if len(nodes) == 1:
        return np.empty(0, dtype=np.int64)
    has_children = set(parent_of.values())
    return np.array([n for n in nodes if n not in has_children], dtype=np.int64)


def select_eom(tree: CondensedTree, n_points: int) -> np.ndarray:
    """Excess-of-mass selection (hdbscan's default), root excluded."""
    nodes, parent_of = _cluster_nodes(tree, n_points)
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
    nodes, parent_of = _cluster_nodes(tree, n_points)
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
    deaths = _max_lambdas(tree)
    sorted_nodes = np.sort(selected)
    member = labels[point_rows] >= 0
    lam = tree.lambda_val[points][member]
    lam_max = deaths[sorted_nodes[labels[point_rows][member]]]
    with np.errstate(invalid="ignore", divide="ignore"):
        prob = np.minimum(lam, lam_max) / lam_max
    prob[(lam_max == 0.0) | ~np.isfinite(lam)] = 1.0
    probabilities[point_rows[member]] = prob
    return labels, probabilities, scores


def medoid_row(X: np.ndarray, rows: np.ndarray, candidates: int = 256, chunk: int = 64) -> int:
    """Row of the member nearest all others (least summed distance).

    For large clusters only the ``candidates`` members nearest the mean are tried, each against
    every member, in chunks so that memory stays flat.
    """
    from scipy.spatial.distance import cdist

    points = X[rows]
    if len(rows) > candidates:
        centre = points.mean(axis=0, keepdims=True)
        nearest = np.argsort(cdist(centre, points)[0], kind="stable")[:candidates]
    else:
        nearest = np.arange(len(rows))
    sums = np.concatenate(
        [cdist(points[nearest[i : i + chunk]], points).sum(axis=1)
         for i in range(0, len(nearest), chunk)]
    )  # fmt: skip
    return int(rows[nearest[int(np.argmin(sums))]])


def cluster(
    X: np.ndarray,
    engine: str = "fast_hdbscan",
    min_samples: int = 300,
    min_cluster_size: int = 10,
    cluster_selection_method: str = "leaf",
    ids: np.ndarray | None = None,
) -> Clustering:
    """HDBSCAN of ``X`` with engine ``engine``, read out into labels and tables.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        The embedding to cluster (finite).
    engine : str, default='fast_hdbscan'
        Name in ``ENGINES``.
    min_samples, min_cluster_size, cluster_selection_method : see SearchConfig
    ids : ndarray of str, default=None
        Galaxy ids, for ``medoid_id``; row numbers are used when None.

    Returns
    -------
    Clustering
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    if engine not in ENGINES:
        raise InputError(
            f"parameter 'engine' must be one of {', '.join(map(repr, ENGINES))}; got {engine!r}",
            column="engine",
        )
    if min_samples >= n:
        raise InputError(
            f"min_samples={min_samples} needs more galaxies than that; got {n} "
            "(lower --min-samples or use --scale-to-sample)",
            column="min_samples", count=n,
        )  # fmt: skip
    runner = ENGINES[engine](min_samples, min_cluster_size, cluster_selection_method)
    logger.info("HDBSCAN (%s) of %d points, min_samples=%d, min_cluster_size=%d",
                engine, n, min_samples, min_cluster_size)  # fmt: skip
    result = runner.fit(X)
    start = time.perf_counter()
    tree = result.tree
    select_fn = select_leaves if cluster_selection_method == "leaf" else select_eom
    selected = select_fn(tree, n) if len(tree.parent) else np.empty(0, dtype=np.int64)
    raw_labels, probabilities, scores = read_out(tree, n, selected)
    labels, clusters = _cluster_table(X, tree, n, np.sort(selected), raw_labels, probabilities, ids)
    timings = dict(runner.timings)
    timings["read_out"] = round(time.perf_counter() - start, 3)
    info = {"engine": engine, "n_clusters": len(clusters), "n_noise": int((labels == NOISE).sum()),
            "engine_used": getattr(runner, "name", engine)}  # fmt: skip
    return Clustering(labels, probabilities, scores, clusters, tree.to_frame(),
                      result.engine_labels, timings, info)  # fmt: skip


def _cluster_table(
    X: np.ndarray,
    tree: CondensedTree,
    n_points: int,
    nodes: np.ndarray,
    raw_labels: np.ndarray,
    probabilities: np.ndarray,
    ids: np.ndarray | None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Renumber clusters by decreasing size and describe each one."""
    if len(nodes) == 0:
        return raw_labels, pd.DataFrame({c: [] for c in CLUSTER_COLUMNS}).astype(
            {"cluster": int, "letter": str, "size": int, "node": int, "parent": int,
             "medoid_row": int, "medoid_id": str}
        )  # fmt: skip
    sizes = np.bincount(raw_labels[raw_labels >= 0], minlength=len(nodes))
    order = np.lexsort((nodes, -sizes))  # by size, then node
    new_number = np.empty(len(nodes), dtype=np.int64)
    new_number[order] = np.arange(len(nodes))
    labels = np.where(raw_labels >= 0, new_number[np.maximum(raw_labels, 0)], NOISE)
    deaths = _max_lambdas(tree)
    is_cluster = tree.child >= n_points
    birth = dict(
        zip(tree.child[is_cluster].tolist(), tree.lambda_val[is_cluster].tolist(), strict=True)
    )
    parent_of = dict(
        zip(tree.child[is_cluster].tolist(), tree.parent[is_cluster].tolist(), strict=True)
    )
    rows = []
    members_sorted = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[members_sorted], np.arange(len(nodes) + 1))
    for number, raw in enumerate(order):
        node = int(nodes[raw])
        members = members_sorted[bounds[number] : bounds[number + 1]]
        lam_birth = birth.get(node, 0.0)
        lam_death = float(deaths[node])
        in_node = tree.parent == node
        stability = float(((tree.lambda_val[in_node] - lam_birth) * tree.child_size[in_node]).sum())
        medoid = medoid_row(X, members)
        rows.append({
            "cluster": number, "letter": cluster_letter(number), "size": len(members),
            "lambda_birth": lam_birth, "lambda_death": lam_death,
            "persistence": lam_death - lam_birth, "stability": stability, "node": node,
            "parent": parent_of.get(node, -1), "medoid_row": medoid,
            "medoid_id": str(ids[medoid]) if ids is not None else str(medoid),
            "mean_probability": float(probabilities[members].mean()),
        })  # fmt: skip
    return labels, pd.DataFrame(rows, columns=list(CLUSTER_COLUMNS))
