"""The spanning tree from chunked core distances against fast_hdbscan's own and brute force."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from fast_hdbscan.hdbscan import compute_minimum_spanning_tree, fast_hdbscan
from scipy.sparse.csgraph import minimum_spanning_tree as scipy_mst
from scipy.spatial.distance import cdist
from sklearn.metrics import adjusted_rand_score

from raregal.cluster import boruvka
from raregal.cluster.boruvka import core_distances, minimum_spanning_tree


@pytest.fixture(scope="module")
def points():
    """1,500 points in 5-D: a broad bulk and two tight groups (a UMAP layout's look)."""
    rng = np.random.default_rng(3)
    return np.vstack([rng.normal(0, 1, (1300, 5)), rng.normal(2, 0.1, (120, 5)),
                      rng.normal(-2, 0.1, (80, 5))]).astype(np.float32)  # fmt: skip


def test_core_distances_are_brute_force(points, monkeypatch):
    """Chunked (small chunks here) and exact: the (min_samples + 1)-th distance, self counted."""
    monkeypatch.setattr(boruvka, "CHUNK_ROWS", 400)
    core, neighbours, distances = core_distances(points, 20, n_threads=2, first=8)
    d2 = cdist(points, points, "sqeuclidean")
    np.testing.assert_allclose(core, np.sort(d2, axis=1)[:, 20], rtol=1e-4)
    assert neighbours.shape == (1500, 8) and (neighbours[:, 0] == np.arange(1500)).all()
    np.testing.assert_allclose(distances, np.sort(d2, axis=1)[:, :8], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("min_samples", [1, 10, 40])
def test_spanning_tree_weighs_as_the_exact_one(points, min_samples):
    """An MST's total weight is unique (edges may differ only between ties): ours, fast_hdbscan's
    and scipy's over the dense mutual-reachability graph all weigh the same."""
    ours, our_core = minimum_spanning_tree(points.astype(np.float64), min_samples,
                                           numba.get_num_threads())  # fmt: skip
    theirs, _, their_core = compute_minimum_spanning_tree(
        points.astype(np.float64), min_samples=min_samples, reproducible=True
    )
    d = cdist(points, points)
    core = np.sort(d, axis=1)[:, min_samples] if min_samples > 1 else np.zeros(len(points))
    reach = np.maximum(d, np.maximum(core[:, None], core[None, :]))
    np.fill_diagonal(reach, 0)
    exact = scipy_mst(reach).sum()
    assert ours.shape == (1499, 3)
    np.testing.assert_allclose(our_core, their_core, rtol=1e-5)  # what the run folder keeps
    assert ours[:, 2].sum() == pytest.approx(theirs[:, 2].sum(), rel=1e-5)
    assert ours[:, 2].sum() == pytest.approx(exact, rel=1e-4)


def test_leaves_are_fast_hdbscans(points):
    from fast_hdbscan.hdbscan import clusters_from_spanning_tree

    mst, _ = minimum_spanning_tree(points.astype(np.float64), 15, numba.get_num_threads())
    ours = clusters_from_spanning_tree(mst, min_cluster_size=10, cluster_selection_method="leaf")
    theirs = fast_hdbscan(points.astype(np.float64), min_samples=15, min_cluster_size=10,
                          cluster_selection_method="leaf", reproducible=True)  # fmt: skip
    assert adjusted_rand_score(ours[0], theirs[0]) == 1.0


def test_rounds_in_stages_give_the_same_tree_on_any_thread_count(points, monkeypatch):
    """Small stages (many bound updates a round) and 1 or 2 threads: the very same edges, and
    the weight of the exact tree (each point's query depends on the data alone)."""
    monkeypatch.setattr(boruvka, "FIRST_STAGE", 64)
    trees = []
    for threads in (1, 2):
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            trees.append(minimum_spanning_tree(points, 25, threads)[0])
        finally:
            numba.set_num_threads(previous)
    np.testing.assert_array_equal(trees[0], trees[1])
    theirs, _, _ = compute_minimum_spanning_tree(points.astype(np.float64), min_samples=25,
                                                 reproducible=True)  # fmt: skip
    assert trees[0][:, 2].sum() == pytest.approx(theirs[:, 2].sum(), rel=1e-5)
