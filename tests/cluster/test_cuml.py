"""The cuML HDBSCAN engine's reader of the condensed tree, checked on hdbscan's CondensedTree
(the class cuML's ``condensed_tree_`` returns), and its error without cuML."""

from __future__ import annotations

import numpy as np
import pytest

from raregal.cluster.cuml import CumlHdbscanEngine, condensed_tree_records
from raregal.errors import MissingDependencyError


def test_condensed_tree_reader_takes_hdbscans_condensed_tree(rng):
    import hdbscan

    X = np.concatenate([rng.normal(0, 1, (100, 2)), rng.normal(8, 1, (100, 2))])
    model = hdbscan.HDBSCAN(min_samples=5, min_cluster_size=10).fit(X)
    records = condensed_tree_records(model)
    raw = model.condensed_tree_._raw_tree
    for name in ("parent", "child", "lambda_val", "child_size"):
        np.testing.assert_array_equal(records[name], raw[name])


def test_without_cuml_the_engine_names_the_extra(rng):
    try:
        import cuml  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("cuML is installed on this machine")
    with pytest.raises(MissingDependencyError, match=r"cuml .*pip install 'raregal\[gpu\]'"):
        CumlHdbscanEngine(5, 5, "leaf").fit(rng.normal(size=(50, 2)))
