"""A weirdest-first queue of single galaxies, over every encoded galaxy (selected or not).

**The score** (``rarity_scores``): the distance from a galaxy to its ``n_neighbors``-th nearest
galaxy in a random reference sample of ``n_neighbors / rare_fraction`` galaxies, in the
representation. That is about the distance to its ``rare_fraction * N``-th neighbour in the whole
survey: every member of a group smaller than ``rare_fraction`` of the survey is far from it, an
ordinary galaxy is not, however tight the rare group is. (The plain distance to a few nearest
neighbours ranks the loners of the bulk first and misses the members of a tight rare class, each of
which has close company.) The score is divided by its median: 1 is an ordinary galaxy.

**The queue** (``variety_queue``): scores alone put a hundred of the same kind first (on the demo
survey, the most isolated class takes every place). The queue is built greedily from the
``queue_pool`` best-scored galaxies: each place goes to the galaxy whose score, discounted by its
likeness to the galaxies already shown, is highest, so the next place goes to a galaxy unlike
those shown (maximal marginal relevance). Places after ``queue_length`` follow the score.

An isolation forest (scikit-learn's, ``engine='isolation_forest'``) is the baseline engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from raregal.config import DISCOVERY_DEFAULTS, validate_discovery
from raregal.errors import InputError

QUERY_CHUNK = 16_384


def _check_matrix(X: np.ndarray, name: str = "X") -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or len(X) == 0:
        raise InputError(f"{name} must be a 2-D array with at least one row; got shape {X.shape}")
    bad = int((~np.isfinite(X).all(axis=1)).sum())
    if bad:
        raise InputError(f"{name} has {bad} row(s) with NaN or inf values", column=name, count=bad)
    return X


def rarity_scores(
    X: np.ndarray,
    n_neighbors: int = 50,
    rare_fraction: float = 0.02,
    random_state: int = 0,
) -> np.ndarray:
    """Rarity of each row of ``X`` (see the module docstring); shape (n,), median 1.

    Parameters
    ----------
    X : ndarray, shape (n, n_features)
        Representations of every galaxy to score.
    n_neighbors : int, default=50
        Neighbours counted in the reference sample.
    rare_fraction : float, default=0.02
        Groups smaller than this share of the survey stand out.
    random_state : int, default=0
        Seed of the reference sample.
    """
    from sklearn.neighbors import NearestNeighbors

    X = _check_matrix(X)
    n = len(X)
    n_reference = int(min(n, np.ceil(n_neighbors / rare_fraction)))
    k = int(min(n_neighbors, n_reference - 1))
    if k < 1:
        return np.ones(n)
    rng = np.random.default_rng(random_state)
    reference = np.sort(rng.choice(n, n_reference, replace=False))
    in_reference = np.zeros(n, dtype=bool)
    in_reference[reference] = True
    model = NearestNeighbors(n_neighbors=k + 1).fit(X[reference])
    scores = np.empty(n)
    for start in range(0, n, QUERY_CHUNK):
        stop = min(n, start + QUERY_CHUNK)
        dist, _ = model.kneighbors(X[start:stop])
        # a galaxy of the reference sample finds itself first: count k others
        scores[start:stop] = np.where(in_reference[start:stop], dist[:, k], dist[:, k - 1])
    median = float(np.median(scores))
    return scores / median if median > 0 else scores


def isolation_forest_scores(X: np.ndarray, random_state: int = 0) -> np.ndarray:
    """Anomaly scores of scikit-learn's isolation forest (higher is weirder), median 1."""
    from sklearn.ensemble import IsolationForest

    X = _check_matrix(X)
    forest = IsolationForest(random_state=random_state).fit(X)
    scores = -forest.score_samples(X)
    median = float(np.median(scores))
    return scores / median if median > 0 else scores


