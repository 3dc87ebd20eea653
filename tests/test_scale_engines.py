"""GPU engines on a machine without cuML: not registered, 'auto' falls back to the CPU engines,
and the condensed-tree reader cuML relies on reads hdbscan's CondensedTree (the class cuML's
``condensed_tree_`` returns)."""

from __future__ import annotations

import numpy as np
import pytest

from raregal.cluster import ENGINES, cluster
from raregal.config import SearchConfig
from raregal.cuml_engines import (
    CumlHdbscanEngine,
    auto_clusterer,
    auto_reducer,
    condensed_tree_records,
    cuml_available,
)
from raregal.errors import MissingDependencyError
from raregal.reduce import REDUCERS

pytestmark = pytest.mark.skipif(cuml_available(), reason="checks the machine without cuML")


def test_cuml_is_not_registered_and_auto_is_the_cpu_default():
    assert "cuml" not in REDUCERS and "cuml" not in ENGINES
    assert "auto" in REDUCERS and "auto" in ENGINES
    assert auto_reducer(n_components=5, n_neighbors=10).name == SearchConfig().reducer == "raregal"
    assert auto_clusterer(5, 5, "leaf").name == "fast_hdbscan"


def test_asking_for_the_gpu_engine_without_cuml_names_the_extra(rng):
    with pytest.raises(MissingDependencyError, match=r"cuml .*pip install 'raregal\[gpu\]'"):
        CumlHdbscanEngine(5, 5, "leaf").fit(rng.normal(size=(50, 2)))


def test_auto_engine_clusters_like_fast_hdbscan_and_records_which_ran(rng):
    centres = np.repeat([[0.0, 0.0], [6.0, 6.0], [0.0, 6.0]], 80, axis=0)
    X = centres + rng.normal(scale=0.5, size=centres.shape)
    auto = cluster(X, engine="auto", min_samples=5, min_cluster_size=10)
    fast = cluster(X, engine="fast_hdbscan", min_samples=5, min_cluster_size=10)
    np.testing.assert_array_equal(auto.labels, fast.labels)
    assert auto.info["engine"] == "auto" and auto.info["engine_used"] == "fast_hdbscan"


def test_condensed_tree_reader_takes_hdbscans_condensed_tree(rng):
    """cuML's condensed_tree_ is hdbscan's CondensedTree; its records match hdbscan's own."""
    hdbscan = pytest.importorskip("hdbscan")
    X = np.concatenate([rng.normal(0, 1, (100, 2)), rng.normal(8, 1, (100, 2))])
    model = hdbscan.HDBSCAN(min_samples=5, min_cluster_size=10).fit(X)
    records = condensed_tree_records(model)
    raw = model.condensed_tree_._raw_tree
    for name in ("parent", "child", "lambda_val", "child_size"):
        np.testing.assert_array_equal(records[name], raw[name])
