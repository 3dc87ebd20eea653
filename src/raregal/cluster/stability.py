"""Clusters across seeds: which clusters of a run come back when only the UMAP seed changes.

Each seed's layout is clustered with the same parameters (``n_seeds``). Two clusters of different
seeds **match** when the Jaccard index of their members (shared galaxies over galaxies in
either) is at least ``MATCH_JACCARD`` (0.5). A cluster's **seed stability** is the share of the
K seeds, its own included, in which a cluster matching it is found: 1 means it is there with
every seed, 1/K that no other seed has it.

**Consensus clusters** are formed across the seeds: the clusters of all seeds are linked by their
matches, and each connected group of linked clusters is one consensus cluster (a cluster that
matches nothing is a consensus cluster alone). Its stability is the share of seeds that have a
member cluster in it; its core is the galaxies that every member cluster holds. With a threshold
of 0.5 a cluster matches at most one cluster of another seed (two disjoint clusters cannot both
share more than half of the union with it, except at exactly 0.5), so a consensus cluster
usually holds at most one cluster per seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from raregal.io.runfolder import TABLES, cluster_letter

MATCH_JACCARD = 0.5
"""Two clusters of different seeds are the same cluster when their Jaccard index is at least
this."""

STABLE_SHARE = 2 / 3
"""A cluster is called stable when it is found in at least this share of the seeds (2 of 3)."""


def stable_count(n_seeds: int) -> int:
    """Seeds a stable cluster is found in, at least: ceil(STABLE_SHARE * n_seeds), at least 1."""
    import math

    return max(1, math.ceil(STABLE_SHARE * n_seeds - 1e-9))


CONSENSUS_RULE = (
    f"clusters of different seeds are linked when the Jaccard index of their members is at "
    f"least {MATCH_JACCARD}; each connected group of linked clusters is one consensus cluster; "
    f"its stability is the share of seeds with a member cluster in it, its core the galaxies in "
    f"every member cluster"
)
"""How consensus clusters are formed, as written into run.json and the consensus table."""


def _count(labels: np.ndarray) -> int:
    return int(labels.max()) + 1 if (labels >= 0).any() else 0


def jaccard_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaccard index of every cluster of labeling ``a`` with every cluster of ``b``.

    NOISE (and any negative label) is no cluster. Returns shape (clusters of a, clusters of b).
    """
    a, b = np.asarray(a), np.asarray(b)
    ka, kb = _count(a), _count(b)
    if ka == 0 or kb == 0:
        return np.zeros((ka, kb))
    both = (a >= 0) & (b >= 0)
    shared = np.zeros((ka, kb))
    np.add.at(shared, (a[both], b[both]), 1)
    size_a = np.bincount(a[a >= 0], minlength=ka)[:, None]
    size_b = np.bincount(b[b >= 0], minlength=kb)[None, :]
    union = size_a + size_b - shared
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, shared / union, 0.0)


def seed_stability(labelings: Sequence[np.ndarray], threshold: float = MATCH_JACCARD) -> np.ndarray:
    """For each cluster of ``labelings[0]``, the share of labelings with a cluster matching it.

    The first labeling counts for itself, so values are k / K for k = 1..K; with one labeling
    every value is 1.
    """
    first = np.asarray(labelings[0])
    found = np.ones(_count(first))
    for other in labelings[1:]:
        jaccard = jaccard_matrix(first, other)
        if jaccard.shape[1]:
            found += jaccard.max(axis=1) >= threshold
    return found / len(labelings)


