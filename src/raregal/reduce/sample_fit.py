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
from collections.abc import Sequence
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
    map_components : int or None, default=None
        Lay out a map of this many dimensions with the fit when the base engine lays out maps
        from its own fit ('raregal': ``lays_out_map``): its map of the sample, and every other
        row placed in it from the neighbour search that placed it in the fit
        (``map_layout`` returns it).
    seeds : sequence of int, default=()
        More seeds of the fitted layout, laid out with the fit when the base engine shares its
        graph and start ('raregal': ``graph_`` and ``start_``): each a layout of the sample's
        graph from the fit's start, every other row placed in it from the same neighbour search
        (``seed_embeddings_``; ``raregal.reduce.seeds``).

    Attributes
    ----------
    sample_rows_ : ndarray of int
        Rows the base engine was fitted on (sorted).
    knn_ : object
        The base engine's neighbour graph of the sample (reusable by a second reducer fitted on
        the same sample).
    map_ : ndarray of float32, shape (n, map_components) or None
        The map laid out with the fit.
    seed_embeddings_ : list of ndarray of float32, shape (n, n_components), or None
        One layout per seed of ``seeds``, when laid out with the fit.
    timings : dict
        ``fit_<step>`` for the base engine's steps, ``transform``, and ``map_<step>`` (seconds).
    """

    name = "sample-fit"

    def __init__(
        self,
        base: Any,
        fit_sample_size: int,
        random_state: int | None = 0,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        n_jobs: int | None = None,
        map_components: int | None = None,
        seeds: Sequence[int] = (),
    ) -> None:
        self.base = base
        self.fit_sample_size = fit_sample_size
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.map_components = map_components
        self.seeds = seeds
        self.timings: dict[str, float] = {}
        self.map_: np.ndarray | None = None
        self.seed_embeddings_: list[np.ndarray] | None = None

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
        self.map_, self.seed_embeddings_ = None, None
        lays_out = self.map_components is not None and getattr(self.base, "lays_out_map", False)
        seed_layouts = self._seed_layouts_of_the_sample()
        if len(rows) == n:
            if lays_out:
                self.map_ = self.base.map_layout(self.map_components)
            self.seed_embeddings_ = seed_layouts
            return np.asarray(fitted, dtype=np.float32)
        model = getattr(self.base, "model_", None)
        if model is None or not hasattr(model, "transform"):
            raise InputError(
                f"reducer {base_name!r} cannot place new points (no transform); "
                "fit_sample_size needs 'raregal', 'umap-learn' or 'cuml'",
                column="reducer",
            )
        _exact_transform_without_index(model)
        sample_layouts: list[np.ndarray] = []
        has_map = lays_out and hasattr(model, "neighbour_graph")
        if hasattr(model, "neighbour_graph"):
            if has_map:
                sample_layouts.append(self.base.map_layout(self.map_components))
                self.timings.update({k: v for k, v in self.base.timings.items()
                                     if k.startswith("map_")})  # fmt: skip
            sample_layouts += seed_layouts or []
        if hasattr(self.base, "graph_"):
            self.base.graph_ = None  # every layout of the sample is made: free its graph
        rest = np.ones(n, dtype=bool)
        rest[rows] = False
        start = time.perf_counter()
        logger.info("transforming the other %d galaxies in chunks of %d", n - len(rows),
                    self.chunk_size)  # fmt: skip
        if sample_layouts:
            placed, others = self._place_in_all(model, X[rest], sample_layouts, has_map)
            full_layouts = []
            for layout, placed_rows in zip(sample_layouts, others, strict=True):
                full = np.empty((n, layout.shape[1]), dtype=np.float32)
                full[rows], full[rest] = layout, placed_rows
                full_layouts.append(full)
            if has_map:
                self.map_ = full_layouts.pop(0)
            if seed_layouts is not None:
                self.seed_embeddings_ = full_layouts
        else:
            n_jobs = self.n_jobs
            if getattr(model, "parallel", False):  # its transform uses every core already
                n_jobs = 1
            elif n_jobs is None:
                from raregal.settings import num_threads

                many = n - len(rows) >= PARALLEL_FROM_CHUNKS * self.chunk_size
                n_jobs = num_threads() if many else 1
            placed = transform_in_chunks(model, X[rest], self.chunk_size, n_jobs, progress=True)
        self.base.model_ = None  # the fitted model holds the sample's graph: free it
        self.timings["transform"] = round(time.perf_counter() - start, 3)
        out = np.empty((n, fitted.shape[1]), dtype=np.float32)
        out[rows] = fitted
        out[rest] = placed
        return out

    @property
    def lays_out_map(self) -> bool:
        """Whether the map was laid out with the fit (``map_components`` was given and the base
        engine lays out maps from its own fit, as 'raregal' does)."""
        return self.map_ is not None

    def _seed_layouts_of_the_sample(self) -> list[np.ndarray] | None:
        """The sample's layouts with ``seeds``, from the base fit's graph and start; None when
        there are no seeds or the base engine does not keep them."""
        graph, start = getattr(self.base, "graph_", None), getattr(self.base, "start_", None)
        if not self.seeds or graph is None or start is None:
            return None
        from raregal.reduce.raregal_umap import layout_graph

        layouts = []
        for seed in self.seeds:
            began = time.perf_counter()
            layouts.append(layout_graph(graph, start, self.base.n_epochs, self.base.min_dist,
                                        random_state=seed, n_threads=self.base.n_threads))
            self.timings[f"seed_{seed}_layout"] = round(time.perf_counter() - began, 3)
        return layouts

    def _place_in_all(
        self, model: Any, X: np.ndarray, sample_layouts: list[np.ndarray], has_map: bool
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Place the rows chunk by chunk in the fit and in each other layout of the sample (the
        map first when ``has_map``, then the other seeds), from one neighbour search per chunk
        (the search is most of a placement's cost). Returns the rows' positions in the fit and
        in each layout."""
        placed = np.empty((len(X), model.n_components), dtype=np.float32)
        others = [np.empty((len(X), layout.shape[1]), dtype=np.float32)
                  for layout in sample_layouts]  # fmt: skip
        starts = range(0, len(X), self.chunk_size)
        seconds = [0.0] * len(sample_layouts)
        for i, start in enumerate(starts):
            rows = slice(start, start + self.chunk_size)
            graph = model.neighbour_graph(X[rows])
            placed[rows] = model.place(graph)
            for j, (layout, out) in enumerate(zip(sample_layouts, others, strict=True)):
                clock = time.perf_counter()
                out[rows] = model.place(graph, layout)
                seconds[j] += time.perf_counter() - clock
            logger.info("placed chunk %d of %d", i + 1, len(starts))
        if has_map:
            self.timings["map_transform"] = round(seconds.pop(0), 3)
        if seconds:
            self.timings["seed_transform"] = round(sum(seconds), 3)
        return placed, others

    def map_layout(self, n_components: int, n_epochs: int | None = None) -> np.ndarray:
        """The map laid out with the fit: the base engine's map of the sample, the other rows
        placed in it from the neighbour graphs that placed them in the fit."""
        if self.map_ is None or self.map_.shape[1] != n_components:
            raise ValueError(f"no {n_components}-D map was laid out with this fit "
                             f"(map_components={self.map_components})")  # fmt: skip
        return self.map_


def _exact_transform_without_index(model: Any) -> None:
    """Let umap-learn place new points by exact distances when it has no search index.

    Fitted on precomputed neighbours without a search index (raregal finds them exactly below
    ``raregal.reduce.neighbours.SMALL_DATA`` rows), umap-learn refuses ``transform``; its own
    small-data path, exact distances to every fitted row, is what such a small sample calls for.
    """
    if getattr(model, "_knn_search_index", False) is None and hasattr(model, "_raw_data"):
        del model._knn_search_index
        model._small_data = True
