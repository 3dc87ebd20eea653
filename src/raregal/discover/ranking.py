"""Clusters ranked by how rare they look, not by size.

A cluster's ``interest`` is the mean, over the components below, of its z-score among the run's
clusters (each component centred on the run's average cluster and divided by its spread):

``persistence``
    log of HDBSCAN's lambda_death - lambda_birth: how long the cluster holds together as the
    density threshold rises.
``isolation``
    in the clustered space (``umap_*``): log of the median distance from a member to the nearest
    selected galaxy outside the cluster, over the median distance from a member to its
    ``ISOLATION_FELLOW``-th nearest fellow member. A leaf cut out of a continuous population has
    neighbours just outside it (near 0); a class apart has a gap around it.
``separation``
    in the representation (``feat_*``): distance of the cluster's mean from the survey's mean,
    in units of the survey's mean distance from its mean. The survey is every encoded galaxy,
    selected or not, so an ordinary type at the edge of the selection (lenticulars beside the
    removed smooth galaxies) does not look rare.
``vote_contrast``
    how far the cluster's vote fractions stand from those of the selected galaxies
    (``raregal.discover.describe``); left out when the run has no vote fractions.

When the run measured ``seed_stability`` (the share of UMAP seeds in which the cluster
reappears; ``--n-seeds``), ``interest`` loses ``1 - seed_stability``: a cluster found in every
seed keeps its score, one found in 2 of 3 seeds loses a third of a standard deviation, one found
only in its own seed two thirds. It is a penalty in those plain units rather than a z-score,
because most clusters are found in every seed: as a z-score, the few found in 2 of 3 would sit
four standard deviations below the rest and a stable-enough rare class would drop out of sight.

``interest_rank`` is the order of display, from 1: first the clusters more distinct than the
run's average one (``interest > 0``), the best leaf of each branch of the condensed tree (each
``parent``) first and its sibling leaves after them, then the others (``main_population``), which
the report and the explorer fold into one collapsed section. A class that leaf selection splits
into sibling fragments thus takes one place among the first, not several. Cluster numbers and
letters keep their meaning (by decreasing size), so marks stay valid; only the order changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from raregal.discover.describe import describe_clusters, population_answers

ISOLATION_NEIGHBOURS = 32
"""Neighbours looked at around each member to find the nearest galaxy outside its cluster."""
ISOLATION_FELLOW = 5
CHUNK_ROWS = 262_144
COMPONENTS = ("persistence", "isolation", "separation", "vote_contrast")
"""The columns of clusters.parquet whose z-scores ``interest`` averages (those present)."""
RANKING_COLUMNS = ("interest", "interest_rank", "main_population", "isolation", "separation",
                   "vote_contrast", "description", "distinct_answers")  # fmt: skip
"""Columns that ``rank_clusters`` adds to the cluster table (declared in ``TABLES``)."""


@dataclass(frozen=True)
class Survey:
    """The reference population of a run: every encoded galaxy.

    Attributes
    ----------
    feature_mean : ndarray, shape (n_features,)
    feature_spread : float
        Mean distance of a galaxy from ``feature_mean``.
    n : int
    """

    feature_mean: np.ndarray
    feature_spread: float
    n: int


def survey_statistics(X: np.ndarray) -> Survey:
    """Statistics of the survey's representations ``X`` (every encoded galaxy), in chunks."""
    n = len(X)
    total = np.zeros(X.shape[1])
    for start in range(0, n, CHUNK_ROWS):
        total += X[start : start + CHUNK_ROWS].sum(axis=0, dtype=np.float64)
    mean = total / max(n, 1)
    distance = 0.0
    for start in range(0, n, CHUNK_ROWS):
        block = X[start : start + CHUNK_ROWS].astype(np.float64) - mean
        distance += float(np.sqrt((block**2).sum(axis=1)).sum())
    return Survey(mean, distance / max(n, 1), n)


def cluster_isolation(embedding: np.ndarray, labels: np.ndarray, numbers: np.ndarray
                      ) -> np.ndarray:  # fmt: skip
    """``isolation`` of each cluster of ``numbers`` (see the module docstring).

    Where all ``ISOLATION_NEIGHBOURS`` neighbours of a member are fellow members, the distance to
    the farthest of them stands in for the distance to the nearest outsider (a lower bound), and
    where fewer than ``ISOLATION_FELLOW`` are, the farthest stands in for the fellow's (an upper
    bound): both make the isolation smaller, never larger.
    """
    from scipy.spatial import cKDTree

    labels = np.asarray(labels)
    out = np.full(len(numbers), np.nan)
    members = np.flatnonzero(np.isin(labels, numbers))
    if len(members) == 0 or len(labels) < 2:
        return out
    k = int(min(ISOLATION_NEIGHBOURS + 1, len(labels)))
    tree = cKDTree(np.asarray(embedding, dtype=np.float64))
    dist, index = tree.query(np.asarray(embedding, dtype=np.float64)[members], k=k)
    dist, index = dist[:, 1:], index[:, 1:]  # drop the galaxy itself
    same = labels[index] == labels[members][:, None]
    farthest = dist[:, -1]
    outsider = np.where(same.all(axis=1), farthest,
                        dist[np.arange(len(members)), np.argmin(same, axis=1)])  # fmt: skip
    fellow_rank = np.cumsum(same, axis=1)
    reached = fellow_rank[:, -1] >= ISOLATION_FELLOW
    fellow_at = np.argmax(fellow_rank >= ISOLATION_FELLOW, axis=1)
    fellow = np.where(reached, dist[np.arange(len(members)), fellow_at], farthest)
    member_labels = labels[members]
    for i, number in enumerate(numbers):
        mine = member_labels == number
        if mine.any():
            ratio = np.median(outsider[mine]) / max(float(np.median(fellow[mine])), 1e-12)
            out[i] = float(np.log(max(ratio, 1e-12)))
    return out


