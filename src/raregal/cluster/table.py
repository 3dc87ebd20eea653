"""The per-cluster table: clusters renumbered by decreasing size, described, with medoids."""

from __future__ import annotations

import numpy as np
import pandas as pd

from raregal.cluster.tree import CondensedTree, max_lambdas
from raregal.constants import NOISE
from raregal.io.runfolder import CLUSTER_COLUMNS, cluster_letter


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


def cluster_table(
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
    deaths = max_lambdas(tree)
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
