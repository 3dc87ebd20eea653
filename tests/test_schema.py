"""The GZ DESI decision tree: questions, answers, reach probabilities, fractions from counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from raregal.schema import (
    ANSWER_COLUMNS,
    FRACTION_COLUMNS,
    GZ_DESI,
    QUESTIONS,
    fractions_from_counts,
    joint_fraction,
    question_slices,
    reach_probability,
)


def test_tree_shape_and_column_names():
    assert len(GZ_DESI) == 10 and len(ANSWER_COLUMNS) == 34 == len(FRACTION_COLUMNS)
    assert "smooth-or-featured_smooth_fraction" in FRACTION_COLUMNS
    assert "disk-edge-on_yes_fraction" in FRACTION_COLUMNS
    assert "smooth-or-featured_artifact_fraction" in FRACTION_COLUMNS
    for q in GZ_DESI:
        if q.asked_after is not None:
            assert q.asked_after in ANSWER_COLUMNS


def test_reach_and_joint_follow_the_path():
    fractions = pd.DataFrame({
        "smooth-or-featured_featured-or-disk_fraction": [0.8, np.nan],
        "disk-edge-on_no_fraction": [0.5, 0.5],
        "has-spiral-arms_yes_fraction": [0.9, 0.9],
        "spiral-winding_tight_fraction": [0.2, 0.2],
    })  # fmt: skip
    reach = reach_probability(fractions, "spiral-winding")
    assert reach[0] == 0.8 * 0.5 * 0.9
    assert np.isnan(reach[1])  # NaN propagates: the path was rarely asked
    assert joint_fraction(fractions, "spiral-winding_tight")[0] == 0.8 * 0.5 * 0.9 * 0.2
    assert (reach_probability(fractions, "merging") == 1.0).all()
    assert QUESTIONS["disk-edge-on"].asked_after == "smooth-or-featured_featured-or-disk"


def test_fractions_from_counts():
    counts = np.zeros((2, 34))
    counts[0, :3] = [6, 3, 1]  # smooth-or-featured
    counts[0, 3:5] = [1, 3]  # disk-edge-on
    fractions = fractions_from_counts(counts)
    np.testing.assert_allclose(fractions[0, :5], [0.6, 0.3, 0.1, 0.25, 0.75])
    assert np.isnan(fractions[1]).all()  # no votes at all: every question NaN
    for start, stop in question_slices():
        total = fractions[0, start:stop].sum()
        assert np.isnan(total) or np.isclose(total, 1.0)
