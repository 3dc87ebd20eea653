"""HNSW neighbours in locality order: the same answers as in any order, found faster."""

from __future__ import annotations

import numpy as np
import pytest

from raregal.reduce.neighbours import (
    exact_neighbors,
    hnsw_index,
    hnsw_neighbors,
    hnsw_query,
    locality_order,
)


@pytest.fixture(scope="module")
def rows():
    """6,000 rows in 32-D around 30 centres, in random order (as catalogs come)."""
    rng = np.random.default_rng(5)
    centres = rng.normal(0, 4, (30, 32))
    return (centres[rng.integers(0, 30, 6000)] + rng.normal(0, 1, (6000, 32))).astype(np.float32)


def test_locality_order_keeps_neighbours_near(rows):
    order = locality_order(rows)
    assert np.array_equal(np.sort(order), np.arange(len(rows)))
    assert np.array_equal(order, locality_order(rows))
    position = np.empty(len(rows), dtype=np.int64)
    position[order] = np.arange(len(rows))
    nearest = exact_neighbors(rows, 2, "euclidean")[0][:, 1]
    gap = np.abs(position - position[nearest]).mean()
    assert gap < len(rows) / 10  # about n / 3 in the input's order


def test_answers_do_not_depend_on_the_order(rows):
    index = hnsw_index(rows, n_threads=2)
    ordered = hnsw_query(index, rows, 10, n_threads=2)
    as_given = hnsw_query(index, rows, 10, n_threads=2, order=np.arange(len(rows)))
    np.testing.assert_array_equal(ordered[0], as_given[0])
    np.testing.assert_allclose(ordered[1], as_given[1])
    one = hnsw_query(index, rows[17:18], 10, n_threads=1)
    np.testing.assert_array_equal(one[0][0], ordered[0][17])


def test_neighbours_are_nearly_exact(rows):
    indices, dists = hnsw_neighbors(rows, 15, n_threads=2)
    exact = exact_neighbors(rows, 15, "euclidean")[0]
    assert (indices[:, 0] == np.arange(len(rows))).all() and (dists[:, 0] == 0).all()
    recall = np.mean([len(set(a) & set(b)) / 15 for a, b in zip(indices, exact, strict=True)])
    assert recall > 0.97
