"""Search from a few examples: a class-balanced linear classifier of positives against the rest.

The model is a weighted ridge (least-squares) classifier on the standardised representations:
target 1 for the positives, 0 for the answered negatives and for every unlabelled galaxy (most
galaxies are not of the class sought: the positive-unlabelled setting). Unlabelled galaxies weigh
``unlabelled_weight``, answered negatives 1, and the positives together as much as all the others
(class balance). The penalty ``alpha`` is per unit of total weight, so it means the same at 10^4
and at 10^7 galaxies. The fit is closed-form: the weighted Gram matrix is the survey's (computed
once, in chunks) corrected by the few labelled rows, so a refit after each round of answers costs
one small linear solve and one pass of scoring, at any survey size.

Scores near 1 look like the positives, near 0 like the rest; 0.5 is the class-balanced boundary,
where ``uncertain_rows`` finds the candidates that teach the model most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator

from raregal.config import DISCOVERY_DEFAULTS, validate_discovery
from raregal.errors import InputError

CHUNK_ROWS = 262_144
BOUNDARY = 0.5


@dataclass
class Standardised:
    """Representations standardised by the survey's mean and spread, with their Gram matrix.

    Attributes
    ----------
    X : ndarray, shape (n, d)
        The raw representations (standardised on the fly, chunk by chunk).
    mean, scale : ndarray, shape (d,)
    gram : ndarray, shape (d + 1, d + 1)
        ``[Z, 1]^T [Z, 1]`` of the standardised rows ``Z`` with an intercept column.
    """

    X: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    gram: np.ndarray

    @classmethod
    def of(cls, X: np.ndarray) -> Standardised:
        """Standardise ``X`` (n, d) and compute its Gram matrix, in chunks."""
        X = np.asarray(X)
        n, d = X.shape
        shift = X[: min(n, 4096)].astype(np.float64).mean(axis=0)  # against cancellation
        total = np.zeros(d)
        raw = np.zeros((d, d))
        for start in range(0, n, CHUNK_ROWS):
            block = X[start : start + CHUNK_ROWS].astype(np.float64) - shift
            total += block.sum(axis=0)
            raw += block.T @ block
        offset = total / n
        mean = shift + offset
        centred = raw - n * np.outer(offset, offset)  # sum of (x - mean)(x - mean)^T
        scale = np.sqrt(np.maximum(np.diag(centred) / n, 0.0))
        scale[scale == 0] = 1.0
        gram = np.zeros((d + 1, d + 1))
        gram[:d, :d] = centred / np.outer(scale, scale)
        gram[d, d] = n  # the standardised columns sum to 0 against the intercept
        return cls(X, mean, scale, gram)

    @property
    def n(self) -> int:
        return len(self.X)

    def rows(self, rows: slice | np.ndarray) -> np.ndarray:
        """Standardised ``rows`` with the intercept column, float64."""
        block = (np.asarray(self.X[rows], dtype=np.float64) - self.mean) / self.scale
        return np.hstack([block, np.ones((len(block), 1))])

    def scores(self, coef: np.ndarray) -> np.ndarray:
        """``[Z, 1] @ coef`` for every row: the standardisation folded into the coefficients,
        one pass over the raw rows in their own precision."""
        weights = coef[:-1] / self.scale
        offset = float(coef[-1] - self.mean @ weights)
        weights = weights.astype(self.X.dtype if self.X.dtype.kind == "f" else np.float64)
        out = np.empty(self.n)
        for start in range(0, self.n, CHUNK_ROWS):
            out[start : start + CHUNK_ROWS] = self.X[start : start + CHUNK_ROWS] @ weights
        return out + offset


def check_examples(
    positive: np.ndarray, negative: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the positives and negatives as unique int arrays; InputError when they clash."""
    positive = np.unique(np.asarray(positive, dtype=np.int64).ravel())
    negative = np.unique(np.asarray(negative, dtype=np.int64).ravel())
    if len(positive) == 0:
        raise InputError("a search from examples needs at least one positive example",
                         column="positive", count=0)  # fmt: skip
    for name, rows in (("positive", positive), ("negative", negative)):
        bad = rows[(rows < 0) | (rows >= n)]
        if len(bad):
            raise InputError(f"{len(bad)} {name} row(s) outside 0..{n - 1} (e.g. {bad[0]})",
                             column=name, count=len(bad))  # fmt: skip
    both = np.intersect1d(positive, negative)
    if len(both):
        raise InputError(
            f"{len(both)} galaxy(ies) are both positive and negative examples (e.g. row "
            f"{both[0]})", column="negative", count=len(both),
        )  # fmt: skip
    return positive, negative


