"""UMAP's fuzzy simplicial set of a neighbour graph, with numba kernels cached on disk.

The same computation as umap-learn's ``fuzzy_simplicial_set`` (given the neighbours):
``smooth_knn_dist`` finds each row's ``rho`` (distance to its nearest non-identical neighbour)
and ``sigma`` (so that the memberships sum to ``log2(n_neighbors)``); each directed edge gets
``exp(-(d - rho) / sigma)``; the graph is the fuzzy union ``A + A^T - A * A^T``.

Why not call umap-learn's functions: they are compiled anew in every process (they are not
``cache=True``), which cost 10-15 s of every ``raregal search``; umap-learn's import alone takes
2-6 s; and its fuzzy union goes through several scipy sparse copies on one thread. Here the
kernels are ``cache=True`` (kept in ``NUMBA_CACHE_DIR`` or next to the package), the union is
built in parallel directly as a CSR matrix with sorted rows, and umap-learn is not imported.
``tests/reduce/test_fuzzy_graph.py`` checks every step against umap-learn.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse

SMOOTH_K_TOLERANCE = 1e-5
MIN_K_DIST_SCALE = 1e-3
"""umap-learn's constants of ``smooth_knn_dist``."""
FLOAT32_MAX = np.float32(np.finfo(np.float32).max)


@numba.njit(parallel=True, cache=True, locals={"psum": numba.float32, "lo": numba.float32,
            "mid": numba.float32, "hi": numba.float32})  # fmt: skip
def _smooth_knn_dist(distances, k, n_iter, local_connectivity, bandwidth):
    target = np.log2(k) * bandwidth
    n, width = distances.shape
    rho = np.zeros(n, dtype=np.float32)
    sigma = np.zeros(n, dtype=np.float32)
    mean_distances = np.mean(distances)
    index = int(np.floor(local_connectivity))
    interpolation = local_connectivity - index
    for i in numba.prange(n):
        n_positive = 0
        for j in range(width):
            if distances[i, j] > 0.0:
                n_positive += 1
        if n_positive >= local_connectivity:
            # the index-th and (index+1)-th positive distances (rows are sorted)
            seen = 0
            below = np.float32(0.0)
            above = np.float32(0.0)
            for j in range(width):
                if distances[i, j] > 0.0:
                    seen += 1
                    if seen == index:
                        below = distances[i, j]
                    if seen == index + 1:
                        above = distances[i, j]
                        break
            if index > 0:
                rho[i] = below
                if interpolation > SMOOTH_K_TOLERANCE:
                    rho[i] += interpolation * (above - below)
            else:
                rho[i] = interpolation * above
        elif n_positive > 0:
            largest = np.float32(0.0)
            for j in range(width):
                largest = max(largest, distances[i, j])
            rho[i] = largest
        lo = 0.0
        hi = FLOAT32_MAX
        mid = 1.0
        for _ in range(n_iter):
            psum = 0.0
            for j in range(1, width):
                d = distances[i, j] - rho[i]
                if d > 0:
                    psum += np.exp(-(d / mid))
                else:
                    psum += 1.0
            if np.fabs(psum - target) < SMOOTH_K_TOLERANCE:
                break
            if psum > target:
                hi = mid
                mid = (lo + hi) / 2.0
            else:
                lo = mid
                if hi >= FLOAT32_MAX:
                    mid *= 2
                else:
                    mid = (lo + hi) / 2.0
        sigma[i] = mid
        if rho[i] > 0.0:
            row_mean = np.float32(0.0)
            for j in range(width):
                row_mean += distances[i, j]
            row_mean /= width
            if sigma[i] < MIN_K_DIST_SCALE * row_mean:
                sigma[i] = MIN_K_DIST_SCALE * row_mean
        elif sigma[i] < MIN_K_DIST_SCALE * mean_distances:
            sigma[i] = MIN_K_DIST_SCALE * mean_distances
    return sigma, rho


