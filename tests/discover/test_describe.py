"""Cluster descriptions from the vote fractions, read as joint fractions of the decision tree."""

from __future__ import annotations

import numpy as np
import pandas as pd

from raregal.discover.describe import (
    NOTHING_APART,
    SPREAD_FLOOR,
    describe_clusters,
    joint_fractions,
    population_answers,
    usable_questions,
)
from raregal.schema import FRACTION_COLUMNS, GZ_DESI, joint_fraction


def tree_fractions(rng: np.random.Generator, n: int) -> pd.DataFrame:
    columns = {}
    for question in GZ_DESI:
        values = rng.dirichlet(np.ones(len(question.answers)) * 5, n)
        for j, name in enumerate(question.fraction_columns):
            columns[name] = values[:, j]
    return pd.DataFrame(columns)


def test_joint_fractions_follow_the_schema_and_are_zero_where_never_reached(rng):
    fractions = tree_fractions(rng, 50)
    fractions.loc[0, "smooth-or-featured_featured-or-disk_fraction"] = 0.0
    fractions.loc[0, "disk-edge-on_no_fraction"] = np.nan  # never asked: no votes
    joint = joint_fractions(fractions)
    names = [c.removesuffix("_fraction") for c in FRACTION_COLUMNS]
    expected = np.column_stack([joint_fraction(fractions, a) for a in names])
    finite = np.isfinite(expected)
    np.testing.assert_allclose(joint[finite], expected[finite], rtol=1e-6)
    column = names.index("disk-edge-on_no")
    assert joint[0, column] == 0.0  # NaN x reach 0 would be NaN; unreached means 0


def test_a_question_whose_path_lacks_a_column_is_not_used(rng):
    fractions = tree_fractions(rng, 10).drop(columns=["disk-edge-on_no_fraction"])
    names = [q.name for q in usable_questions(fractions.columns)]
    assert "disk-edge-on" not in names
    assert "has-spiral-arms" not in names and "spiral-arm-count" not in names  # below it
    assert "merging" in names and "smooth-or-featured" in names


def test_a_merger_cluster_is_described_by_the_merging_answer_with_both_values(rng):
    fractions = tree_fractions(rng, 400)
    labels = np.full(400, -1)
    labels[:40] = 0
    labels[40:80] = 1
    merging = [c for c in FRACTION_COLUMNS if c.startswith("merging_")]
    fractions.loc[:39, merging] = rng.dirichlet([1, 2, 8, 25], 40)
    described = describe_clusters(labels, np.array([0, 1]), fractions,
                                  population_answers(fractions))  # fmt: skip
    text = described.loc[0, "description"]
    assert text.startswith("merging/merger ")
    cluster_value = fractions.loc[:39, "merging_merger_fraction"].mean()
    population_value = fractions["merging_merger_fraction"].mean()
    assert text.split(";")[0] == f"merging/merger {cluster_value:.2f} vs {population_value:.2f}"
    assert described.loc[0, "distinct_answers"].split(",")[0] == "merging_merger"
    spread = np.sqrt(fractions["merging_merger_fraction"].std(ddof=0) ** 2 + SPREAD_FLOOR**2)
    assert described.loc[0, "vote_contrast"] >= (cluster_value - population_value) / spread - 1e-6
    # cluster 1 is drawn like everyone else: much smaller contrasts than the mergers
    assert described.loc[1, "vote_contrast"] < described.loc[0, "vote_contrast"] / 2


def test_without_any_difference_the_description_says_so(rng):
    fractions = tree_fractions(rng, 200)
    same = pd.concat([fractions.iloc[:100]] * 2, ignore_index=True)
    labels = np.r_[np.zeros(100, int), np.ones(100, int)]
    described = describe_clusters(labels, np.array([0]), same, population_answers(same))
    assert described.loc[0, "description"] == NOTHING_APART
    assert described.loc[0, "distinct_answers"] == ""


def test_without_vote_fractions_nothing_is_described():
    described = describe_clusters(np.array([0, 0, 1]), np.array([0, 1]), pd.DataFrame(), None)
    assert described["description"].tolist() == ["", ""]
    assert described["vote_contrast"].isna().all()
