"""New points into a fitted condensed tree (hdbscan's approximate_predict, our read-out)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from raregal.cluster import cluster
from raregal.cluster.assign import assign_points, tree_index
from raregal.cluster.tree import CondensedTree
from raregal.constants import NOISE


def blobs(seed):
    """A broad 5-D bulk and three tight groups (as in test_stage), drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    centres = [[1.5] * 5, [-1.5] * 5, [1.5, -1.5, 1.5, -1.5, 0.0]]
    groups = [rng.normal(c, 0.08, (s, 5)) for c, s in zip(centres, (120, 90, 60), strict=True)]
    X = np.vstack([rng.normal(0.0, 1.0, (2500, 5)), *groups])
    return X, np.repeat([NOISE, 0, 1, 2], [2500, 120, 90, 60])


@pytest.fixture(scope="module")
def fitted():
    X, truth = blobs(7)
    result = cluster(X, min_samples=20, min_cluster_size=10)
    nodes = dict(zip(result.clusters["node"], result.clusters["cluster"], strict=True))
    index = tree_index(X, result.core_distances, CondensedTree.from_frame(result.condensed_tree),
                       nodes, min_samples=20)  # fmt: skip
    return X, truth, result, index


def test_fitted_points_get_their_own_cluster_back(fitted):
    X, _, result, index = fitted
    labels, probabilities = assign_points(index, X)
    assert (labels == result.labels).mean() >= 0.98
    assert np.corrcoef(probabilities, result.probabilities)[0, 1] > 0.95
    assert (probabilities[labels == NOISE] == 0).all()
    assert ((probabilities >= 0) & (probabilities <= 1)).all()


def test_new_points_join_their_group_as_hdbscans_approximate_predict(fitted):
    import hdbscan

    X, _, _, index = fitted
    new, truth = blobs(8)
    labels, _ = assign_points(index, new)
    for group in range(3):
        members = labels[truth == group]
        assert (members == np.bincount(members[members >= 0]).argmax()).mean() >= 0.95
    reference = hdbscan.HDBSCAN(min_samples=20, min_cluster_size=10,
                                cluster_selection_method="leaf", prediction_data=True).fit(X)
    theirs, _ = hdbscan.approximate_predict(reference, new)
    assert adjusted_rand_score(theirs, labels) > 0.9


def test_a_point_far_from_everything_is_noise_and_batches_do_not_matter(fitted):
    _, _, _, index = fitted
    far = np.full((1, 5), 40.0)
    assert assign_points(index, far)[0].tolist() == [NOISE]
    new, _ = blobs(9)
    together = assign_points(index, new)
    alone = assign_points(index, new[:7])
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_array_equal(a[:7], b)
    assert assign_points(index, new[:0])[0].shape == (0,)


def test_points_placed_on_fitted_points_take_their_density_into_account(fitted):
    """On its own fitted point, as dense as it, a point gets that point's cluster; far sparser
    than it, it falls out of the leaves; in between, its probability falls with its density."""
    from raregal.cluster.assign import assign_anchored

    _, _, result, index = fitted
    rows = np.arange(len(result.labels))
    labels, probabilities = assign_anchored(index, rows)
    assert (labels == result.labels).mean() >= 0.99
    assert (probabilities >= result.probabilities - 1e-9).all()  # at its core density or above
    sparse, _ = assign_anchored(index, rows, np.full(len(rows), 1e-3))
    assert (sparse == NOISE).all()
    members = np.flatnonzero(result.labels >= 0)[:50]
    _, half = assign_anchored(index, members, np.full(len(members), 0.9))
    _, full = assign_anchored(index, members)
    assert (half <= full + 1e-12).all() and (half < full).any()
    assert assign_anchored(index, rows[:0])[0].shape == (0,)
