"""Clusters ranked by how rare they look, on a run folder made by real clustering."""

from __future__ import annotations

import numpy as np
import pandas as pd

from raregal.discover.ranking import (
    RANKING_COLUMNS,
    display_order,
    display_ranks,
    interest_score,
    rank_clusters,
    survey_statistics,
    zscores,
)
from raregal.io.runfolder import TABLES


def test_zscores_of_a_constant_or_missing_component_are_zero():
    np.testing.assert_array_equal(zscores(np.array([2.0, 2.0, 2.0])), 0.0)
    np.testing.assert_array_equal(zscores(np.array([1.0, np.nan, 3.0])), [-1.0, 0.0, 1.0])


def test_interest_averages_the_components_present():
    clusters = pd.DataFrame({"persistence": [1.0, np.e, np.e**2], "isolation": [0.0, 0.0, 3.0]})
    expected = (zscores(np.log(clusters["persistence"])) + zscores(clusters["isolation"])) / 2
    np.testing.assert_allclose(interest_score(clusters), expected)
    with_stability = clusters.assign(seed_stability=[1.0, 2 / 3, np.nan])
    np.testing.assert_allclose(interest_score(with_stability), expected - [0.0, 1 / 3, 0.0])


def test_one_leaf_per_branch_comes_first_and_the_main_population_last():
    interest = np.array([3.0, 2.5, 2.0, 1.0, -0.5])
    parents = np.array([10, 10, 11, 12, 13])
    main = interest <= 0
    ranks = display_ranks(interest, parents, main)
    # the second leaf of branch 10 waits until each branch has shown its best leaf
    assert ranks.tolist() == [1, 4, 2, 3, 5]


def test_planted_groups_rank_before_the_ordinary_population(discovery_source):
    galaxies = pd.read_parquet(discovery_source / "galaxies.parquet")
    clusters = pd.read_parquet(discovery_source / "clusters.parquet")
    reps = pd.read_parquet(discovery_source / "representations.parquet")
    feats = [c for c in reps.columns if c.startswith("feat_")]
    fractions = [c for c in reps.columns if c.endswith("_fraction")]
    selected = reps.set_index("id_str").loc[galaxies["id_str"]].reset_index()
    ranked = rank_clusters(
        clusters, galaxies["cluster"].to_numpy(),
        galaxies[[f"umap_{j}" for j in range(5)]].to_numpy(), selected[feats].to_numpy(),
        selected[fractions], survey_statistics(reps[feats].to_numpy()),
    )  # fmt: skip
    TABLES["clusters"].check(ranked, "clusters.parquet")
    assert set(RANKING_COLUMNS) <= set(ranked.columns)
    assert ranked["cluster"].tolist() == clusters["cluster"].tolist()  # numbers keep meaning
    majority = galaxies[galaxies["cluster"] >= 0].groupby("cluster")["true_class"].agg(
        lambda s: s.value_counts().index[0])
    order = display_order(ranked)
    kinds = [majority[c] for c in order["cluster"]]
    assert set(kinds[:2]) == {"ring", "merger"}, order.to_string()
    assert order["main_population"].tolist() == [False, False, True]
    assert order.loc[order["cluster"].map(majority) == "merger", "description"].iloc[0].startswith(
        "merging/merger")
    assert sorted(ranked["interest_rank"]) == list(range(1, len(ranked) + 1))
