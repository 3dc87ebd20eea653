"""raregal's fuzzy simplicial set against umap-learn's, step by step, on real neighbours."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from umap.umap_ import compute_membership_strengths, find_ab_params
from umap.umap_ import fuzzy_simplicial_set as umap_fuzzy_simplicial_set
from umap.umap_ import smooth_knn_dist as umap_smooth_knn_dist

from raregal.reduce.fuzzy_graph import (
    fuzzy_simplicial_set,
    fuzzy_union,
    memberships,
    smooth_knn_dist,
)
from raregal.reduce.layout import ab_params
from raregal.reduce.neighbours import hnsw_neighbors
from raregal.synthetic import make_representations


@pytest.fixture(scope="module")
def neighbours():
    """Neighbours of 2,000 representations, one row duplicated (distance 0 to a neighbour)."""
    df = make_representations(2000, n_features=16, seed=2, group_sizes=(100, 60))
    X = df.filter(like="feat_").to_numpy(np.float32).copy()
    X[7] = X[8]
    indices, dists = hnsw_neighbors(X, 15, n_threads=1)
    return X, indices, dists


@pytest.mark.parametrize("local_connectivity", [1.0, 0.0])
def test_smooth_knn_dist_is_umap_learns(neighbours, local_connectivity):
    _, _, dists = neighbours
    sigma, rho = smooth_knn_dist(dists, 15, local_connectivity=local_connectivity)
    u_sigma, u_rho = umap_smooth_knn_dist(dists, 15.0, local_connectivity=local_connectivity)
    np.testing.assert_allclose(sigma, u_sigma, rtol=1e-6)
    np.testing.assert_allclose(rho, u_rho, rtol=1e-6)
    assert (rho[7] > 0) == (local_connectivity == 1.0)  # the duplicate skips its 0 distance


@pytest.mark.parametrize("bipartite", [False, True])
def test_memberships_are_umap_learns(neighbours, bipartite):
    _, indices, dists = neighbours
    sigma, rho = smooth_knn_dist(dists, 15)
    values = memberships(indices, dists, sigma, rho, bipartite=bipartite)
    _, _, u_values, _ = compute_membership_strengths(indices, dists, sigma, rho,
                                                     bipartite=bipartite)  # fmt: skip
    np.testing.assert_allclose(values.ravel(), u_values, rtol=1e-6)
    assert (values[:, 0] == 0).all() != bipartite  # a row's edge to itself counts only across


def test_graph_is_umap_learns(neighbours):
    """Same entries, same values (the union in float32 as umap-learn computes it)."""
    X, indices, dists = neighbours
    ours = fuzzy_simplicial_set(indices, dists, 15)
    theirs, _, _ = umap_fuzzy_simplicial_set(X, 15, None, "euclidean", {}, indices, dists)
    theirs = theirs.tocsr()
    assert ours.dtype == np.float32 and ours.has_sorted_indices
    assert ours.nnz == theirs.nnz
    assert abs(ours - theirs).max() < 1e-6
    assert abs(ours - ours.T).max() == 0  # symmetric
    assert (ours.diagonal() == 0).all()


def test_union_of_a_tiny_graph():
    """A -> B with 0.5 and B -> A with 0.5 join to 0.75; one-way edges keep their weight."""
    indices = np.array([[0, 1, 2], [1, 0, 2], [2, 0, 1]])
    values = np.array([[0, 0.5, 0.2], [0, 0.5, 0], [0, 0, 0]], dtype=np.float32)
    graph = fuzzy_union(indices, values, 3).toarray()
    expected = np.array([[0, 0.75, 0.2], [0.75, 0, 0], [0.2, 0, 0]], dtype=np.float32)
    np.testing.assert_allclose(graph, expected)
    assert isinstance(fuzzy_union(indices, values, 3), scipy.sparse.csr_matrix)


def test_curve_parameters_are_umap_learns():
    for min_dist in (0.0, 0.1, 0.5):
        np.testing.assert_allclose(ab_params(1.0, min_dist), find_ab_params(1.0, min_dist))
