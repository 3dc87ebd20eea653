"""The weirdest-first queue: a rarity score that sees tight rare groups, and variety."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from raregal.discover.anomaly import (
    AnomalyQueue,
    isolation_forest_scores,
    queue_ranks,
    rarity_scores,
    variety_queue,
)
from raregal.errors import InputError


def survey(rng, n_bulk=1500, groups=(30, 25)):
    """A broad bulk and tight groups far from it; labels -1 for the bulk, k for group k."""
    parts = [rng.normal(0, 1, (n_bulk, 8))]
    labels = [np.full(n_bulk, -1)]
    for k, size in enumerate(groups):
        centre = np.zeros(8)
        centre[k] = 6.0 + 2 * k
        parts.append(centre + rng.normal(0, 0.2, (size, 8)))
        labels.append(np.full(size, k))
    return np.vstack(parts).astype(np.float32), np.concatenate(labels)


def test_members_of_tight_rare_groups_score_above_the_bulk_where_a_few_neighbours_do_not(rng):
    X, labels = survey(rng)
    scores = rarity_scores(X, n_neighbors=50, rare_fraction=0.05)
    assert np.median(scores) == pytest.approx(1.0)
    assert scores[labels >= 0].min() > np.quantile(scores[labels < 0], 0.99)
    # the distance to the 5th neighbour finds the bulk's loners, not the groups' members
    dist, _ = NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X)
    assert dist[labels >= 0, 5].max() < np.median(dist[labels < 0, 5])


def test_the_queue_shows_every_group_early_where_the_score_alone_shows_one(rng):
    X, labels = survey(rng)
    scores = rarity_scores(X, n_neighbors=50, rare_fraction=0.05)
    by_score = np.argsort(-scores)
    assert set(labels[by_score[:20]]) == {1}  # the most isolated group takes every place
    order = variety_queue(X, scores, queue_length=50, queue_pool=300)
    assert set(labels[order[:5]]) >= {0, 1}
    assert sorted(order.tolist()) == list(range(len(X)))  # every galaxy once
    assert (queue_ranks(order)[order] == np.arange(1, len(X) + 1)).all()


def test_width_zero_is_the_score_order(rng):
    X, _ = survey(rng)
    scores = rarity_scores(X, rare_fraction=0.05)
    order = variety_queue(X, scores, queue_length=100, queue_pool=200, variety_width=0.0)
    np.testing.assert_array_equal(order, np.lexsort((np.arange(len(X)), -scores)))


def test_estimator_fits_and_validates(rng):
    X, labels = survey(rng)
    queue = AnomalyQueue(rare_fraction=0.05, queue_length=40).fit(X)
    assert queue.n_features_in_ == 8
    assert set(labels[queue.order_[:5]]) >= {0, 1}
    forest = AnomalyQueue(anomaly_engine="isolation_forest").fit(X)
    np.testing.assert_allclose(forest.scores_, isolation_forest_scores(X))
    with pytest.raises(InputError, match=r"'rare_fraction' must be float in \[1e-06, 0.5\]; got 2"):
        AnomalyQueue(rare_fraction=2.0).fit(X)
    with pytest.raises(InputError, match="'anomaly_engine' must be one of 'rarity', "
                       "'isolation_forest'; got 'lof'"):  # fmt: skip
        AnomalyQueue(anomaly_engine="lof").fit(X)
    X[3, 2] = np.nan
    with pytest.raises(InputError, match="1 row"):
        AnomalyQueue().fit(X)
