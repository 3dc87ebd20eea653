"""UMAP's gradient coefficients read from a table instead of computed with a power.

Each SGD sample of the layout needs one coefficient that depends only on the squared distance
``x`` between the two points: for an edge (attraction) ``-2ab x^(b-1) / (1 + a x^b)``, for a
negative sample (repulsion) ``2 gamma b / ((0.001 + x)(1 + a x^b))``. Computing ``x^b`` costs a
logarithm and an exponential, and with the divisions they make up half of the time of a sample,
all of it on the chain of updates of one point (measured on 20k in-cache rows: 210 ns per edge
sample with its five negative samples computed, 115 ns read from the table).

The tables hold each coefficient at ``2**SUB_BITS`` points per octave of ``x`` from
``2**LOW_EXPONENT`` to ``2**HIGH_EXPONENT``; a lookup takes the octave and the position in it from
the bits of the float32 ``x`` and interpolates linearly: relative error below 1e-4 over the
range (4e-5 for the default ``min_dist=0.1``, 8e-5 for 0.9; ``tests/reduce/
test_gradient_table.py``), far below the noise of the SGD itself. Below the range (points
closer than 3e-5, in layouts some 20 units across) the coefficient at its low end is used;
above it, the layout computes the coefficient exactly.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from raregal.reduce.fast_math import FAST_MATH

SUB_BITS = 7
"""2**7 = 128 table points per octave of the squared distance."""
LOW_EXPONENT = -30
HIGH_EXPONENT = 16
"""The tables cover squared distances in [2**-30, 2**16) (distances 3e-5 to 256)."""
_SHIFT = 23 - SUB_BITS
_FIRST = (127 + LOW_EXPONENT) << SUB_BITS
SIZE = ((HIGH_EXPONENT - LOW_EXPONENT) << SUB_BITS) + 1
LOW = np.float32(2.0**LOW_EXPONENT)
HIGH = np.float32(2.0**HIGH_EXPONENT)


@intrinsic
def float_bits(typingctx: Any, value: types.Float) -> Any:
    """The bits of a float32 as an int32 (numba intrinsic; call it from jitted code only)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


def table_points() -> np.ndarray:
    """The squared distances at which the tables hold the coefficients (float64)."""
    index = np.arange(SIZE)
    octave = (index >> SUB_BITS) + LOW_EXPONENT
    fraction = (index & ((1 << SUB_BITS) - 1)) / (1 << SUB_BITS)
    return (1.0 + fraction) * 2.0**octave


def attraction_coefficient(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """``-2ab x^(b-1) / (1 + a x^b)`` (umap-learn's edge gradient over the difference)."""
    power = np.power(x, b)
    return -2.0 * a * b * (power / x) / (a * power + 1.0)


def repulsion_coefficient(x: np.ndarray, a: float, b: float, gamma: float) -> np.ndarray:
    """``2 gamma b / ((0.001 + x)(1 + a x^b))`` (umap-learn's negative-sample gradient)."""
    return 2.0 * gamma * b / ((0.001 + x) * (a * np.power(x, b) + 1.0))


def coefficient_tables(a: float, b: float, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """The attraction and repulsion tables (float32, ``SIZE`` entries each), computed in
    float64 at ``table_points()``."""
    x = table_points()
    return (attraction_coefficient(x, a, b).astype(np.float32),
            repulsion_coefficient(x, a, b, gamma).astype(np.float32))  # fmt: skip


@numba.njit(inline="always", fastmath=FAST_MATH)
def lookup(table: np.ndarray, x: float) -> float:
    """The coefficient at squared distance ``x`` (``LOW <= x < HIGH``; below LOW, LOW's)."""
    bits = float_bits(max(x, LOW))
    index = (bits >> _SHIFT) - _FIRST
    within = np.float32(bits & ((1 << _SHIFT) - 1)) * np.float32(1.0 / (1 << _SHIFT))
    low = table[index]
    return low + within * (table[index + 1] - low)