def cluster_separation(X: np.ndarray, labels: np.ndarray, numbers: np.ndarray, survey: Survey
                       ) -> np.ndarray:  # fmt: skip
    """``separation`` of each cluster: its mean representation's distance from the survey's."""
    labels = np.asarray(labels)
    out = np.full(len(numbers), np.nan)
    for i, number in enumerate(numbers):
        rows = np.flatnonzero(labels == number)
        if len(rows):
            centre = np.asarray(X[rows], dtype=np.float64).mean(axis=0)
            out[i] = float(np.linalg.norm(centre - survey.feature_mean)) / max(
                survey.feature_spread, 1e-12
            )
    return out


def zscores(values: np.ndarray) -> np.ndarray:
    """Centre on the mean and divide by the spread over the finite values; NaN and a constant
    component give 0 (they say nothing about which cluster stands out)."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    out = np.zeros(len(values))
    if finite.sum() < 2:
        return out
    spread = values[finite].std()
    if spread > 0:
        out[finite] = (values[finite] - values[finite].mean()) / spread
    return out


def interest_score(clusters: pd.DataFrame) -> np.ndarray:
    """``interest`` from the component columns present in ``clusters`` (see ``COMPONENTS``)."""
    parts = []
    for name in COMPONENTS:
        if name not in clusters.columns:
            continue
        values = clusters[name].to_numpy(dtype=float)
        if name == "persistence":
            positive = values[np.isfinite(values) & (values > 0)]
            floor = 0.01 * float(np.median(positive)) if len(positive) else 1e-12
            values = np.log(np.maximum(values, floor))
        if np.isfinite(values).sum() >= 2:
            parts.append(zscores(values))
    interest = np.mean(parts, axis=0) if parts else np.zeros(len(clusters))
    if "seed_stability" in clusters.columns:
        stability = clusters["seed_stability"].to_numpy(dtype=float)
        interest = interest - np.where(np.isfinite(stability), 1.0 - stability, 0.0)
    return interest


def rank_clusters(
    clusters: pd.DataFrame,
    labels: np.ndarray,
    embedding: np.ndarray,
    X: np.ndarray,
    fractions: pd.DataFrame | None,
    survey: Survey,
) -> pd.DataFrame:
    """The cluster table with its ranking and description columns (``RANKING_COLUMNS``).

    Parameters
    ----------
    clusters : DataFrame
        The cluster table (``cluster``, ``persistence``; ``seed_stability`` is used when present).
    labels : ndarray of int, shape (n_selected,)
        Cluster number of each selected galaxy (NOISE = -1).
    embedding : ndarray, shape (n_selected, n_components)
        The clustered coordinates.
    X : ndarray, shape (n_selected, n_features)
        The representations of the selected galaxies, row for row.
    fractions : DataFrame or None
        Their vote fractions, row for row: the clusters are described against them.
    survey : Survey
        ``survey_statistics`` of every encoded galaxy.

    Returns
    -------
    DataFrame
        A copy of ``clusters`` in its own order (by cluster number) with the new columns.
    """
    out = clusters.drop(columns=[c for c in RANKING_COLUMNS if c in clusters.columns]).copy()
    numbers = out["cluster"].to_numpy(dtype=np.int64)
    out["isolation"] = cluster_isolation(embedding, labels, numbers)
    out["separation"] = cluster_separation(X, labels, numbers, survey)
    if fractions is not None:
        fractions = fractions.reset_index(drop=True)
        described = describe_clusters(labels, numbers, fractions, population_answers(fractions))
    else:
        described = describe_clusters(labels, numbers, pd.DataFrame(), None)
    for column in ("vote_contrast", "description", "distinct_answers"):
        out[column] = described[column].to_numpy()
    out["interest"] = interest_score(out)
    out["main_population"] = (out["interest"].to_numpy() <= 0) & (len(out) > 1)
    parents = out["parent"].to_numpy() if "parent" in out.columns else numbers
    order = display_ranks(out["interest"].to_numpy(), parents, out["main_population"].to_numpy())
    out["interest_rank"] = order
    return out


def display_ranks(interest: np.ndarray, parents: np.ndarray, main: np.ndarray) -> np.ndarray:
    """Rank (from 1) of each cluster in the order of display (see the module docstring)."""
    interest = np.asarray(interest, dtype=float)
    by_interest = np.lexsort((np.arange(len(interest)), -interest))
    seen: set[int] = set()
    first_of_branch = np.zeros(len(interest), dtype=bool)
    for i in by_interest:
        if int(parents[i]) not in seen:
            first_of_branch[i] = True
            seen.add(int(parents[i]))
    tier = np.where(main, 2, np.where(first_of_branch, 0, 1))
    order = np.lexsort((np.arange(len(interest)), -interest, tier))
    ranks = np.empty(len(interest), dtype=np.int64)
    ranks[order] = np.arange(1, len(interest) + 1)
    return ranks


def display_order(clusters: pd.DataFrame) -> pd.DataFrame:
    """``clusters`` in the order to show them: by ``interest_rank`` where ranked, else by number."""
    key = "interest_rank" if "interest_rank" in clusters.columns else "cluster"
    return clusters.sort_values([key, "cluster"], kind="stable").reset_index(drop=True)
