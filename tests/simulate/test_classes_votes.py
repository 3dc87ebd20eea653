"""Class fractions and simulated volunteer votes of the simulated survey (no rendering)."""

from __future__ import annotations

import numpy as np
import pytest

from raregal.errors import InputError
from raregal.schema import ANSWER_COLUMNS, GZ_DESI
from raregal.simulate.classes import (
    ARTIFACT_CLASSES,
    BULK_CLASSES,
    CLASS_NAMES,
    RARE_CLASSES,
    class_fractions,
)
from raregal.simulate.galaxy import VOTE_STREAM, draw_classes, galaxy_rng
from raregal.simulate.votes import answer_probabilities, simulate_votes, votes_table


def test_fractions_sum_to_one_and_overrides_apply():
    fractions = class_fractions(rare_fraction=0.01, overrides={"ring": 0.02})
    assert list(fractions) == list(CLASS_NAMES)
    assert sum(fractions.values()) == pytest.approx(1.0)
    assert fractions["ring"] == 0.02 and fractions["one_armed"] == 0.01
    assert all(fractions[c] == 0.005 for c in ARTIFACT_CLASSES)
    assert all(fractions[c] > 0.05 for c in ("elliptical", "spiral"))


def test_drawn_classes_match_fractions():
    """Each rare class at 1% of 20000 galaxies: within 4.5 binomial sigma (about 63 galaxies)."""
    n = 20000
    fractions = class_fractions(rare_fraction=0.01, artifact_fraction=0.004)
    classes = draw_classes(seed=3, indices=np.arange(n), fractions=fractions)
    for name in CLASS_NAMES:
        expected = fractions[name] * n
        sigma = np.sqrt(n * fractions[name] * (1 - fractions[name]))
        assert abs((classes == name).sum() - expected) < 4.5 * sigma, name


def test_classes_do_not_depend_on_survey_size():
    fractions = class_fractions()
    small = draw_classes(seed=5, indices=np.arange(50), fractions=fractions)
    large = draw_classes(seed=5, indices=np.arange(500), fractions=fractions)
    other_seed = draw_classes(seed=6, indices=np.arange(500), fractions=fractions)
    assert (large[:50] == small).all()
    assert (large != other_seed).any()
    shuffled = dict(sorted(fractions.items()))  # as read back from survey.json
    assert (draw_classes(seed=5, indices=np.arange(500), fractions=shuffled) == large).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rare_fraction": 0.1}, "leave at least half"),
        ({"rare_fraction": -0.01}, "must be in"),
        ({"overrides": {"rings": 0.01}}, "unknown class 'rings'"),
        ({"overrides": {"spiral": 0.01}}, "is bulk"),
        ({"artifact_fraction": float("nan")}, "must be in"),
    ],
)
def test_fractions_that_do_not_fit_are_refused(kwargs, match):
    with pytest.raises(InputError, match=match):
        class_fractions(**kwargs)


def _votes_for(classes: list[str], seed: int = 0) -> np.ndarray:
    params = {"axis_ratio": 0.7, "bulge_fraction": 0.2, "n_arms": 2, "pitch_deg": 20.0}
    counts = [
        simulate_votes(
            name, {**params, "artifact_host": "spiral"}, galaxy_rng(seed, i, VOTE_STREAM)
        )
        for i, name in enumerate(classes)
    ]
    return np.array(counts)


def test_votes_follow_the_decision_tree():
    classes = [c for c in CLASS_NAMES for _ in range(20)]
    counts = _votes_for(classes)
    table = votes_table(counts)
    col = {c: i for i, c in enumerate(ANSWER_COLUMNS)}
    totals = counts[:, [col[c] for c in GZ_DESI[0].columns]].sum(axis=1)
    assert totals.min() >= 34 and totals.max() <= 46
    for question in GZ_DESI:
        asked = counts[:, [col[c] for c in question.columns]].sum(axis=1)
        reached = totals if question.asked_after is None else counts[:, col[question.asked_after]]
        np.testing.assert_array_equal(asked, reached, err_msg=question.name)
        fractions = np.column_stack([table[c + "_fraction"] for c in question.columns])
        # a fraction is conditional on the question being reached: NaN exactly where unreached
        assert (np.isnan(fractions).all(axis=1) == (reached == 0)).all()
        np.testing.assert_allclose(fractions[reached > 0].sum(axis=1), 1.0)
    assert all(table[c].dtype == np.int64 for c in ANSWER_COLUMNS)


def test_votes_reflect_classes_but_not_artifact_types():
    n = 60
    counts = _votes_for(
        ["elliptical"] * n + ["spiral"] * n + ["merger_bridge"] * n + ["bright_star"] * n
    )
    table = votes_table(counts)
    smooth = table["smooth-or-featured_smooth_fraction"]
    arms = table["has-spiral-arms_yes_fraction"]
    merger = table["merging_merger_fraction"]
    artifact = table["smooth-or-featured_artifact_fraction"]
    assert np.nanmean(smooth[:n]) > 0.7 > np.nanmean(smooth[n : 2 * n])
    assert np.nanmean(arms[n : 2 * n]) > 0.8
    assert np.nanmean(merger[2 * n : 3 * n]) > 0.3 > np.nanmean(merger[:n])
    assert np.mean(artifact[3 * n :] >= 0.3) > 0.8
    # the five artifact types are indistinguishable in the labels (for the same host galaxy)
    params = {"artifact_host": "spiral", "axis_ratio": 0.6}
    first = answer_probabilities(ARTIFACT_CLASSES[0], params)
    for name in ARTIFACT_CLASSES[1:]:
        other = answer_probabilities(name, params)
        assert all(np.array_equal(first[q], other[q]) for q in first)


def test_rare_classes_mostly_survive_the_paper_selection():
    """The planted classes must reach the clustering: featured, not edge-on, not artifacts."""
    for name in RARE_CLASSES:
        table = votes_table(_votes_for([name] * 50, seed=1))
        kept = (
            (table["smooth-or-featured_smooth_fraction"] < 0.5)
            & ~(table["disk-edge-on_yes_fraction"] >= 0.3)
            & (table["smooth-or-featured_artifact_fraction"] < 0.3)
        )
        assert kept.mean() > 0.6, name
    assert set(BULK_CLASSES).isdisjoint(RARE_CLASSES)
