"""The morphology selection: the paper's rules as data, the NaN rule, counts for run.json."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raregal.errors import InputError
from raregal.select import ARTIFACT_COLUMN, Rule, paper_rules, select

SMOOTH = "smooth-or-featured_smooth_fraction"
FEATURED = "smooth-or-featured_featured-or-disk_fraction"
ARTIFACT_COL = "smooth-or-featured_artifact_fraction"
EDGE = "disk-edge-on_yes_fraction"


def table(rows):
    """Rows of (smooth, featured, artifact, edge-on yes)."""
    df = pd.DataFrame(rows, columns=[SMOOTH, FEATURED, ARTIFACT_COL, EDGE])
    df.insert(0, "id_str", [f"g{i}" for i in range(len(df))])
    return df


def test_paper_rules_remove_smooth_edge_on_and_artifacts():
    df = table([
        (0.1, 0.85, 0.05, 0.1),   # featured face-on: kept
        (0.5, 0.45, 0.05, 0.0),   # smooth at the threshold: removed
        (0.2, 0.75, 0.05, 0.3),   # edge-on at the threshold: removed
        (0.2, 0.45, 0.35, 0.0),   # artifact: removed
        (0.6, 0.05, 0.35, 0.9),   # smooth first: the first rule names it
        (0.49, 0.5, 0.01, 0.29),  # just under every threshold: kept
    ])  # fmt: skip
    selection, counts = select(df)
    assert selection["kept"].tolist() == [True, False, False, False, False, True]
    assert selection["removed_by"].tolist() == ["", "smooth", "edge_on", "artifact", "smooth", ""]
    assert counts == {
        "input": 6, "nan_smooth": 0, "removed_smooth": 2, "nan_edge_on": 0, "removed_edge_on": 1,
        "nan_artifact": 0, "removed_artifact": 1, "selected": 2,
    }  # fmt: skip
    assert selection["id_str"].tolist() == df["id_str"].tolist()


def test_keep_artifacts_switches_the_artifact_rule_off():
    df = table([(0.2, 0.45, 0.35, 0.0)])
    assert not select(df)[0]["kept"][0]
    selection, counts = select(df, paper_rules(keep_artifacts=True))
    assert selection["kept"][0]
    assert "removed_artifact" not in counts


def test_nan_fraction_does_not_remove_and_is_counted():
    """NaN = the question was rarely asked: the rule cannot show the galaxy is edge-on."""
    df = table([(0.1, 0.85, 0.05, np.nan), (0.1, 0.85, 0.05, 0.5), (np.nan, 0.9, 0.0, 0.0)])
    selection, counts = select(df)
    assert selection["kept"].tolist() == [True, False, True]
    assert counts["nan_edge_on"] == 1
    assert counts["nan_smooth"] == 1


def test_joint_edge_on_rule_multiplies_by_featured():
    """0.4 edge-on yes of a 0.5 featured galaxy: conditional removes it, joint (0.2) does not."""
    df = table([(0.45, 0.5, 0.05, 0.4)])
    assert select(df, paper_rules(edge_on_rule="conditional"))[0]["removed_by"][0] == "edge_on"
    assert select(df, paper_rules(edge_on_rule="joint"))[0]["kept"][0]
    df2 = table([(0.0, 1.0, 0.0, 0.4)])
    assert select(df2, paper_rules(edge_on_rule="joint"))[0]["removed_by"][0] == "edge_on"


def test_rules_are_data():
    df = table([(0.1, 0.85, 0.05, 0.1), (0.1, 0.85, 0.25, 0.1)])
    strict = [Rule("artifact", ARTIFACT_COLUMN, 0.2)]
    selection, counts = select(df, strict)
    assert selection["kept"].tolist() == [True, False]
    assert counts["removed_artifact"] == 1


def test_missing_column_is_named_with_a_close_match():
    df = table([(0.1, 0.85, 0.05, 0.1)]).rename(columns={EDGE: "disk-edge-on_yes_frac"})
    df.attrs["source"] = "catalog.parquet"
    with pytest.raises(
        InputError, match=r"catalog.parquet: missing 1 column.*disk-edge-on_yes_frac"
    ):
        select(df)


def test_infinite_fraction_is_refused():
    df = table([(0.1, 0.85, 0.05, np.inf), (0.1, 0.85, 0.05, 0.0)])
    with pytest.raises(InputError, match=r"1 infinite value.*disk-edge-on_yes_fraction"):
        select(df)


def test_unknown_edge_on_rule_is_refused():
    with pytest.raises(InputError, match=r"edge_on_rule.*'conditional', 'joint'.*got 'both'"):
        paper_rules(edge_on_rule="both")


def test_fractions_outside_zero_one_are_refused_naming_column_and_count():
    """Issue 16, case 5: -3.0 and 7.5 passed and changed the selection."""
    df = table([(0.1, 0.85, 0.05, 0.1)] * 4)
    df.loc[[0, 1], SMOOTH] = [-3.0, 7.5]
    df.loc[3, SMOOTH] = 1.0004  # rounding: accepted
    with pytest.raises(InputError, match=rf"column '{SMOOTH}' holds 2 value\(s\) outside \[0, 1\] "
                       r"\(e\.g\. -3, 7\.5\)") as info:  # fmt: skip
        select(df)
    assert (info.value.column, info.value.count) == (SMOOTH, 2)


def test_an_all_nan_fraction_column_is_refused():
    """Issue 16, case 5: a table whose fractions are all NaN said nothing."""
    df = table([(0.1, 0.85, 0.05, 0.1)] * 3)
    df[EDGE] = np.nan
    with pytest.raises(InputError, match=rf"column '{EDGE}' is NaN for all 3 galaxies: the "
                       r"'edge_on' rule cannot be applied"):  # fmt: skip
        select(df)


def test_text_in_a_fraction_column_is_refused_naming_it():
    """Issue 16, case 10: a fraction column holding strings was a ValueError traceback."""
    df = table([(0.1, 0.85, 0.05, 0.1)] * 3)
    df[SMOOTH] = ["0.1", "lots", "n/a"]
    with pytest.raises(InputError, match=rf"'{SMOOTH}' holds 2 value\(s\) that are not numbers "
                       r"\(e\.g\. 'lots', 'n/a'\)"):  # fmt: skip
        select(df)
