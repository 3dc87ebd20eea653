"""Fit-on-sample: UMAP fitted on a random sample, the other galaxies placed by ``transform``.

A full UMAP fit needs the neighbour graph of every galaxy in memory at once; at 10^7 to 10^9
galaxies that no longer fits one machine. ``SampleFitReducer`` wraps a reduction engine that can
place new points (raregal, umap-learn, cuML): it fits the engine on ``fit_sample_size`` galaxies
drawn at random (seeded), then transforms the others in chunks of ``chunk_size`` rows, in ``n_jobs``
worker processes when asked. Rows come back in input order. The drawn rows depend only on
``n``, ``fit_sample_size`` and ``random_state``, so the 5-D and the 2-D reducers of one search
fit on the same galaxies and the second can reuse the first one's neighbour graph.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from raregal.errors import InputError

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 50_000
PARALLEL_FROM_CHUNKS = 8
"""With ``n_jobs=None``, transform in worker processes once the rest spans this many chunks
(below that, starting workers and copying the model to them costs more than it saves)."""


def sample_rows(n: int, fit_sample_size: int, random_state: int | None = 0) -> np.ndarray:
    """The sorted rows of the fitting sample: ``fit_sample_size`` of ``n``, drawn without
    replacement from a generator seeded with ``random_state``."""
    if fit_sample_size >= n:
        return np.arange(n)
    rng = np.random.default_rng([0 if random_state is None else random_state, 7])
    return np.sort(rng.choice(n, size=fit_sample_size, replace=False))


def _transform_chunk(model: Any, X: np.ndarray) -> np.ndarray:
    """One chunk through a fitted model (module level so that worker processes can run it)."""
    return np.asarray(model.transform(X), dtype=np.float32)


def transform_in_chunks(
    model: Any,
    X: np.ndarray,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    n_jobs: int = 1,
    progress: bool = False,
) -> np.ndarray:
    """``model.transform`` over ``X`` in chunks of ``chunk_size`` rows.

    Parameters
    ----------
    model : fitted estimator with ``transform``
        A fitted ``umap.UMAP`` (or cuML UMAP).
    X : ndarray of shape (n, d)
        Rows to place in the fitted embedding.
    chunk_size : int, default=50_000
        Rows per call; bounds the temporary neighbour arrays.
    n_jobs : int, default=1
        Worker processes (joblib's loky). 1 runs in this process; each worker receives a copy of
        the fitted model, so use it only when chunks take much longer than that copy.
    progress : bool, default=False
        Log each finished chunk.

    Returns
    -------
    ndarray of shape (n, n_components), float32
        Deterministic for a given ``chunk_size`` (umap-learn seeds each call with
        ``transform_seed``), whatever ``n_jobs``.
    """
    if chunk_size < 1:
        raise InputError(f"chunk_size must be a positive integer; got {chunk_size}")
    starts = list(range(0, len(X), chunk_size))
    if not starts:
        return np.empty((0, int(model.n_components)), dtype=np.float32)
    chunks = (X[s : s + chunk_size] for s in starts)
    if n_jobs == 1:
        results = []
        for i, chunk in enumerate(chunks):
            results.append(_transform_chunk(model, chunk))
            if progress:
                logger.info("transformed chunk %d of %d", i + 1, len(starts))
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs, backend="loky", verbose=5 if progress else 0)(
            delayed(_transform_chunk)(model, chunk) for chunk in chunks
        )
    return np.concatenate(results, axis=0)


class SampleFitReducer:
    """A reduction engine fitted on a random sample; the other rows are transformed.

    Follows the reduce engine contract (``raregal.reduce.stage.Reducer``: ``fit_transform``,
    ``timings``).

    Parameters
    ----------
    base : Reducer
        The engine to fit on the sample. It must have a ``keep_model`` attribute and, when that
        is set, expose its fitted model as ``model_`` with a ``transform`` method (the raregal,
        umap-learn and cuML engines do).
    fit_sample_size : int
        Galaxies in the fitting sample; when it is not smaller than N the base engine is simply
        fitted on every row.
    random_state : int or None, default=0
        Seed of the sample draw.
    chunk_size : int, default=50_000
        Rows per ``transform`` call.
    n_jobs : int or None, default=None
        Worker processes for the transform (see ``transform_in_chunks``); None uses
        ``raregal.settings.num_threads()`` workers when the rest spans at least
        ``PARALLEL_FROM_CHUNKS`` chunks, else this process.

    Attributes
    ----------
    sample_rows_ : ndarray of int
        Rows the base engine was fitted on (sorted).
    knn_ : object
        The base engine's neighbour graph of the sample (reusable by a second reducer fitted on
        the same sample).
    timings : dict
        ``fit_<step>`` for the base engine's steps, and ``transform`` (seconds).
    """

    name = "sample-fit"

    def __init__(
        self,
        base: Any,
        fit_sample_size: int,
        random_state: int | None = 0,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        n_jobs: int | None = None,
    ) -> None:
        self.base = base
        self.fit_sample_size = fit_sample_size
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.timings: dict[str, float] = {}

    @property
    def knn_(self) -> Any:
        return getattr(self.base, "knn_", None)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        if self.fit_sample_size < 2:
            raise InputError(
                f"fit_sample_size must be at least 2; got {self.fit_sample_size}",
                column="fit_sample_size",
            )
        base_name = getattr(self.base, "name", type(self.base).__name__)
        if not hasattr(self.base, "keep_model"):  # refuse before hours of fitting, not after
            raise InputError(
                f"reducer {base_name!r} cannot place new points (no transform); "
                "fit_sample_size needs 'raregal', 'umap-learn' or 'cuml'",
                column="reducer",
            )
        rows = sample_rows(n, self.fit_sample_size, self.random_state)
        self.sample_rows_ = rows
        self.base.keep_model = True
        logger.info("fitting %s on a sample of %d of %d galaxies", base_name, len(rows), n)
        fitted = self.base.fit_transform(X[rows])
        self.timings.update({f"fit_{k}": v for k, v in self.base.timings.items()})
        if len(rows) == n:
            return np.asarray(fitted, dtype=np.float32)
        model = getattr(self.base, "model_", None)
        if model is None or not hasattr(model, "transform"):
            raise InputError(
                f"reducer {base_name!r} cannot place new points (no transform); "
                "fit_sample_size needs 'raregal', 'umap-learn' or 'cuml'",
                column="reducer",
            )
        _exact_transform_without_index(model)
        rest = np.ones(n, dtype=bool)
        rest[rows] = False
        start = time.perf_counter()
        logger.info("transforming the other %d galaxies in chunks of %d", n - len(rows),
                    self.chunk_size)  # fmt: skip
        n_jobs = self.n_jobs
        if getattr(model, "parallel", False):  # its transform uses every core already
            n_jobs = 1
        elif n_jobs is None:
            from raregal.settings import num_threads

            many = n - len(rows) >= PARALLEL_FROM_CHUNKS * self.chunk_size
            n_jobs = num_threads() if many else 1
        placed = transform_in_chunks(model, X[rest], self.chunk_size, n_jobs, progress=True)
        self.timings["transform"] = round(time.perf_counter() - start, 3)
        self.base.model_ = None  # the fitted model holds the sample's graph: free it
        out = np.empty((n, fitted.shape[1]), dtype=np.float32)
        out[rows] = fitted
        out[rest] = placed
        return out


def _exact_transform_without_index(model: Any) -> None:
    """Let umap-learn place new points by exact distances when it has no search index.

    Fitted on precomputed neighbours without a search index (raregal finds them exactly below
    ``raregal.reduce.neighbours.SMALL_DATA`` rows), umap-learn refuses ``transform``; its own
    small-data path, exact distances to every fitted row, is what such a small sample calls for.
    """
    if getattr(model, "_knn_search_index", False) is None and hasattr(model, "_raw_data"):
        del model._knn_search_index
        model._small_data = True
