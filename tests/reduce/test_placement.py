"""Placing new galaxies in a fitted 'raregal' layout (the engine's transform, for sample fits)."""

from __future__ import annotations

import numpy as np
import pytest

from raregal.errors import InputError
from raregal.reduce.placement import FittedLayout
from raregal.reduce.raregal_umap import RaregalUmapReducer
from raregal.reduce.sample_fit import _exact_transform_without_index
from raregal.reduce.umap_learn import UmapLearnReducer
from raregal.synthetic import make_representations
from threads import numba_threads

GROUPS = (150, 120, 90)


@pytest.fixture(scope="module")
def split():
    """3,000 representations with three planted groups: 2,000 to fit, 1,000 to place."""
    df = make_representations(3000, n_features=16, seed=2, group_sizes=GROUPS)
    X = df.filter(like="feat_").to_numpy(np.float32)
    group = df["group"].to_numpy()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    return X[order[:2000]], group[order[:2000]], X[order[2000:]], group[order[2000:]]


def placed_with(engine, split, **extra):
    fit_X, _, new_X, _ = split
    reducer = engine(n_components=5, n_neighbors=15, n_epochs=100, **extra)
    reducer.keep_model = True
    fitted = reducer.fit_transform(fit_X)
    _exact_transform_without_index(reducer.model_)  # umap-learn's small-data transform
    return fitted, np.asarray(reducer.model_.transform(new_X)), reducer.model_


def group_agreement(fitted, fit_group, placed, new_group, k=10) -> float:
    """Share of planted new points whose k nearest fitted points are mostly of their group."""
    planted = np.flatnonzero(new_group >= 0)
    d2 = ((placed[planted, None, :] - fitted[None, :, :]) ** 2).sum(-1)
    nearest = np.argsort(d2, axis=1)[:, :k]
    same = (fit_group[nearest] == new_group[planted, None]).mean(axis=1)
    return float((same > 0.5).mean())


def test_new_points_land_with_their_group_as_in_umap_learn(split):
    _, fit_group, _, new_group = split
    ours_fit, ours, model = placed_with(RaregalUmapReducer, split)
    theirs_fit, theirs, _ = placed_with(UmapLearnReducer, split)
    assert isinstance(model, FittedLayout) and model.n_components == 5
    assert ours.shape == (1000, 5) and ours.dtype == np.float32 and np.isfinite(ours).all()
    ours_agree = group_agreement(ours_fit, fit_group, ours, new_group)
    theirs_agree = group_agreement(theirs_fit, fit_group, theirs, new_group)
    assert ours_agree >= 0.9 and ours_agree >= theirs_agree - 0.05, (ours_agree, theirs_agree)


def test_a_copy_of_a_fitted_point_lands_on_it(split):
    fit_X = split[0]
    reducer = RaregalUmapReducer(n_components=2, n_neighbors=15, n_epochs=60)
    reducer.keep_model = True
    fitted = reducer.fit_transform(fit_X)
    placed = reducer.model_.transform(fit_X[:50])
    spread = np.ptp(fitted, axis=0).max()
    assert np.abs(placed - fitted[:50]).max(axis=1).mean() < 0.05 * spread


def test_placement_does_not_depend_on_the_thread_count(split):
    *_, model = placed_with(RaregalUmapReducer, split, n_threads=1)
    with numba_threads(1):
        one = model.transform(split[2])
    with numba_threads(2):
        two = model.transform(split[2])
    np.testing.assert_array_equal(one, two)
    assert model.transform(split[2][:0]).shape == (0, 5)


def test_sample_fit_needs_an_indexable_metric(split):
    reducer = RaregalUmapReducer(n_components=2, n_neighbors=15, n_epochs=10, metric="manhattan")
    reducer.keep_model = True
    with pytest.raises(InputError, match="only with metric euclidean or cosine; got 'manhattan'"):
        reducer.fit_transform(split[0])


def test_independent_placement_ignores_the_batch_order_and_threads(split):
    """lmcinnes/umap#566: with refinement epochs (keyed random streams, a fixed schedule) a
    row lands in the same place alone, in a batch, shuffled, on one or two threads."""
    from raregal.reduce.placement import place_independently

    fit_X, _, new_X, _ = split
    reducer = RaregalUmapReducer(n_components=5, n_neighbors=15, n_epochs=60)
    reducer.keep_model = True
    fitted = reducer.fit_transform(fit_X)
    index = reducer.model_.index
    model = reducer.model_

    def place(X):
        return place_independently(index, X, [fitted, fitted[:, :2]], 15, "euclidean", model.a,
                                   model.b, n_epochs=[0, 40]).positions  # fmt: skip

    with numba_threads(2):
        batch = place(new_X)
    order = np.random.default_rng(5).permutation(len(new_X))
    with numba_threads(1):
        shuffled = place(new_X[order])
    alone = place(new_X[3:4])
    for k in range(2):
        np.testing.assert_array_equal(shuffled[k], batch[k][order])
        np.testing.assert_array_equal(alone[k], batch[k][3:4])
    assert not np.array_equal(batch[1], fitted[:, :2][place_independently(
        index, new_X, [fitted], 15, "euclidean", model.a, model.b).nearest])  # the map moved
