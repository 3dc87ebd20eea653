"""Clusters across seeds: Jaccard matching, seed stability and consensus clusters."""

from __future__ import annotations

import numpy as np
import pytest

from raregal.cluster.stability import (
    CONSENSUS_RULE,
    consensus_clusters,
    jaccard_matrix,
    seed_stability,
    stable_count,
)
from raregal.constants import NOISE
from raregal.io.runfolder import TABLES


def brute_jaccard(a, b):
    ka, kb = a.max() + 1, b.max() + 1
    out = np.zeros((ka, kb))
    for i in range(ka):
        for j in range(kb):
            x, y = set(np.flatnonzero(a == i)), set(np.flatnonzero(b == j))
            out[i, j] = len(x & y) / len(x | y) if x | y else 0.0
    return out


def test_jaccard_matrix_matches_sets_and_ignores_noise():
    rng = np.random.default_rng(0)
    a = rng.integers(-1, 6, 400)
    b = rng.integers(-1, 4, 400)
    np.testing.assert_allclose(jaccard_matrix(a, b), brute_jaccard(a, b))
    assert jaccard_matrix(a, np.full(400, NOISE)).shape == (6, 0)


@pytest.fixture
def three_seeds():
    """Cluster 0 comes back in every seed (renumbered), cluster 1 only in the third and, there,
    merged with what was noise (Jaccard 0.6), cluster 2 in no other seed (split in two)."""
    n = 200
    first = np.full(n, NOISE)
    first[0:50], first[50:80], first[80:120] = 0, 1, 2
    second = np.full(n, NOISE)
    second[2:50], second[80:99], second[100:119] = 1, 0, 2  # 0 -> 1 (J 0.96); 2 split (0.475)
    third = np.full(n, NOISE)
    third[0:50], third[50:100] = 1, 0  # 0 -> 1 (J 1.0); 1 -> 0 with 20 more (J 0.6)
    return [first, second, third]


def test_seed_stability_counts_the_seeds_with_a_match(three_seeds):
    np.testing.assert_allclose(seed_stability(three_seeds), [1.0, 2 / 3, 1 / 3])
    np.testing.assert_allclose(seed_stability(three_seeds[:1]), [1.0, 1.0, 1.0])
    assert stable_count(3) == 2 and stable_count(1) == 1 and stable_count(5) == 4


def test_consensus_clusters_link_matches_across_seeds(three_seeds):
    table = consensus_clusters(three_seeds, seeds=[7, 8, 9])
    TABLES["consensus"].check(table, "consensus.parquet")
    assert list(table.columns) == [c.name for c in TABLES["consensus"].columns]
    first = table[table["consensus"] == 0]
    assert first[["seed", "cluster"]].values.tolist() == [[7, 0], [8, 1], [9, 1]]
    assert (first["stability"] == 1.0).all() and (first["core_size"] == 48).all()
    assert first["letter"].tolist() == ["A", "", ""]
    second = table[table["consensus"] == 1]
    assert second[["seed", "cluster"]].values.tolist() == [[7, 1], [9, 0]]
    assert second["stability"].iloc[0] == pytest.approx(2 / 3) and second["core_size"].iloc[0] == 30
    assert second["jaccard"].tolist() == pytest.approx([0.6, 0.6])
    # the unmatched clusters stand alone, the run's cluster first, then by size
    alone = table[table["n_seeds_found"] == 1]
    assert alone[["seed", "cluster"]].values.tolist()[0] == [7, 2]
    assert len(alone) == 3 and (alone["core_size"] == alone["size"]).all()
    assert table["consensus"].is_monotonic_increasing
    assert "Jaccard" in CONSENSUS_RULE


def test_consensus_of_labelings_without_clusters_is_an_empty_table():
    table = consensus_clusters([np.full(10, NOISE)] * 2, seeds=[0, 1])
    assert len(table) == 0
    TABLES["consensus"].check(table, "consensus.parquet")