def fit_linear(
    data: Standardised,
    positive: np.ndarray,
    negative: np.ndarray,
    alpha: float = DISCOVERY_DEFAULTS["alpha"],
    unlabelled_weight: float = DISCOVERY_DEFAULTS["unlabelled_weight"],
) -> np.ndarray:
    """Coefficients (d + 1,: the last is the intercept) of the class-balanced ridge classifier.

    Parameters
    ----------
    data : Standardised
    positive, negative : ndarray of int
        Rows of the positive and negative examples (``check_examples``).
    alpha : float
        Ridge penalty per unit of total weight (the intercept is not penalised).
    unlabelled_weight : float
        Weight of an unlabelled galaxy as a negative (answered negatives weigh 1).
    """
    positive, negative = check_examples(positive, negative, data.n)
    if unlabelled_weight == 0 and len(negative) == 0:
        raise InputError("with unlabelled_weight=0 the model needs at least one negative example",
                         column="negative", count=0)  # fmt: skip
    n_unlabelled = data.n - len(positive) - len(negative)
    others = unlabelled_weight * n_unlabelled + len(negative)
    positive_weight = others / len(positive)
    labelled = np.concatenate([positive, negative])
    weights = np.concatenate([np.full(len(positive), positive_weight), np.ones(len(negative))])
    rows = data.rows(labelled)
    gram = unlabelled_weight * data.gram + (rows.T * (weights - unlabelled_weight)) @ rows
    penalty = alpha * (others + positive_weight * len(positive)) * np.eye(len(gram))
    penalty[-1, -1] = 0.0
    target = rows[: len(positive)].sum(axis=0) * positive_weight
    return np.linalg.solve(gram + penalty, target)