def consensus_clusters(
    labelings: Sequence[np.ndarray], seeds: Sequence[int], threshold: float = MATCH_JACCARD
) -> pd.DataFrame:
    """The consensus clusters of several labelings of the same galaxies (see the module).

    Parameters
    ----------
    labelings : sequence of ndarray of int, each of shape (n,)
        Cluster numbers (or NOISE) per seed, the run's own first.
    seeds : sequence of int
        The seed of each labeling.
    threshold : float, default=MATCH_JACCARD

    Returns
    -------
    DataFrame
        One row per member cluster (``raregal.io.runfolder.TABLES['consensus']``): consensus,
        seed, cluster, letter (the run's letter for the first seed's clusters, else ''), size,
        jaccard (the best Jaccard with another member of the same consensus cluster, 0 when
        alone), n_seeds_found, stability, core_size. Consensus clusters are numbered by
        decreasing stability, then by the run's cluster they hold (smallest first), then by size.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    labelings = [np.asarray(labels) for labels in labelings]
    counts = [_count(labels) for labels in labelings]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    total = int(offsets[-1])
    columns = [c.name for c in TABLES["consensus"].columns]
    if total == 0:
        return _typed(pd.DataFrame({c: [] for c in columns}))
    rows, cols, best = [], [], np.zeros(total)
    for i in range(len(labelings)):
        for j in range(i + 1, len(labelings)):
            jaccard = jaccard_matrix(labelings[i], labelings[j])
            if jaccard.size == 0:
                continue
            np.maximum.at(best, offsets[i] + np.arange(counts[i]), jaccard.max(axis=1))
            np.maximum.at(best, offsets[j] + np.arange(counts[j]), jaccard.max(axis=0))
            linked_i, linked_j = np.nonzero(jaccard >= threshold)
            rows += (offsets[i] + linked_i).tolist()
            cols += (offsets[j] + linked_j).tolist()
    links = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(total, total))
    _, component = connected_components(links, directed=False)
    seed_of = np.repeat(np.arange(len(labelings)), counts)
    cluster_of = np.concatenate([np.arange(k) for k in counts])
    sizes = np.concatenate([np.bincount(lab[lab >= 0], minlength=k)
                            for lab, k in zip(labelings, counts, strict=True)])  # fmt: skip
    frame = pd.DataFrame({"component": component, "seed_index": seed_of, "cluster": cluster_of,
                          "size": sizes, "jaccard": best})  # fmt: skip
    frame = frame[frame["size"] > 0]  # a number no galaxy carries is no cluster
    found = frame.groupby("component")["seed_index"].nunique()
    frame["n_seeds_found"] = frame["component"].map(found).astype(np.int64)
    frame["stability"] = frame["n_seeds_found"] / len(labelings)
    frame["core_size"] = frame["component"].map(_core_sizes(frame, labelings)).astype(np.int64)
    first_cluster = frame[frame["seed_index"] == 0].groupby("component")["cluster"].min()
    order = pd.DataFrame({
        "stability": frame.groupby("component")["stability"].first(),
        "first": first_cluster.reindex(found.index).fillna(np.inf),
        "size": frame.groupby("component")["size"].sum(),
    })  # fmt: skip
    order = order.sort_values(["stability", "first", "size"], ascending=[False, True, False])
    number = pd.Series(np.arange(len(order)), index=order.index)
    frame["consensus"] = frame["component"].map(number).astype(np.int64)
    frame["seed"] = np.asarray(seeds, dtype=np.int64)[frame["seed_index"]]
    pairs = zip(frame["seed_index"], frame["cluster"], strict=True)
    frame["letter"] = [cluster_letter(int(c)) if s == 0 else "" for s, c in pairs]
    frame = frame.sort_values(["consensus", "seed_index", "cluster"]).reset_index(drop=True)
    return _typed(frame[columns])


def _core_sizes(frame: pd.DataFrame, labelings: list[np.ndarray]) -> dict[int, int]:
    """Galaxies held by every member cluster of each consensus cluster."""
    cores: dict[int, int] = {}
    for component, members in frame.groupby("component"):
        if len(members) == 1:
            cores[int(component)] = int(members["size"].iloc[0])
            continue
        inside = np.ones(len(labelings[0]), dtype=bool)
        for seed_index, cluster in zip(members["seed_index"], members["cluster"], strict=True):
            inside &= labelings[seed_index] == cluster
        cores[int(component)] = int(inside.sum())
    return cores


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    kinds = {c.name: {"int": np.int64, "float": np.float64, "str": object}[c.kind]
             for c in TABLES["consensus"].columns}  # fmt: skip
    return frame.astype(kinds)
