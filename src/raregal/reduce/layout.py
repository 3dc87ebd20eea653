"""UMAP's layout optimisation (umap-learn's SGD), parallel over vertices, in float32.

This optimises umap-learn's objective with umap-learn's schedule and update rule: each edge of
the fuzzy graph is sampled in proportion to its weight (``epochs_per_sample``); each sample pulls
the two ends together with the gradient of ``1 / (1 + a d^(2b))`` (each component clipped to
[-4, 4]), then pushes the head away from ``negative_sample_rate`` random vertices; the learning
rate falls linearly to 0. When fitting, both ends of an edge move, as in umap-learn.

What differs from umap-learn's kernel is how the work is arranged, for speed:

- The loop runs over vertices (CSR rows) on every core. Like umap-learn's own parallel kernel it
  is lock-free ("Hogwild"): two threads may touch one row at the same moment, rarely, so a run
  on several threads differs slightly from the next; on one thread it is reproducible. (A
  variant that moved each vertex only from its own thread, reproducible on any number of
  threads, split small groups into more leaf clusters than umap-learn: see docs/benchmarks.md.)
- Every vertex draws its negative samples from its own random stream (splitmix64), and the rows
  of the next negative sample and of the next edge's tail are prefetched while the current one
  is computed: at 632k vertices the random reads otherwise take 40% of the time.
- Only the edges due in an epoch do work; arithmetic and the schedule are in float32, with
  fast math that does not reassociate (``FAST_MATH``), so that a run is reproducible.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse

from raregal.reduce.prefetch import prefetch_row

CLIP = 4.0
"""umap-learn's bound on each gradient component."""


def epochs_per_sample(
    weights: np.ndarray, n_epochs: int, max_weight: float | None = None
) -> np.ndarray:
    """Epochs between two samples of each edge: the heaviest edge (or an edge of ``max_weight``,
    when given) is sampled every epoch."""
    weights = np.asarray(weights, dtype=np.float64)
    result = np.full(len(weights), -1.0)
    top = weights.max() if max_weight is None else max_weight
    samples = n_epochs * weights / top
    positive = samples > 0
    result[positive] = n_epochs / samples[positive]
    return result.astype(np.float32)


def prune_graph(
    graph: scipy.sparse.spmatrix, n_epochs: int, max_weight: float | None = None
) -> scipy.sparse.csr_matrix:
    """Drop the edges too light to be sampled once in ``n_epochs`` (umap-learn's rule: lighter
    than the heaviest edge, or ``max_weight`` when given, over ``n_epochs``)."""
    csr = scipy.sparse.csr_matrix(graph, dtype=np.float32, copy=True)
    csr.sum_duplicates()
    if csr.nnz == 0:
        return csr
    top = csr.data.max() if max_weight is None else max_weight
    csr.data[csr.data < top / float(n_epochs)] = 0.0
    csr.eliminate_zeros()
    csr.sort_indices()
    return csr


def rescale_init(init: np.ndarray) -> np.ndarray:
    """Scale each axis of an initial layout to [0, 10], as umap-learn does before optimising."""
    low, high = init.min(axis=0), init.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return np.ascontiguousarray(10.0 * (init - low) / span, dtype=np.float32)


@numba.njit(cache=True)
def _splitmix64(state: np.uint64) -> np.uint64:
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True)
def _seed_streams(seed: int, n: int) -> np.ndarray:
    streams = np.empty(n, dtype=np.uint64)
    base = _splitmix64(np.uint64(seed))
    for i in range(n):
        streams[i] = _splitmix64(base ^ np.uint64(i))
    return streams


@numba.njit(cache=True)
def row_streams(seed: int, keys: np.ndarray) -> np.ndarray:
    """Random streams keyed by ``keys`` (uint64, one per row) instead of by row number, so that a
    row draws the same samples wherever it stands in a batch."""
    streams = np.empty(len(keys), dtype=np.uint64)
    base = _splitmix64(np.uint64(seed))
    for i in range(len(keys)):
        streams[i] = _splitmix64(base ^ keys[i])
    return streams


