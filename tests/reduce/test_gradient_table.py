"""The gradient tables of the layout against the coefficients computed in float64."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from raregal.reduce.gradient_table import (
    HIGH,
    LOW,
    attraction_coefficient,
    coefficient_tables,
    float_bits,
    lookup,
    repulsion_coefficient,
)
from raregal.reduce.layout import ab_params


@numba.njit
def look_up_all(table, xs):
    out = np.empty_like(xs)
    for i in range(len(xs)):
        out[i] = lookup(table, xs[i])
    return out


@numba.njit
def bits_of(xs):
    out = np.empty(len(xs), dtype=np.int32)
    for i in range(len(xs)):
        out[i] = float_bits(xs[i])
    return out


def test_float_bits_are_numpys_view():
    xs = np.array([1.0, 0.15625, 3e-30, 6.5e4], dtype=np.float32)
    np.testing.assert_array_equal(bits_of(xs), xs.view(np.int32))


@pytest.mark.parametrize(("min_dist", "bound"), [(0.0, 5e-5), (0.1, 5e-5), (0.9, 1e-4)])
def test_tables_match_the_exact_coefficients(min_dist, bound):
    """Over the tables' whole range (squared distances 1e-9 to 6.5e4) and for the curves of
    three min_dist values: relative error below 5e-5 (1e-4 for the most curved, min_dist 0.9),
    repulsion and attraction."""
    a, b = ab_params(1.0, min_dist)
    pull, push = coefficient_tables(np.float32(a), np.float32(b), np.float32(1.0))
    rng = np.random.default_rng(0)
    xs = np.exp(rng.uniform(np.log(LOW), np.log(HIGH), 500_000)).astype(np.float32)
    a32, b32 = float(np.float32(a)), float(np.float32(b))
    exact_pull = attraction_coefficient(xs.astype(np.float64), a32, b32)
    exact_push = repulsion_coefficient(xs.astype(np.float64), a32, b32, 1.0)
    assert np.max(np.abs(look_up_all(pull, xs) / exact_pull - 1)) < bound
    assert np.max(np.abs(look_up_all(push, xs) / exact_push - 1)) < bound


def test_below_the_range_the_low_end_is_used():
    a, b = ab_params(1.0, 0.1)
    _, push = coefficient_tables(np.float32(a), np.float32(b), np.float32(1.0))
    tiny = np.array([LOW / 8, 0.0], dtype=np.float32)
    np.testing.assert_allclose(look_up_all(push, tiny), push[0], rtol=1e-6)