def variety_queue(
    X: np.ndarray,
    scores: np.ndarray,
    queue_length: int = DISCOVERY_DEFAULTS["queue_length"],
    queue_pool: int = DISCOVERY_DEFAULTS["queue_pool"],
    variety_neighbors: int = DISCOVERY_DEFAULTS["variety_neighbors"],
    variety_width: float = DISCOVERY_DEFAULTS["variety_width"],
) -> np.ndarray:
    """Row order of the weirdest-first queue: the first ``queue_length`` places favour variety.

    Each place goes to the galaxy of the pool with the highest ``log(score) * (1 - likeness)``,
    where ``likeness`` is its greatest Gaussian similarity to a galaxy already shown, of width
    ``variety_width`` times the pool's median distance to its ``variety_neighbors``-th neighbour.

    Parameters
    ----------
    X : ndarray, shape (n, n_features)
    scores : ndarray, shape (n,)
        Positive, higher is weirder, median about 1 (``rarity_scores``).
    queue_length : int
        Places chosen for variety; the rest follow ``scores``.
    queue_pool : int
        The best-scored galaxies the varied places are chosen from.
    variety_neighbors : int
        Sets the unit of likeness (see above).
    variety_width : float
        Width of the likeness kernel in that unit: wider shows more kinds, and more loners.

    Returns
    -------
    ndarray of int, shape (n,)
        Every row once, in queue order.
    """
    from sklearn.neighbors import NearestNeighbors

    scores = np.asarray(scores, dtype=float)
    n = len(scores)
    by_score = np.lexsort((np.arange(n), -scores))
    pool = by_score[: min(n, max(queue_pool, queue_length))]
    length = min(queue_length, len(pool))
    if length == 0 or len(pool) < 2:
        return by_score
    Z = np.asarray(X, dtype=np.float64)[pool]
    k = int(min(variety_neighbors + 1, len(pool)))
    dist, _ = NearestNeighbors(n_neighbors=k).fit(Z).kneighbors(Z)
    width = variety_width * float(np.median(dist[:, -1]))
    weight = np.log(np.maximum(scores[pool], 1e-12)) - np.log(max(float(np.median(scores)), 1e-12))
    weight = np.maximum(weight, 0.0) + 1e-9  # galaxies below the median keep their order
    likeness = np.zeros(len(pool))
    shown = np.zeros(len(pool), dtype=bool)
    order = np.empty(length, dtype=np.int64)
    for place in range(length):
        best = int(np.argmax(np.where(shown, -np.inf, weight * (1.0 - likeness))))
        order[place] = best
        shown[best] = True
        if width > 0:
            squared = ((Z - Z[best]) ** 2).sum(axis=1)
            likeness = np.maximum(likeness, np.exp(-squared / (2.0 * width * width)))
    queue = pool[order]
    rest = np.ones(n, dtype=bool)
    rest[queue] = False
    return np.concatenate([queue, by_score[rest[by_score]]])


def queue_ranks(order: np.ndarray) -> np.ndarray:
    """Place (from 1) of each row in the queue ``order``."""
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[np.asarray(order)] = np.arange(1, len(order) + 1)
    return ranks


class AnomalyQueue(BaseEstimator):
    """The weirdest-first queue as a scikit-learn style estimator.

    Parameters
    ----------
    anomaly_engine, anomaly_neighbors, rare_fraction, queue_length, queue_pool,
    variety_neighbors, variety_width, random_state
        As in ``raregal.config.DISCOVERY_PARAMETERS`` (their defaults and constraints are there).

    Attributes
    ----------
    scores_ : ndarray of float, shape (n,)
        Anomaly score of each row (median 1; higher is weirder).
    order_ : ndarray of int, shape (n,)
        Rows in queue order.
    ranks_ : ndarray of int, shape (n,)
        Place of each row in the queue, from 1.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(500, 8))
    >>> queue = AnomalyQueue(queue_length=20).fit(X)
    >>> queue.order_[:3].shape
    (3,)
    """

    def __init__(
        self,
        *,
        anomaly_engine: str = DISCOVERY_DEFAULTS["anomaly_engine"],
        anomaly_neighbors: int = DISCOVERY_DEFAULTS["anomaly_neighbors"],
        rare_fraction: float = DISCOVERY_DEFAULTS["rare_fraction"],
        queue_length: int = DISCOVERY_DEFAULTS["queue_length"],
        queue_pool: int = DISCOVERY_DEFAULTS["queue_pool"],
        variety_neighbors: int = DISCOVERY_DEFAULTS["variety_neighbors"],
        variety_width: float = DISCOVERY_DEFAULTS["variety_width"],
        random_state: int = DISCOVERY_DEFAULTS["random_state"],
    ) -> None:
        self.anomaly_engine = anomaly_engine
        self.anomaly_neighbors = anomaly_neighbors
        self.rare_fraction = rare_fraction
        self.queue_length = queue_length
        self.queue_pool = queue_pool
        self.variety_neighbors = variety_neighbors
        self.variety_width = variety_width
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: None = None) -> AnomalyQueue:
        """Score every row of ``X`` and build the queue; returns self."""
        params = validate_discovery(self.get_params())
        X = _check_matrix(X)
        self.scores_ = anomaly_scores(X, params)
        self.order_ = variety_queue(
            X, self.scores_, params["queue_length"], params["queue_pool"],
            params["variety_neighbors"], params["variety_width"],
        )  # fmt: skip
        self.ranks_ = queue_ranks(self.order_)
        self.n_features_in_ = X.shape[1]
        return self


def anomaly_scores(X: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Scores of the engine named by ``params['anomaly_engine']`` (checked parameters)."""
    if params["anomaly_engine"] == "isolation_forest":
        return isolation_forest_scores(X, params["random_state"])
    return rarity_scores(X, params["anomaly_neighbors"], params["rare_fraction"],
                         params["random_state"])  # fmt: skip
