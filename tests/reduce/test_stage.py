"""Reduction: UMAP engines by name, seeds, PCA, shared neighbours, bad parameters."""

from __future__ import annotations

import numpy as np
import pytest

from raregal.errors import InputError
from raregal.reduce import REDUCERS, pca, reduce
from raregal.reduce.neighbours import exact_neighbors
from raregal.synthetic import make_representations


@pytest.fixture(scope="module")
def X():
    df = make_representations(800, n_features=24, seed=3, group_sizes=(100,))
    return df[[f"feat_{i}" for i in range(24)]].to_numpy()


def test_same_seed_same_embedding_and_shapes(X, monkeypatch):
    """Reproducible on one thread (the default engine's lock-free layout varies on several)."""
    monkeypatch.setenv("RAREGAL_NUM_THREADS", "1")
    a = reduce(X, n_neighbors=15, n_epochs=30, random_state=1)
    b = reduce(X, n_neighbors=15, n_epochs=30, random_state=1)
    assert a.embedding.shape == (800, 5) and a.map_embedding.shape == (800, 2)
    assert a.embedding.dtype == np.float32
    np.testing.assert_array_equal(a.embedding, b.embedding)
    np.testing.assert_array_equal(a.map_embedding, b.map_embedding)
    assert a.info["random_state"] == 1 and a.info["map_reused_neighbors"]
    assert a.info["reducer_used"] == "raregal"  # the default engine
    assert {"embedding_neighbors", "embedding_layout", "map_layout"} <= set(a.timings)
    assert "map_neighbors" not in a.timings  # the map reused the neighbour graph
    c = reduce(X, n_neighbors=15, n_epochs=30, random_state=2)
    assert not np.array_equal(a.embedding, c.embedding)


def test_embedding_keeps_a_planted_group_together(X):
    """The 100 planted rows stay each other's neighbours in 5-D (a real, not a shuffled, map)."""
    df = make_representations(800, n_features=24, seed=3, group_sizes=(100,))
    group = df["group"].to_numpy() == 0
    emb = reduce(X, n_neighbors=15, n_epochs=30).embedding
    idx, _ = exact_neighbors(emb, 10, "euclidean")
    assert group[idx[group, 1:]].mean() > 0.9


def test_pca_first(X):
    projected, kept = pca(X, 6)
    assert projected.shape == (800, 6) and 0.5 < kept <= 1.0
    result = reduce(X, n_neighbors=15, n_epochs=20, pca_components=6)
    assert result.info["pca_explained_variance"] == pytest.approx(kept, rel=1e-5)
    assert "pca" in result.timings


def test_exact_neighbors_put_each_point_first(X):
    idx, dist = exact_neighbors(X[:50], 5, "euclidean")
    assert (idx[:, 0] == np.arange(50)).all()
    np.testing.assert_allclose(dist[:, 0], 0.0, atol=1e-3)
    brute = np.argsort(np.linalg.norm(X[:50, None] - X[None, :50], axis=2), axis=1)[:, :5]
    assert (np.sort(idx, axis=1) == np.sort(brute, axis=1)).all()


def test_a_registered_engine_is_chosen_by_name(X):
    class PcaEngine:
        """A real (linear) reducer that follows the engine contract."""

        def __init__(self, n_components, random_state=None, knn=None, **_):
            self.n_components, self.random_state = n_components, random_state
            self.timings = {}

        def fit_transform(self, data):
            return pca(data, self.n_components, self.random_state)[0]

    with REDUCERS.scoped():
        REDUCERS.register("test-pca", PcaEngine)
        result = reduce(X, reducer="test-pca", n_neighbors=15)
        np.testing.assert_allclose(result.map_embedding, pca(X, 2)[0], rtol=1e-5, atol=1e-5)
        assert not result.info["map_reused_neighbors"]
        assert result.info["reducer_used"] == "test-pca"
    assert "test-pca" not in REDUCERS.choices()  # the registry is as it was


def test_bad_parameters(X):
    with pytest.raises(InputError, match=r"'reducer' must be one of 'raregal'.*; got 'tsne'"):
        reduce(X, reducer="tsne")
    with pytest.raises(InputError, match=r"n_neighbors=50 needs more than 50 galaxies; 20 were"):
        reduce(X[:20])