def ranking(scores: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """Rows best first: the positives, then the unlabelled by score, the negatives last."""
    tier = np.ones(len(scores), dtype=np.int8)
    tier[positive] = 0
    tier[negative] = 2
    return np.lexsort((np.arange(len(scores)), -scores, tier))


def uncertain_rows(scores: np.ndarray, candidates: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` of ``candidates`` whose scores are nearest the class-balanced boundary."""
    distance = np.abs(scores[candidates] - BOUNDARY)
    return candidates[np.lexsort((candidates, distance))[:n]]


def next_round(
    scores: np.ndarray,
    labelled: np.ndarray,
    round_size: int = DISCOVERY_DEFAULTS["round_size"],
    uncertain_share: float = DISCOVERY_DEFAULTS["uncertain_share"],
    eligible: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows to show next and why: the top-ranked unlabelled galaxies and the most uncertain.

    Parameters
    ----------
    scores : ndarray, shape (n,)
    labelled : ndarray of bool, shape (n,)
        Galaxies already answered (or given as examples).
    round_size : int
    uncertain_share : float
        Share of the round given to the candidates nearest the boundary.
    eligible : ndarray of bool, default=None
        Galaxies that may be shown (all when None).

    Returns
    -------
    rows : ndarray of int
    reasons : ndarray of str
        'top' or 'uncertain' for each row.
    """
    open_rows = ~np.asarray(labelled, dtype=bool)
    if eligible is not None:
        open_rows &= np.asarray(eligible, dtype=bool)
    candidates = np.flatnonzero(open_rows)
    candidates = candidates[np.lexsort((candidates, -scores[candidates]))]
    n_uncertain = round(round_size * uncertain_share)
    top = candidates[: round_size - n_uncertain]
    uncertain = uncertain_rows(scores, candidates[len(top) :], n_uncertain)
    rows = np.concatenate([top, uncertain])
    reasons = np.array(["top"] * len(top) + ["uncertain"] * len(uncertain), dtype=object)
    return rows, reasons


class ExampleSearch(BaseEstimator):
    """Search from examples as a scikit-learn style estimator.

    Parameters
    ----------
    alpha, unlabelled_weight, round_size, uncertain_share
        As in ``raregal.config.DISCOVERY_PARAMETERS`` (defaults and constraints are there).

    Attributes
    ----------
    scores_ : ndarray of float, shape (n,)
        Score of every row of the fitted ``X`` (near 1: like the positives).
    ranking_ : ndarray of int, shape (n,)
        Rows best first: positives, unlabelled by score, negatives last.
    coef_ : ndarray, shape (n_features,)
        Coefficients on the standardised features; ``intercept_`` the intercept.
    positive_, negative_ : ndarray of int
        The example rows used.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (500, 8)), rng.normal(4, 0.3, (20, 8))])
    >>> search = ExampleSearch().fit(X, positive=[500, 501, 502])
    >>> bool(np.isin(search.ranking_[:20], np.arange(500, 520)).all())
    True
    """

    def __init__(
        self,
        *,
        alpha: float = DISCOVERY_DEFAULTS["alpha"],
        unlabelled_weight: float = DISCOVERY_DEFAULTS["unlabelled_weight"],
        round_size: int = DISCOVERY_DEFAULTS["round_size"],
        uncertain_share: float = DISCOVERY_DEFAULTS["uncertain_share"],
    ) -> None:
        self.alpha = alpha
        self.unlabelled_weight = unlabelled_weight
        self.round_size = round_size
        self.uncertain_share = uncertain_share

    def fit(self, X: np.ndarray, positive: np.ndarray, negative: np.ndarray | None = None
            ) -> ExampleSearch:  # fmt: skip
        """Fit on rows ``positive`` (and ``negative``) of ``X`` and score every row; returns self.

        ``positive`` and ``negative`` are row indices or boolean masks of ``X``.
        """
        params = validate_discovery(self.get_params())
        X = np.asarray(X)
        if X.ndim != 2 or len(X) < 2:
            raise InputError(f"X must be a 2-D array with at least two rows; got shape {X.shape}")
        bad = int((~np.isfinite(X).all(axis=1)).sum())
        if bad:
            raise InputError(f"X has {bad} row(s) with NaN or inf values", column="X", count=bad)
        positive, negative = check_examples(_rows(positive, len(X)),
                                            _rows(negative, len(X)), len(X))  # fmt: skip
        data = Standardised.of(X)
        coef = fit_linear(data, positive, negative, params["alpha"], params["unlabelled_weight"])
        self.coef_, self.intercept_ = coef[:-1].copy(), float(coef[-1])
        self.scores_ = data.scores(coef)
        self.positive_, self.negative_ = positive, negative
        self.ranking_ = ranking(self.scores_, positive, negative)
        self.n_features_in_ = X.shape[1]
        return self

    def suggest(self) -> tuple[np.ndarray, np.ndarray]:
        """The next round to answer: rows and reasons (``next_round``) among the unlabelled."""
        if not hasattr(self, "scores_"):
            raise InputError("fit the search before asking for a round")
        labelled = np.zeros(len(self.scores_), dtype=bool)
        labelled[self.positive_] = True
        labelled[self.negative_] = True
        return next_round(self.scores_, labelled, self.round_size, self.uncertain_share)


def _rows(values: np.ndarray | None, n: int) -> np.ndarray:
    """Row indices from indices or a boolean mask of length ``n``."""
    if values is None:
        return np.empty(0, dtype=np.int64)
    array = np.asarray(values)
    if array.dtype == bool:
        if len(array) != n:
            raise InputError(f"a boolean mask of examples must have {n} entries; got {len(array)}")
        return np.flatnonzero(array)
    return array.astype(np.int64).ravel()
