"""Engine registries: names, 'auto', optional engines, scoped changes, and the stages using them."""

from __future__ import annotations

import numpy as np
import pytest

from raregal.cluster import CLUSTERERS, cluster
from raregal.config import DEFAULTS
from raregal.errors import InputError, MissingDependencyError
from raregal.reduce import REDUCERS
from raregal.registry import EngineRegistry


class Doubler:
    """A tiny engine: its output is twice its input."""

    def __init__(self, factor: int = 2) -> None:
        self.factor = factor

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.factor * X


def test_engines_are_imported_on_first_use_from_their_target():
    registry = EngineRegistry("reducer", auto=("missing", "doubler"))
    registry.register("doubler", "test_registry:Doubler")
    registry.register("missing", "nowhere:Nothing", requires="a_package_that_is_not_installed")
    assert registry.choices() == ("doubler", "missing", "auto")
    assert registry.available() == ("doubler",)
    assert registry.resolve("auto") == "doubler"  # 'missing' is preferred but not installed
    np.testing.assert_array_equal(registry.create("auto", factor=3).fit_transform(np.ones(2)), 3)


def test_an_engine_whose_extra_is_missing_names_the_pip_command():
    registry = EngineRegistry("engine", auto=())
    registry.register("gpu", "nowhere:Nothing", requires="a_package_that_is_not_installed",
                      extra="gpu")  # fmt: skip
    with pytest.raises(MissingDependencyError, match=r"pip install 'raregal\[gpu\]'"):
        registry.resolve("gpu")
    with pytest.raises(InputError, match=r"no engine engine is available for 'auto'"):
        registry.resolve("auto")


def test_an_unknown_name_lists_the_choices():
    with pytest.raises(InputError, match=r"'engine' must be one of 'fast_hdbscan', 'hdbscan'"):
        CLUSTERERS.resolve("dbscan")


def test_scoped_changes_are_undone():
    before = REDUCERS.choices()
    with REDUCERS.scoped():
        REDUCERS.register("doubler", Doubler)
        REDUCERS.unregister("umap-learn")
        assert "doubler" in REDUCERS.choices() and "umap-learn" not in REDUCERS.choices()
    assert REDUCERS.choices() == before


def test_auto_is_the_cpu_default_without_cuml_and_records_which_ran(rng):
    if "cuml" in CLUSTERERS.available():
        pytest.skip("this machine has cuML: 'auto' is the GPU engine here")
    assert REDUCERS.resolve("auto") == DEFAULTS["reducer"] == "raregal"
    assert CLUSTERERS.resolve("auto") == DEFAULTS["engine"] == "fast_hdbscan"
    centres = np.repeat([[0.0, 0.0], [6.0, 6.0], [0.0, 6.0]], 80, axis=0)
    X = centres + rng.normal(scale=0.5, size=centres.shape)
    auto = cluster(X, engine="auto", min_samples=5, min_cluster_size=10)
    fast = cluster(X, engine="fast_hdbscan", min_samples=5, min_cluster_size=10)
    np.testing.assert_array_equal(auto.labels, fast.labels)
    assert auto.info["engine"] == "auto" and auto.info["engine_used"] == "fast_hdbscan"