def smooth_knn_dist(
    distances: np.ndarray,
    k: float,
    n_iter: int = 64,
    local_connectivity: float = 1.0,
    bandwidth: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """umap-learn's ``smooth_knn_dist``: each row's ``sigma`` and ``rho`` (float32).

    Parameters
    ----------
    distances : ndarray of shape (n, n_neighbors)
        Each row's sorted neighbour distances (itself first, at 0, when the graph includes it).
    k : float
        The target: memberships sum to ``log2(k) * bandwidth``.
    n_iter, local_connectivity, bandwidth
        As in umap-learn.
    """
    distances = np.ascontiguousarray(distances, dtype=np.float32)
    return _smooth_knn_dist(distances, float(k), int(n_iter), float(local_connectivity),
                            float(bandwidth))  # fmt: skip


@numba.njit(parallel=True, cache=True)
def _memberships(indices, distances, sigmas, rhos, bipartite):
    n, width = indices.shape
    values = np.zeros((n, width), dtype=np.float32)
    for i in numba.prange(n):
        for j in range(width):
            k = indices[i, j]
            if k == -1:
                continue
            if not bipartite and k == i:
                values[i, j] = 0.0
            elif distances[i, j] - rhos[i] <= 0.0 or sigmas[i] == 0.0:
                values[i, j] = 1.0
            else:
                values[i, j] = np.exp(-((distances[i, j] - rhos[i]) / sigmas[i]))
    return values


def memberships(
    indices: np.ndarray,
    distances: np.ndarray,
    sigmas: np.ndarray,
    rhos: np.ndarray,
    bipartite: bool = False,
) -> np.ndarray:
    """Membership of each directed edge, shape of ``indices`` (umap-learn's
    ``compute_membership_strengths``; a row's edge to itself is 0 unless ``bipartite``; a
    missing neighbour, index -1, is 0)."""
    return _memberships(np.ascontiguousarray(indices), np.ascontiguousarray(distances, np.float32),
                        sigmas, rhos, bool(bipartite))  # fmt: skip


@numba.njit(cache=True)
def _transpose_counts(indices, values, n):
    counts = np.zeros(n + 1, dtype=np.int64)
    rows, width = indices.shape
    for i in range(rows):
        for j in range(width):
            if values[i, j] != 0.0:
                counts[indices[i, j] + 1] += 1
    return np.cumsum(counts)


@numba.njit(cache=True)
def _transpose_fill(indices, values, indptr):
    """The directed graph's transpose as CSR (rows sorted, since rows are visited in order)."""
    fill = indptr[:-1].copy()
    cols = np.empty(indptr[-1], dtype=np.int32)
    data = np.empty(indptr[-1], dtype=np.float32)
    rows, width = indices.shape
    for i in range(rows):
        for j in range(width):
            if values[i, j] != 0.0:
                at = fill[indices[i, j]]
                cols[at] = i
                data[at] = values[i, j]
                fill[indices[i, j]] += 1
    return cols, data


@numba.njit(parallel=True, cache=True)
def _union_rows(order, indices, values, t_indptr, t_cols, t_data, indptr, cols, data, count):
    """Merge each row of A (columns in ``order``) with the same row of A^T: A + A^T - A*A^T.

    With ``count`` only the lengths are written (to ``indptr[i + 1]``); else the entries.
    """
    n, width = indices.shape
    for i in numba.prange(n):
        a = 0
        t = t_indptr[i]
        t_end = t_indptr[i + 1]
        out = 0 if count else indptr[i]
        while a < width or t < t_end:
            if a < width and values[i, order[i, a]] == 0.0:
                a += 1
                continue
            col_a = indices[i, order[i, a]] if a < width else 2147483647
            col_t = t_cols[t] if t < t_end else 2147483647
            if col_a < col_t:
                value = values[i, order[i, a]]
                column = col_a
                a += 1
            elif col_t < col_a:
                value = t_data[t]
                column = col_t
                t += 1
            else:
                x = values[i, order[i, a]]
                y = t_data[t]
                value = x + y - x * y
                column = col_a
                a += 1
                t += 1
            if value != 0.0:
                if not count:
                    cols[out] = column
                    data[out] = value
                out += 1
        if count:
            indptr[i + 1] = out


def fuzzy_union(indices: np.ndarray, values: np.ndarray, n: int) -> scipy.sparse.csr_matrix:
    """The symmetric fuzzy graph ``A + A^T - A * A^T`` of the directed memberships.

    ``A[i, indices[i, j]] = values[i, j]``; a row must not name one column twice (neighbour
    lists never do). Returns a CSR matrix of shape (n, n), float32, rows sorted, no zeros.
    """
    indices = np.ascontiguousarray(indices, dtype=np.int32)
    values = np.ascontiguousarray(values, dtype=np.float32)
    order = np.argsort(indices, axis=1, kind="stable").astype(np.int32)
    t_indptr = _transpose_counts(indices, values, n)
    t_cols, t_data = _transpose_fill(indices, values, t_indptr)
    indptr = np.zeros(n + 1, dtype=np.int64)
    empty_i, empty_f = np.empty(0, np.int32), np.empty(0, np.float32)
    _union_rows(order, indices, values, t_indptr, t_cols, t_data, indptr, empty_i, empty_f, True)
    np.cumsum(indptr, out=indptr)
    cols = np.empty(indptr[-1], dtype=np.int32)
    data = np.empty(indptr[-1], dtype=np.float32)
    _union_rows(order, indices, values, t_indptr, t_cols, t_data, indptr, cols, data, False)
    graph = scipy.sparse.csr_matrix((data, cols, indptr), shape=(n, n))
    graph.has_sorted_indices = True
    return graph


def fuzzy_simplicial_set(
    indices: np.ndarray, distances: np.ndarray, n_neighbors: int
) -> scipy.sparse.csr_matrix:
    """umap-learn's fuzzy simplicial set of a neighbour graph (``set_op_mix_ratio=1``,
    ``local_connectivity=1``), as a symmetric float32 CSR matrix with sorted rows.

    Parameters
    ----------
    indices : ndarray of int, shape (n, n_neighbors)
        Each row's neighbours, itself first (umap-learn's convention).
    distances : ndarray of shape (n, n_neighbors)
        Their distances, sorted along each row.
    n_neighbors : int
        UMAP's ``n_neighbors`` (the memberships of a row sum to ``log2(n_neighbors)``).
    """
    sigmas, rhos = smooth_knn_dist(distances, float(n_neighbors))
    values = memberships(indices, distances, sigmas, rhos)
    return fuzzy_union(indices, values, len(indices))
