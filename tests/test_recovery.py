"""The recovery rule on hand-made labellings whose answer is known."""

from __future__ import annotations

import pandas as pd
import pytest

from raregal.constants import NOISE
from raregal.errors import InputError
from raregal.recovery import recovered_fraction, recovery_summary, recovery_table


def galaxies(assignments):
    """assignments: list of (true_class, cluster, count)."""
    rows = [(c, k) for c, k, n in assignments for _ in range(n)]
    return pd.DataFrame(rows, columns=["true_class", "cluster"])


def test_purity_and_completeness():
    df = galaxies([("ring", 0, 8), ("bulk", 0, 2), ("ring", NOISE, 12), ("bulk", 1, 30)])
    table = recovery_table(df)
    ring = table[(table.true_class == "ring") & (table.cluster == 0)].iloc[0]
    assert ring.purity == pytest.approx(0.8)
    assert ring.completeness == pytest.approx(0.4)
    assert NOISE not in table["cluster"].tolist()


def test_recovered_when_pure_majority_clusters_hold_a_fifth():
    df = galaxies([
        ("ring", 0, 15), ("bulk", 0, 5),    # purity 0.75, holds 15/100
        ("ring", 1, 7), ("bulk", 1, 3),     # purity 0.7, holds 7/100 -> together 22%
        ("ring", 2, 10), ("bulk", 2, 20),   # ring is not the majority here
        ("ring", NOISE, 68),
        ("lens", 3, 30), ("bulk", 3, 20),   # purity 0.6 < 0.7: not recovered
        ("lens", NOISE, 70),
        ("bulk", 4, 100),
    ])  # fmt: skip
    _, summary = recovery_summary(df)
    summary = summary.set_index("true_class")
    assert summary.loc["ring", "recovered"]
    assert summary.loc["ring", "fraction_held"] == pytest.approx(0.22)
    assert summary.loc["ring", "clusters"] == "0,1"
    assert summary.loc["ring", "best_purity"] == pytest.approx(0.75)
    assert not summary.loc["lens", "recovered"]
    assert summary.loc["lens", "best_purity"] == pytest.approx(0.6)
    assert "bulk" not in summary.index
    assert recovered_fraction(summary.reset_index()) == 0.5


def test_just_under_a_fifth_is_not_recovered():
    df = galaxies([("ring", 0, 19), ("ring", NOISE, 81), ("bulk", 1, 50)])
    _, summary = recovery_summary(df)
    assert not summary.iloc[0]["recovered"]
    assert summary.iloc[0]["fraction_held"] == pytest.approx(0.19)


def test_a_class_never_clustered_is_judged_not_recovered():
    df = galaxies([("ring", NOISE, 10), ("bulk", 0, 50)])
    _, summary = recovery_summary(df, classes=["ring", "jellyfish"])
    assert summary["recovered"].tolist() == [False, False]
    assert summary["members"].tolist() == [10, 0]


def test_missing_true_class_is_refused():
    df = galaxies([("ring", 0, 3)])
    df.loc[1, "true_class"] = None
    with pytest.raises(InputError, match=r"1 galaxies have no true_class"):
        recovery_table(df)