@numba.njit(cache=True)
def row_keys(words: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row of ``words`` (uint32, shape (n, k)): the same row, the same key."""
    keys = np.empty(words.shape[0], dtype=np.uint64)
    for i in range(words.shape[0]):
        state = np.uint64(0x84222325CBF29CE4)
        for j in range(words.shape[1]):
            state = _splitmix64(state ^ np.uint64(words[i, j]))
        keys[i] = state
    return keys


@numba.njit(inline="always")
def _clip(value: float) -> float:
    return min(max(value, np.float32(-CLIP)), np.float32(CLIP))


FAST_MATH = {"nnan", "ninf", "nsz", "arcp", "afn", "contract"}
"""LLVM's fast-math flags less ``reassoc``: with it, a kernel compiled in this process and the
same kernel loaded from numba's cache gave different layouts on one thread (a first run differed
from every later one); without it they agree, at the same speed (100k rows, 100 epochs)."""


@numba.njit(parallel=True, fastmath=FAST_MATH, cache=True)
def _epoch(
    head, tail_rows, indptr, tail, per_sample, next_sample, per_negative, next_negative,
    streams, a, b, gamma, alpha, epoch, move_tail,
):  # fmt: skip
    """One epoch over the rows of ``head`` in parallel: each due edge pulls its head towards its
    tail in ``tail_rows`` (and, with ``move_tail``, the tail towards the head), then pushes the
    head away from negative samples drawn from ``tail_rows`` (``head`` itself when fitting)."""
    n_rows, dim = head.shape
    n_tails = tail_rows.shape[0]
    one = np.float32(1.0)
    pull = np.float32(-2.0) * a * b
    push = np.float32(2.0) * gamma * b
    for i in numba.prange(n_rows):
        state = _splitmix64(streams[i])
        ahead = np.int64(((state >> np.uint64(32)) * np.uint64(n_tails)) >> np.uint64(32))
        prefetch_row(tail_rows, ahead)
        for e in range(indptr[i], indptr[i + 1]):
            if next_sample[e] > epoch:
                continue
            k = tail[e]
            if e + 1 < indptr[i + 1]:
                prefetch_row(tail_rows, tail[e + 1])
            dist2 = np.float32(0.0)
            for d in range(dim):
                diff = head[i, d] - tail_rows[k, d]
                dist2 += diff * diff
            if dist2 > np.float32(0.0):
                power = np.exp(b * np.log(dist2))
                coeff = pull * (power / dist2) / (a * power + one)
                for d in range(dim):
                    step = alpha * _clip(coeff * (head[i, d] - tail_rows[k, d]))
                    head[i, d] += step
                    if move_tail:
                        tail_rows[k, d] -= step
            next_sample[e] += per_sample[e]
            n_negative = int((epoch - next_negative[e]) / per_negative[e])
            for _ in range(n_negative):
                k = ahead
                state = _splitmix64(state)
                ahead = np.int64(((state >> np.uint64(32)) * np.uint64(n_tails)) >> np.uint64(32))
                prefetch_row(tail_rows, ahead)
                dist2 = np.float32(0.0)
                for d in range(dim):
                    diff = head[i, d] - tail_rows[k, d]
                    dist2 += diff * diff
                if dist2 <= np.float32(0.0):
                    continue
                power = np.exp(b * np.log(dist2))
                coeff = push / ((np.float32(0.001) + dist2) * (a * power + one))
                for d in range(dim):
                    head[i, d] += alpha * _clip(coeff * (head[i, d] - tail_rows[k, d]))
            next_negative[e] += n_negative * per_negative[e]
        streams[i] = state


def _run_epochs(
    current: np.ndarray, others: np.ndarray | None, graph: scipy.sparse.csr_matrix,
    n_epochs: int, a: float, b: float, gamma: float, negative_sample_rate: int,
    initial_alpha: float, random_state: int | None, max_weight: float | None = None,
    streams: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """The SGD loop; ``others`` None means the graph joins ``current`` to itself (a fit)."""
    per_sample = epochs_per_sample(graph.data, n_epochs, max_weight)
    per_negative = (per_sample / negative_sample_rate).astype(np.float32)
    next_sample, next_negative = per_sample.copy(), per_negative.copy()
    fitting = others is None
    tail_rows = current if fitting else np.ascontiguousarray(others, np.float32)
    seed = 0 if random_state is None else int(random_state)
    streams = _seed_streams(seed, len(current)) if streams is None else streams.copy()
    indptr, tail = graph.indptr.astype(np.int64), graph.indices.astype(np.int32)
    a32, b32, gamma32 = np.float32(a), np.float32(b), np.float32(gamma)
    for epoch in range(n_epochs):
        alpha = np.float32(initial_alpha * (1.0 - epoch / n_epochs))
        _epoch(current, tail_rows, indptr, tail, per_sample, next_sample, per_negative,
               next_negative, streams, a32, b32, gamma32, alpha, np.float32(epoch),
               fitting)  # fmt: skip
    return current


def optimize_layout(
    init: np.ndarray,
    graph: scipy.sparse.spmatrix,
    n_epochs: int,
    a: float,
    b: float,
    gamma: float = 1.0,
    negative_sample_rate: int = 5,
    initial_alpha: float = 1.0,
    random_state: int | None = 0,
) -> np.ndarray:
    """Optimise a layout of the fuzzy graph ``graph`` from ``init`` (rescaled to [0, 10]).

    Parameters
    ----------
    init : ndarray of shape (n, n_components)
        Initial positions.
    graph : sparse matrix of shape (n, n)
        umap-learn's fuzzy simplicial set (symmetric).
    n_epochs : int
        Passes over the schedule; edges lighter than ``max / n_epochs`` are dropped first.
    a, b : float
        The curve's parameters (``umap.umap_.find_ab_params(spread, min_dist)``).
    gamma, negative_sample_rate, initial_alpha
        umap-learn's ``repulsion_strength``, ``negative_sample_rate`` and ``learning_rate``.
    random_state : int or None, default=0
        Seed of the negative samples; runs on one thread are reproducible.

    Returns
    -------
    ndarray of float32, shape (n, n_components)
    """
    if graph.shape[0] != graph.shape[1] or graph.shape[0] != len(init):
        raise ValueError(
            f"graph of shape {graph.shape} does not match an initial layout of {len(init)} rows"
        )
    current = rescale_init(np.asarray(init, dtype=np.float32))
    return _run_epochs(current, None, prune_graph(graph, n_epochs), n_epochs, a, b, gamma,
                       negative_sample_rate, initial_alpha, random_state)  # fmt: skip


def place_points(
    init: np.ndarray,
    graph: scipy.sparse.spmatrix,
    reference: np.ndarray,
    n_epochs: int,
    a: float,
    b: float,
    gamma: float = 1.0,
    negative_sample_rate: int = 5,
    initial_alpha: float = 0.25,
    random_state: int | None = 0,
    max_weight: float | None = None,
    keys: np.ndarray | None = None,
) -> np.ndarray:
    """Place new points in a fitted layout ``reference``, which stays fixed (umap-learn's
    ``transform``): each new point is pulled towards its fuzzy neighbours among the fitted
    points (``graph``, new x fitted) and pushed away from random fitted points.

    ``initial_alpha`` defaults to umap-learn's transform rate (a quarter of the fit's).
    Returns float32 positions of shape (n_new, n_components), independent of the thread count.

    By default, as in umap-learn, the sampling schedule is scaled to the batch's heaviest edge
    and a point's random stream to its row number, so a point lands differently in another
    batch (lmcinnes/umap#566). With ``max_weight`` (the schedule's scale, e.g. 1.0, the largest
    membership) and ``keys`` (one uint64 per row, e.g. ``row_keys`` of its input) each point is
    placed from its own edges and stream only: the same wherever and with whatever it comes.
    """
    if graph.shape != (len(init), len(reference)):
        raise ValueError(
            f"graph of shape {graph.shape} does not join {len(init)} new points to "
            f"{len(reference)} fitted ones"
        )
    current = np.array(init, dtype=np.float32, order="C")
    seed = 0 if random_state is None else int(random_state)
    streams = None if keys is None else row_streams(seed, np.asarray(keys, dtype=np.uint64))
    return _run_epochs(current, reference, prune_graph(graph, n_epochs, max_weight), n_epochs,
                       a, b, gamma, negative_sample_rate, initial_alpha, random_state,
                       max_weight, streams)  # fmt: skip
