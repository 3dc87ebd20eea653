"""Clustering: engines by name, our read-out against hdbscan's own, GLOSH, the cluster table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from raregal.cluster import CLUSTERERS, cluster
from raregal.cluster.table import medoid_row
from raregal.cluster.tree import glosh_scores
from raregal.constants import NOISE
from raregal.errors import InputError
from raregal.io.runfolder import CLUSTER_COLUMNS, TREE_COLUMNS


@pytest.fixture(scope="module")
def blobs():
    """A broad 5-D bulk and three tight groups of known membership (like a UMAP embedding)."""
    rng = np.random.default_rng(7)
    bulk = rng.normal(0.0, 1.0, (2500, 5))
    centres = [[1.5] * 5, [-1.5] * 5, [1.5, -1.5, 1.5, -1.5, 0.0]]
    groups = [rng.normal(c, 0.08, (s, 5)) for c, s in zip(centres, (120, 90, 60), strict=True)]
    X = np.vstack([bulk, *groups])
    truth = np.repeat([NOISE, 0, 1, 2], [2500, 120, 90, 60])
    return X, truth


@pytest.fixture(scope="module")
def both(blobs):
    X, _ = blobs
    engines = ("fast_hdbscan", "hdbscan")
    assert set(engines) <= set(CLUSTERERS.available())
    return {name: cluster(X, engine=name, min_samples=20, min_cluster_size=10) for name in engines}


@pytest.fixture(scope="module")
def reference(blobs):
    import hdbscan

    X, _ = blobs
    return hdbscan.HDBSCAN(
        min_samples=20, min_cluster_size=10, cluster_selection_method="leaf"
    ).fit(X)


def test_planted_groups_are_leaf_clusters(blobs, both):
    _, truth = blobs
    for result in both.values():
        for group in range(3):
            members = truth == group
            labels, counts = np.unique(result.labels[members], return_counts=True)
            best = labels[np.argmax(counts)]
            assert best != NOISE
            completeness = counts.max() / members.sum()
            purity = (truth[result.labels == best] == group).mean()
            assert completeness >= 0.9, completeness
            assert purity >= 0.9, purity


def test_engines_agree_on_the_leaf_clusters(both):
    """fast_hdbscan stores lambdas as float32, so a few boundary points may differ: ARI > 0.98."""
    ari = adjusted_rand_score(both["fast_hdbscan"].labels, both["hdbscan"].labels)
    assert ari > 0.98, ari


def test_engines_give_the_same_table_layout(both):
    a, b = both["fast_hdbscan"], both["hdbscan"]
    assert list(a.clusters.columns) == list(b.clusters.columns) == list(CLUSTER_COLUMNS)
    assert list(a.condensed_tree.columns) == list(b.condensed_tree.columns) == list(TREE_COLUMNS)
    assert a.clusters.dtypes.equals(b.clusters.dtypes)
    assert a.condensed_tree.dtypes.equals(b.condensed_tree.dtypes)


def test_read_out_matches_each_engines_own_labels(both):
    for result in both.values():
        assert adjusted_rand_score(result.labels, result.engine_labels) == 1.0
        assert np.array_equal(result.labels == NOISE, result.engine_labels == NOISE)


def test_probabilities_and_glosh_equal_hdbscans(both, reference):
    ours = both["hdbscan"]
    np.testing.assert_allclose(ours.probabilities, reference.probabilities_, atol=1e-12)
    np.testing.assert_allclose(ours.outlier_scores, reference.outlier_scores_, atol=1e-12)
    tree = pd.DataFrame(reference.condensed_tree_._raw_tree)
    from raregal.cluster import CondensedTree

    scores = glosh_scores(CondensedTree.from_frame(tree), len(reference.labels_))
    np.testing.assert_allclose(scores, reference.outlier_scores_, atol=1e-12)


def test_glosh_from_fast_hdbscan_tree_is_close_to_hdbscans(both, reference):
    """Same method on fast_hdbscan's float32 tree: equal to within float32 rounding."""
    fast = both["fast_hdbscan"].outlier_scores
    assert np.corrcoef(fast, reference.outlier_scores_)[0, 1] > 0.999
    assert np.median(np.abs(fast - reference.outlier_scores_)) < 1e-4
    assert fast.min() >= 0.0 and fast.max() <= 1.0


def test_eom_selection_matches_hdbscan(blobs):
    import hdbscan

    X, _ = blobs
    ref = hdbscan.HDBSCAN(min_samples=20, min_cluster_size=10).fit(X)
    ours = cluster(X, engine="hdbscan", min_samples=20, min_cluster_size=10,
                   cluster_selection_method="eom")  # fmt: skip
    assert adjusted_rand_score(ours.labels, ref.labels_) == 1.0
    np.testing.assert_allclose(ours.probabilities, ref.probabilities_, atol=1e-12)


def test_cluster_table_describes_each_cluster(blobs, both):
    result = both["fast_hdbscan"]
    table = result.clusters
    assert table["cluster"].tolist() == list(range(len(table)))
    assert table["size"].is_monotonic_decreasing
    assert table["letter"].tolist()[:3] == ["A", "B", "C"]
    sizes = np.bincount(result.labels[result.labels >= 0])
    assert table["size"].tolist() == sizes.tolist()
    assert (table["lambda_death"] > table["lambda_birth"]).all()
    np.testing.assert_allclose(table["persistence"], table["lambda_death"] - table["lambda_birth"])
    tree = result.condensed_tree
    for row in table.itertuples():
        assert ((tree["child"] == row.node) & (tree["parent"] == row.parent)).sum() == 1
        assert result.labels[row.medoid_row] == row.cluster
        members = result.labels == row.cluster
        assert row.mean_probability == pytest.approx(result.probabilities[members].mean())
    assert ((result.probabilities > 0) == (result.labels != NOISE)).all()


def test_medoid_is_the_member_nearest_all_others():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    rows = np.arange(300)
    sums = np.linalg.norm(X[:, None] - X[None], axis=2).sum(axis=1)
    assert medoid_row(X, rows) == int(np.argmin(sums))
    assert medoid_row(X, rows, candidates=50) == int(np.argmin(sums))  # a round cloud: central


def test_uniform_data_gives_no_cluster_but_a_valid_layout():
    rng = np.random.default_rng(1)
    X = rng.uniform(size=(200, 2))
    result = cluster(X, engine="hdbscan", min_samples=150, min_cluster_size=120)
    assert len(result.clusters) == 0
    assert list(result.clusters.columns) == list(CLUSTER_COLUMNS)
    assert (result.labels == NOISE).all()
    assert np.isfinite(result.outlier_scores).all()


def test_ids_name_the_medoid(blobs):
    X, _ = blobs
    ids = np.array([f"g{i}" for i in range(len(X))])
    result = cluster(X, min_samples=20, min_cluster_size=10, ids=ids)
    assert (result.clusters["medoid_id"] == ids[result.clusters["medoid_row"]]).all()


def test_bad_parameters_are_refused(blobs):
    X, _ = blobs
    with pytest.raises(InputError, match=r"engine.*'fast_hdbscan'.*got 'dbscan'"):
        cluster(X, engine="dbscan")
    with pytest.raises(InputError, match=r"min_samples=5000 needs more than 5000 galaxies"):
        cluster(X[:100], min_samples=5000)
