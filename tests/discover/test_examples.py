"""Search from examples: the class-balanced ridge classifier and the choice of each round."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from raregal.discover.examples import (
    ExampleSearch,
    Standardised,
    fit_linear,
    next_round,
    ranking,
)
from raregal.errors import InputError


def data(rng, n=2000, group=40):
    X = rng.normal(0, 1, (n, 10))
    X[:group] = np.r_[4.0, -3.0, np.zeros(8)] + rng.normal(0, 0.4, (group, 10))
    return X.astype(np.float32), np.arange(group)


def test_the_closed_form_fit_is_scikit_learns_weighted_ridge(rng):
    """The Gram-matrix update must give the weighted ridge solution itself (to rounding)."""
    X, members = data(rng, n=600)
    positive, negative = members[:3], np.array([100, 200])
    alpha, unlabelled_weight = 1e-3, 0.7
    standard = Standardised.of(X)
    coef = fit_linear(standard, positive, negative, alpha, unlabelled_weight)
    X64 = X.astype(np.float64)
    Z = (X64 - X64.mean(axis=0)) / X64.std(axis=0)
    weights = np.full(len(X), unlabelled_weight)
    weights[negative] = 1.0
    others = weights.sum() - weights[positive].sum()
    weights[positive] = others / len(positive)
    target = np.zeros(len(X))
    target[positive] = 1.0
    ridge = Ridge(alpha=alpha * weights.sum()).fit(Z, target, sample_weight=weights)
    np.testing.assert_allclose(coef[:-1], ridge.coef_, rtol=1e-5, atol=1e-8)
    assert coef[-1] == pytest.approx(ridge.intercept_, rel=1e-5)


def test_three_examples_find_the_group_and_the_ranking_keeps_answers_in_place(rng):
    X, members = data(rng)
    search = ExampleSearch().fit(X, positive=members[:3], negative=[1500])
    order = search.ranking_
    assert set(order[:3]) == set(members[:3])
    assert order[-1] == 1500
    assert np.isin(order[: len(members)], members).mean() >= 0.9
    assert search.coef_.shape == (10,) and search.n_features_in_ == 10
    mask = np.zeros(len(X), bool)
    mask[members[:3]] = True
    np.testing.assert_allclose(ExampleSearch().fit(X, positive=mask).scores_,
                               ExampleSearch().fit(X, positive=members[:3]).scores_)  # fmt: skip


def test_a_round_mixes_the_top_ranked_and_the_uncertain_and_skips_answered(rng):
    scores = np.linspace(1.0, 0.0, 101)
    labelled = np.zeros(101, bool)
    labelled[:3] = True
    rows, reasons = next_round(scores, labelled, round_size=10, uncertain_share=0.4)
    assert rows[:6].tolist() == [3, 4, 5, 6, 7, 8]
    assert sorted(rows[6:].tolist()) == [48, 49, 50, 51]  # nearest 0.5 (ties: lower row)
    assert reasons.tolist() == ["top"] * 6 + ["uncertain"] * 4
    assert ranking(scores, np.array([50]), np.array([0]))[0] == 50
    assert ranking(scores, np.array([50]), np.array([0]))[-1] == 0


def test_bad_examples_are_refused_with_a_clear_message(rng):
    X, _ = data(rng, n=100, group=5)
    with pytest.raises(InputError, match="at least one positive"):
        ExampleSearch().fit(X, positive=[])
    with pytest.raises(InputError, match="both positive and negative"):
        ExampleSearch().fit(X, positive=[1, 2], negative=[2])
    with pytest.raises(InputError, match=r"1 positive row\(s\) outside 0..99"):
        ExampleSearch().fit(X, positive=[1, 100])
    with pytest.raises(InputError, match="needs at least one negative"):
        ExampleSearch(unlabelled_weight=0.0).fit(X, positive=[1])
    with pytest.raises(InputError, match=r"'round_size' must be int in \[1, inf\]; got 0"):
        ExampleSearch(round_size=0).fit(X, positive=[1])
    with pytest.raises(InputError, match="fit the search"):
        ExampleSearch().suggest()


def test_features_far_from_zero_give_the_same_fit(rng):
    """The Gram matrix is accumulated about a shift, so a large common offset (features of an
    encoder that are all near 100, say) changes nothing beyond rounding."""
    X, members = data(rng, n=800)
    near = fit_linear(Standardised.of(X.astype(np.float64)), members[:3], np.array([500]))
    far = fit_linear(Standardised.of(X.astype(np.float64) + 1e4), members[:3], np.array([500]))
    np.testing.assert_allclose(far, near, rtol=1e-6, atol=1e-9)
