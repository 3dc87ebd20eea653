"""Fit-on-sample: the search fitted on a random sample still recovers the planted groups, and
the sample size is recorded in run.json."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.decomposition import PCA

from raregal.errors import InputError
from raregal.recovery import recovery_summary
from raregal.reduce.raregal_umap import RaregalUmapReducer
from raregal.reduce.sample_fit import SampleFitReducer, sample_rows
from raregal.search import run_search
from raregal.synthetic import make_representations


def test_sample_rows_are_seeded_sorted_and_distinct():
    rows = sample_rows(10_000, 1_000, random_state=4)
    assert len(rows) == 1_000 and len(np.unique(rows)) == 1_000
    assert np.all(np.diff(rows) > 0) and rows[-1] < 10_000
    np.testing.assert_array_equal(rows, sample_rows(10_000, 1_000, random_state=4))
    assert not np.array_equal(rows, sample_rows(10_000, 1_000, random_state=5))
    np.testing.assert_array_equal(sample_rows(50, 80), np.arange(50))


class PcaOnly:
    """A real (linear) reduction engine that cannot place new points."""

    name = "pca-only"

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self.fitted = False

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        self.fitted = True
        return PCA(n_components=2).fit_transform(X).astype(np.float32)


def test_an_engine_that_cannot_transform_is_refused_before_fitting(rng):
    X = rng.normal(size=(300, 8)).astype(np.float32)
    engine = PcaOnly()
    with pytest.raises(InputError, match="'pca-only' cannot place new points"):
        SampleFitReducer(engine, 100).fit_transform(X)
    assert not engine.fitted


def test_the_raregal_engine_fits_a_sample_and_places_the_rest(rng):
    X = rng.normal(size=(1200, 8)).astype(np.float32)
    reducer = SampleFitReducer(RaregalUmapReducer(n_components=2, n_neighbors=10, n_epochs=30), 400)
    placed = reducer.fit_transform(X)
    assert placed.shape == (1200, 2) and placed.dtype == np.float32 and np.isfinite(placed).all()
    assert len(reducer.sample_rows_) == 400 and "transform" in reducer.timings
    assert reducer.base.model_ is None  # the fitted model is freed once the rest is placed


@pytest.mark.slow
def test_search_fitted_on_a_sample_recovers_the_planted_groups(tmp_path):
    """UMAP fitted on 1,000 of 3,000 galaxies, the other 2,000 transformed: every planted group
    comes back almost whole (>= 90%) in leaf clusters where it is the majority.

    Tolerance: a transformed galaxy is placed from its neighbours in the sample, so a group's
    leaf picks up bulk galaxies at its edge; purity is asked to reach 0.6, not the 0.7 of
    raregal.recovery's rule for a full fit (``benchmark_sample_fit`` measures the difference).
    """
    groups = (150, 120, 90)
    df = make_representations(3000, n_features=16, group_sizes=groups, seed=0)
    out = tmp_path / "run"
    search = run_search(df, out, min_samples=20, min_cluster_size=10, n_neighbors=30,
                        n_epochs=100, fit_sample_size=1000)  # fmt: skip
    _, summary = recovery_summary(search.galaxies_, min_purity=0.6, min_fraction_held=0.9)
    assert len(summary) == len(groups) and summary["recovered"].all(), summary.to_string()
    assert np.isfinite(search.embedding_).all() and search.embedding_.shape == (3000, 5)
    assert search.map_embedding_.shape == (3000, 2)
    reduce_record = json.loads((out / "run.json").read_text())["stages"]["reduce"]
    assert reduce_record["params"]["fit_sample_size"] == 1000
    assert reduce_record["fit_sample_size"] == 1000 and reduce_record["map_reused_neighbors"]
    assert "embedding_transform" in reduce_record["timings"]


@pytest.mark.slow
def test_parallel_chunks_place_rows_exactly_as_one_process_does():
    """Each chunk is transformed with umap-learn's fixed transform seed, so worker processes
    (n_jobs=2) give the very same coordinates as this process, row for row."""
    from raregal.reduce.umap_learn import UmapLearnReducer

    df = make_representations(1500, n_features=16, group_sizes=(100,), seed=2)
    X = df[[f"feat_{i}" for i in range(16)]].to_numpy(np.float32)
    placed = {}
    for n_jobs in (1, 2):
        reducer = SampleFitReducer(UmapLearnReducer(2, 15, n_epochs=30), 600, 0, chunk_size=300,
                                   n_jobs=n_jobs)  # fmt: skip
        placed[n_jobs] = reducer.fit_transform(X)
        np.testing.assert_array_equal(reducer.sample_rows_, sample_rows(1500, 600, 0))
    np.testing.assert_array_equal(placed[1], placed[2])
